"""Streaming a recurrent model: torch's own layer on one step, its hidden (and cell) state carried;
and the same step as a pure function for ONNX export."""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
from torch import nn

from . import checks

__all__ = ["RecurrentState", "RecurrentStep"]


class RecurrentState(NamedTuple):
    """Streaming state of a :class:`~seqbench.nn.Recurrent`: ``h`` (and ``c`` for an LSTM),
    each ``(num_layers, B, hidden_size)`` like torch's ``nn.LSTM``."""

    h: torch.Tensor
    c: torch.Tensor | None = None

    # the state protocol of seqbench.nn.states
    def tensors(self) -> list[torch.Tensor]:
        return [t for t in self if t is not None]

    @property
    def batch_size(self) -> int:
        return self.h.shape[1]

    def reset(self, index: torch.Tensor) -> None:
        for t in self.tensors():
            t.index_fill_(1, index.to(t.device), 0.0)

    def to(self, device=None, dtype=None) -> "RecurrentState":
        move = lambda t: None if t is None else t.to(device=device, dtype=dtype).contiguous()  # noqa: E731
        return RecurrentState(move(self.h), move(self.c))

    def clone(self) -> "RecurrentState":
        return RecurrentState(self.h.clone(), None if self.c is None else self.c.clone())


def check_recurrent_streamable(rec) -> None:
    if rec.bidirectional:
        raise ValueError(
            f"a bidirectional {rec.kind} (bidirectional=True) reads each sequence backwards from its end, so it "
            "needs the whole sequence and cannot stream one step at a time; build it with bidirectional=False"
        )


def _has_cell(rec) -> bool:
    """An LSTM carries a cell state beside its hidden state."""
    return isinstance(rec.rnn, nn.LSTM)


def recurrent_init_state(rec, batch_size: int, device=None, dtype=None) -> RecurrentState:
    check_recurrent_streamable(rec)
    checks.positive_int("batch_size", batch_size)
    p = rec.rnn.weight_ih_l0
    shape = (rec.num_layers, batch_size, rec.hidden_size)
    kw = dict(device=p.device if device is None else device, dtype=p.dtype if dtype is None else dtype)
    return RecurrentState(torch.zeros(shape, **kw), torch.zeros(shape, **kw) if _has_cell(rec) else None)


def recurrent_step(rec, x: torch.Tensor, state: RecurrentState) -> tuple[torch.Tensor, RecurrentState]:
    who = f"Recurrent({rec.kind!r}).step"
    check_recurrent_streamable(rec)
    checks.step_mode(rec, "Recurrent")
    checks.step_input(x, rec.input_size, rec.rnn.weight_ih_l0, who)
    if not isinstance(state, RecurrentState):
        raise ValueError(f"{who} expects the RecurrentState from this model's init_state, got {type(state).__name__}")
    shape = (rec.num_layers, x.shape[0], rec.hidden_size)
    for name, t in (("h", state.h), ("c", state.c)):
        if name == "c" and not _has_cell(rec):
            if t is not None:
                raise ValueError(f"{who}: a {rec.kind} state has no c; is it a state from another model?")
            continue
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f"{who}: state.{name} has shape {got}, expected {shape} (num_layers, batch, hidden_size); "
                "a state from another model or batch size?"
            )
    if _has_cell(rec):
        out, (h, c) = rec.rnn(x.unsqueeze(1), (state.h, state.c))
        return out[:, 0], RecurrentState(h, c)
    out, h = rec.rnn(x.unsqueeze(1), state.h)
    return out[:, 0], RecurrentState(h, None)


class RecurrentStep(nn.Module):
    """One step of a unidirectional recurrent model as a pure function (ONNX export):
    ``(x_t, h[, c]) -> (y_t, h'[, c'])``, a copy of its torch layer."""

    batch_dim = 1  # of h and c: (num_layers, B, hidden_size), as in torch

    def __init__(self, rec) -> None:
        super().__init__()
        if rec.bidirectional:
            raise ValueError(
                f"cannot export a step of a bidirectional {rec.kind}: it reads each sequence backwards from its "
                "end, so it has no step; export the full model with export_onnx"
            )
        self.core = copy.deepcopy(rec.rnn)
        self.cell = _has_cell(rec)
        self.shape = (rec.rnn.num_layers, rec.hidden_size)

    def state_shapes(self, batch_size: int) -> list[tuple[int, ...]]:
        layers, hidden = self.shape
        return [(layers, batch_size, hidden)] * (2 if self.cell else 1)

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        if self.cell:
            out, (h, c) = self.core(x[:, None], (state[0], state[1]))
            return out[:, 0], h, c
        out, h = self.core(x[:, None], state[0])
        return out[:, 0], h
