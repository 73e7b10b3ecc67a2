"""Recurrent baselines behind the same interface as the TCN: the ``"lstm"``, ``"gru"`` and ``"rnn"``
kinds, one class (:class:`Recurrent`) with a thin subclass per kind, as torch's ``RNNBase(mode)``."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from . import checks, recurrent_cpu
from .registry import Encoder, register
from .recurrent_streaming import RecurrentState, RecurrentStep, recurrent_init_state, recurrent_step

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(Encoder):
    r"""A stack of torch's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` layers, batch-first.

    The registered kinds are its subclasses :class:`LSTM`, :class:`GRU` and :class:`RNN`,
    which fix ``kind``; ``Recurrent(kind, ...)`` builds the same modules.

    Args:
        kind: ``"lstm"``, ``"gru"`` or ``"rnn"`` (Elman RNN).
        input_size: features per input step.
        hidden_size: features of the hidden state (the output has ``2 * hidden_size`` when
            bidirectional).
        num_layers: stacked layers.
        dropout: dropout between stacked layers (as torch's ``dropout`` argument).
        nonlinearity: ``"tanh"`` or ``"relu"``, vanilla RNN only.
        cpu_sequence_backward: train a GRU or RNN on CPU with
            :mod:`~seqbench.nn.recurrent_cpu` (the same maths as torch's layers, about 2x faster
            per step at batch size 1); ``False`` keeps torch's own backward. The
            parameters are those of the torch module ``self.rnn`` either way. Unidirectional
            models only.
        bidirectional: also run each layer backwards in time and concatenate both
            directions (torch's ``bidirectional=True``): not causal, and cannot stream.
        forget_bias: LSTM only: start every forget gate's bias at this value (in
            ``bias_ih``; the forget part of ``bias_hh`` starts at 0, so the gate's total
            bias is ``forget_bias``). A positive bias keeps the cell state open from the
            first step, which long sequences such as sequential MNIST need to learn at all
            (Jozefowicz et al. 2015; the paper's LSTM on MNIST uses 1.0, on permuted MNIST
            10). ``None`` keeps torch's initialisation.

    Shape:
        - Input: :math:`(B, T, \text{input\_size})`
        - mask (optional): :math:`(B, T)`, true at the valid steps of a right-padded batch.
        - Output: :math:`(B, T, \text{output\_size})`, the top layer's hidden state at every
          step (forward direction first when bidirectional).

    A unidirectional model is causal: a right-padded batch needs no packing, valid steps
    never see the padding. A bidirectional one reads the padding on its way back, so with a
    mask the batch is packed (``pack_padded_sequence``): each sequence's valid outputs are
    those it has alone, and its padded steps output zeros.
    """

    BIDIRECTIONAL, WHOLE_SEQUENCE = True, {"bidirectional": True}
    CAN_STREAM = CAN_EXPORT = True
    EXPORT_FIXED_LENGTH = True  # torch's exporter unrolls nn.LSTM/GRU/RNN to the example's length
    SEARCH_SPACE = {**Encoder.SEARCH_SPACE, "num_layers": [1, 2, 3]}  # the width follows from the budget

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        cpu_sequence_backward: bool = True,
        bidirectional: bool = False,
        forget_bias: float | None = None,
    ) -> None:
        super().__init__()
        checks.choice("kind", kind, KINDS)
        checks.positive_int("input_size", input_size)
        checks.positive_int("hidden_size", hidden_size)
        checks.positive_int("num_layers", num_layers)
        checks.probability("dropout", dropout)
        extra = {}
        if kind == "rnn":
            extra["nonlinearity"] = checks.choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        self.kind, self.input_size, self.hidden_size, self.num_layers = kind, input_size, hidden_size, num_layers
        self.bidirectional = bool(bidirectional)
        self.output_size = hidden_size * (2 if self.bidirectional else 1)
        self.cpu_sequence_backward = bool(cpu_sequence_backward)
        # torch warns when dropout is set on a single layer (it would do nothing)
        self.rnn = KINDS[kind](
            input_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=self.bidirectional, **extra
        )
        self.forget_bias = None
        if forget_bias is not None:
            if kind != "lstm":
                raise ValueError(f"forget_bias applies to an LSTM only (it has a forget gate), not to {kind!r}")
            self.forget_bias = checks.finite_number("forget_bias", forget_bias)
            self._set_forget_bias()

    def _set_forget_bias(self) -> None:
        # torch orders an LSTM's gates i, f, g, o in each bias vector
        h = self.hidden_size
        with torch.no_grad():
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    p[h: 2 * h].fill_(self.forget_bias)
                elif name.startswith("bias_hh"):
                    p[h: 2 * h].zero_()

    @classmethod
    def build(cls, input_size: int, hidden_size: int | None, *, num_layers: int = 1, dropout: float = 0.0,
              init: str = "default", **options) -> "Recurrent":
        """``num_layers`` layers (its depth, default 1) of ``hidden_size`` units (its width)."""
        if hidden_size is None:
            raise ValueError(f"a {cls.NAME} model needs hidden_size")
        return cls(input_size, hidden_size, num_layers=num_layers, dropout=dropout, **options)

    def describe(self) -> str:
        return f"hidden={self.hidden_size} layers={self.num_layers}"

    @property
    def causal(self) -> bool:
        return not self.bidirectional

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run on ``x`` (B, T, input_size); ``mask`` (B, T) marks valid steps (used when bidirectional)."""
        who = f"Recurrent({self.kind!r})"
        checks.sequence_input(x, self.input_size, self.rnn.weight_ih_l0, who)
        if mask is not None:
            mask = checks.padding_mask(mask, x.size(0), x.size(1), who)
            if self.bidirectional:
                lengths = checks.right_padded_lengths(mask, who)
                if not bool((lengths == x.size(1)).all()):
                    return self._packed(x, mask, lengths)
        if self.cpu_sequence_backward and not self.bidirectional and recurrent_cpu.applies(self.rnn, x):
            return recurrent_cpu.forward(self.rnn, x)[0]
        out, _ = self.rnn(x)
        return out

    def _packed(self, x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # an empty sequence is run on its first (padding) step, which packing needs, and zeroed after
        packed = pack_padded_sequence(x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.size(1))
        return out.masked_fill(~mask.unsqueeze(-1), 0.0)

    def forward_last(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        r"""What a sequence-to-label head reads: each sequence's summary after its last valid step.

        That is the output at the last valid step; when bidirectional, the forward direction's
        there and the backward direction's at step 0, the only step where it has read the
        whole sequence (torch's final hidden state ``h_n`` of both directions).

        Shape:
            - Input: :math:`(B, T, \text{input\_size})`; mask: :math:`(B, T)` valid steps, or None
            - Output: :math:`(B, \text{output\_size})`
        """
        h = self.forward(x, mask)
        if mask is None:
            last = h[:, -1]
        else:
            lengths = checks.padding_mask(mask, x.size(0), x.size(1), f"Recurrent({self.kind!r})").sum(1)
            if bool((lengths == 0).any()):
                raise ValueError("every sequence needs at least one valid step in the mask")
            last = h[torch.arange(h.size(0), device=h.device), lengths - 1]
        if not self.bidirectional:
            return last
        return torch.cat([last[:, : self.hidden_size], h[:, 0, self.hidden_size :]], dim=-1)

    def init_state(self, batch_size: int, device=None, dtype=None) -> RecurrentState:
        """A zero :class:`~seqbench.nn.recurrent_streaming.RecurrentState` (``h``, and ``c`` for an LSTM)."""
        return recurrent_init_state(self, batch_size, device, dtype)

    def step(self, x: torch.Tensor, state: RecurrentState):
        r"""Advance one step: ``y_t, state = rnn.step(x_t, state)``.

        Shape:
            - x: :math:`(B, \text{input\_size})`
            - output: :math:`(B, \text{hidden\_size})`
        """
        return recurrent_step(self, x, state)

    def export_step(self) -> RecurrentStep:
        return RecurrentStep(self)

    def extra_repr(self) -> str:
        extra = ", bidirectional=True" if self.bidirectional else ""
        if self.forget_bias is not None:
            extra += f", forget_bias={self.forget_bias:g}"
        return f"kind={self.kind!r}" + extra


@register
class LSTM(Recurrent):
    """The ``"lstm"`` kind: :class:`Recurrent` of ``nn.LSTM`` layers (``LSTM(input_size, hidden_size, ...)``)."""

    NAME, LABEL = "lstm", "LSTM"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(self.NAME, *args, **kwargs)


@register
class GRU(Recurrent):
    """The ``"gru"`` kind: :class:`Recurrent` of ``nn.GRU`` layers."""

    NAME, LABEL = "gru", "GRU"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(self.NAME, *args, **kwargs)


@register
class RNN(Recurrent):
    """The ``"rnn"`` kind: :class:`Recurrent` of Elman ``nn.RNN`` layers."""

    NAME, LABEL = "rnn", "RNN"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(self.NAME, *args, **kwargs)
