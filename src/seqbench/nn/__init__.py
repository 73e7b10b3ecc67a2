"""seqbench.nn: temporal convolutional networks, recurrent, Transformer and state-space baselines, pure PyTorch.

Every model is batch-first, ``(batch, time, features)``, like ``nn.LSTM(batch_first=True)``.
Each model kind is an :class:`Encoder` subclass registered by name (:func:`kinds`); add one
with :func:`register`.
"""

# the built-in kinds register as they are imported: in the paper's order, which tables follow
from .tcn import TCN, TemporalBlock
from .recurrent import GRU, LSTM, RNN, Recurrent
from .transformer import Transformer, match_transformer
from .ssm import SSM

from . import recurrent_cpu
from .conv import CausalConv1d
from .model import SequenceModel, make_model
from .registry import Encoder, get_kind, kinds, label, register
from .sizing import count_parameters, match_model, match_parameters
from .tcn_plan import TCNPlan, plan_tcn, receptive_field

__all__ = [
    "TCN", "TemporalBlock", "CausalConv1d", "Recurrent", "LSTM", "GRU", "RNN", "Transformer", "SSM", "SequenceModel",
    "make_model", "Encoder", "kinds", "get_kind", "register", "label", "receptive_field", "plan_tcn", "TCNPlan",
    "match_parameters", "match_model", "match_transformer", "count_parameters",
]
