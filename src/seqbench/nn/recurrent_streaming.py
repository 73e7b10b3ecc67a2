"""Streaming a recurrent model: torch's own layer on one step, its hidden (and cell) state carried."""

from __future__ import annotations

import torch

from . import checks
from .states import RecurrentState
from .streaming import check_step_input, check_step_mode


def check_recurrent_streamable(rec) -> None:
    if rec.bidirectional:
        raise ValueError(
            f"a bidirectional {rec.kind} (bidirectional=True) reads each sequence backwards from its end, so it "
            "needs the whole sequence and cannot stream one step at a time; build it with bidirectional=False"
        )


def recurrent_init_state(rec, batch_size: int, device=None, dtype=None) -> RecurrentState:
    check_recurrent_streamable(rec)
    checks.positive_int("batch_size", batch_size)
    p = rec.rnn.weight_ih_l0
    shape = (rec.num_layers, batch_size, rec.hidden_size)
    kw = dict(device=p.device if device is None else device, dtype=p.dtype if dtype is None else dtype)
    return RecurrentState(torch.zeros(shape, **kw), torch.zeros(shape, **kw) if rec.kind == "lstm" else None)


def recurrent_step(rec, x: torch.Tensor, state: RecurrentState) -> tuple[torch.Tensor, RecurrentState]:
    who = f"Recurrent({rec.kind!r}).step"
    check_recurrent_streamable(rec)
    check_step_mode(rec, "Recurrent")
    check_step_input(x, rec.input_size, rec.rnn.weight_ih_l0, who)
    if not isinstance(state, RecurrentState):
        raise ValueError(f"{who} expects the RecurrentState from this model's init_state, got {type(state).__name__}")
    shape = (rec.num_layers, x.shape[0], rec.hidden_size)
    for name, t in (("h", state.h), ("c", state.c)):
        if name == "c" and rec.kind != "lstm":
            if t is not None:
                raise ValueError(f"{who}: a {rec.kind} state has no c; is it a state from another model?")
            continue
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f"{who}: state.{name} has shape {got}, expected {shape} (num_layers, batch, hidden_size); "
                "a state from another model or batch size?"
            )
    if rec.kind == "lstm":
        out, (h, c) = rec.rnn(x.unsqueeze(1), (state.h, state.c))
        return out[:, 0], RecurrentState(h, c)
    out, h = rec.rnn(x.unsqueeze(1), state.h)
    return out[:, 0], RecurrentState(h, None)
