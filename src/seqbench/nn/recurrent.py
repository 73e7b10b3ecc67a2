"""Recurrent baselines (vanilla RNN, LSTM, GRU) behind the same interface as the TCN."""

from __future__ import annotations

import torch
from torch import nn

from . import _checks, recurrent_cpu

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    r"""A stack of torch's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` layers, batch-first.

    Args:
        kind: ``"lstm"``, ``"gru"`` or ``"rnn"`` (Elman RNN).
        input_size: features per input step.
        hidden_size: features of the hidden state (and of the output).
        num_layers: stacked layers.
        dropout: dropout between stacked layers (as torch's ``dropout`` argument).
        nonlinearity: ``"tanh"`` or ``"relu"``, vanilla RNN only.
        cpu_sequence_backward: train a GRU or RNN on CPU with
            :mod:`~seqbench.nn.recurrent_cpu` (the same maths as torch's layers, about 2x faster
            per step at batch size 1); ``False`` keeps torch's own backward. The
            parameters are those of the torch module ``self.rnn`` either way.

    Shape:
        - Input: :math:`(B, T, \text{input\_size})`
        - Output: :math:`(B, T, \text{hidden\_size})`, the top layer's hidden state at every step.

    Unidirectional, so causal: a right-padded batch needs no packing, valid steps never
    see the padding.
    """

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        cpu_sequence_backward: bool = True,
    ) -> None:
        super().__init__()
        _checks.choice("kind", kind, KINDS)
        _checks.positive_int("input_size", input_size)
        _checks.positive_int("hidden_size", hidden_size)
        _checks.positive_int("num_layers", num_layers)
        _checks.probability("dropout", dropout)
        extra = {}
        if kind == "rnn":
            extra["nonlinearity"] = _checks.choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        self.kind, self.input_size, self.hidden_size, self.num_layers = kind, input_size, hidden_size, num_layers
        self.output_size = hidden_size
        self.cpu_sequence_backward = bool(cpu_sequence_backward)
        # torch warns when dropout is set on a single layer (it would do nothing)
        self.rnn = KINDS[kind](
            input_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0, **extra
        )

    @property
    def receptive_field(self) -> float:
        """Unbounded: a recurrent state can carry any part of the past."""
        return float("inf")

    @property
    def causal(self) -> bool:
        return True

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run on ``x`` (B, T, input_size); ``mask`` is accepted for a uniform interface."""
        _checks.sequence_input(x, self.input_size, self.rnn.weight_ih_l0, f"Recurrent({self.kind!r})")
        if mask is not None:
            _checks.padding_mask(mask, x.size(0), x.size(1), f"Recurrent({self.kind!r})")
        if self.cpu_sequence_backward and recurrent_cpu.applies(self.rnn, x):
            return recurrent_cpu.forward(self.rnn, x)[0]
        out, _ = self.rnn(x)
        return out

    def init_state(self, batch_size: int, device=None, dtype=None):
        """A zero :class:`~seqbench.nn.streaming.RecurrentState` (``h``, and ``c`` for an LSTM)."""
        from .streaming import recurrent_init_state

        return recurrent_init_state(self, batch_size, device, dtype)

    def step(self, x: torch.Tensor, state):
        r"""Advance one step: ``y_t, state = rnn.step(x_t, state)``.

        Shape:
            - x: :math:`(B, \text{input\_size})`
            - output: :math:`(B, \text{hidden\_size})`
        """
        from .streaming import recurrent_step

        return recurrent_step(self, x, state)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"
