"""seqbench.nn: temporal convolutional networks, recurrent and Transformer baselines, pure PyTorch.

Every model is batch-first, ``(batch, time, features)``, like ``nn.LSTM(batch_first=True)``.
"""

from .conv import CausalConv1d
from .model import SequenceModel, make_model
from . import recurrent_cpu
from .recurrent import Recurrent
from .sizing import count_parameters, match_parameters, match_transformer
from .tcn import TCN, TemporalBlock
from .tcn_plan import TCNPlan, plan_tcn, receptive_field
from .transformer import Transformer

__all__ = [
    "TCN", "TemporalBlock", "CausalConv1d", "Recurrent", "Transformer", "SequenceModel", "make_model",
    "receptive_field", "plan_tcn", "TCNPlan", "match_parameters", "match_transformer", "count_parameters",
]
