"""The state a streaming model carries between steps, and what a caller does with one:
restart some of a batch's sequences, move it to a device, copy it, measure it.

A TCN's state is one ring of past inputs per convolution (:class:`TCNState`; the layout is
explained in :mod:`seqbench.nn.streaming`), a recurrent model's its hidden (and cell)
state (:class:`RecurrentState`), a causal Transformer's a key/value cache per layer
(:class:`~seqbench.nn.transformer_streaming.TransformerState`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from . import transformer_streaming
from .transformer_streaming import TransformerState

__all__ = ["TCNState", "RecurrentState", "TransformerState", "reset_state", "state_to", "clone_state", "state_nbytes",
           "state_tensors"]


class TCNState(NamedTuple):
    """Streaming state of a :class:`~seqbench.nn.TCN`.

    Attributes:
        buffers: one tensor per convolution with kernel size > 1, shape ``(d, 2k, C_in, B)``
            (see the module docstring for why). Zeros are the left padding of the full forward.
        steps: how many steps have been taken (selects the slots).
        views: the step's precomputed views of ``buffers`` (a cache: rebuilt when missing or
            made for other buffers, e.g. after :func:`state_to` or :func:`clone_state`).
    """

    buffers: tuple[torch.Tensor, ...]
    steps: int
    views: object = None


class RecurrentState(NamedTuple):
    """Streaming state of a :class:`~seqbench.nn.Recurrent`: ``h`` (and ``c`` for an LSTM),
    each ``(num_layers, B, hidden_size)`` like torch's ``nn.LSTM``."""

    h: torch.Tensor
    c: torch.Tensor | None = None


def _batch_dim(state) -> int:
    return -1 if isinstance(state, TCNState) else 0 if isinstance(state, TransformerState) else 1


def state_tensors(state) -> list[torch.Tensor]:
    """The tensors of ``state``; a ValueError for anything that is not a streaming state."""
    if isinstance(state, TCNState):
        return list(state.buffers)
    if isinstance(state, RecurrentState):
        return [t for t in state if t is not None]
    if isinstance(state, TransformerState):
        return [*state.keys, *state.values, state.starts]
    raise ValueError(
        f"expected a TCNState, RecurrentState or TransformerState (from model.init_state), got {type(state).__name__}"
    )


def reset_state(state, index) -> None:
    """Zero the state of some batch elements in place, so a new sequence starts in those slots.

    Args:
        state: a state from ``init_state`` / ``step``.
        index: an int, a sequence of ints, or a bool mask of shape ``(B,)``.

    The other elements continue unchanged (the ring position is shared, but a zeroed ring
    is exactly the left padding a fresh sequence sees, wherever it starts).
    """
    tensors = state_tensors(state)
    batch = tensors[-1 if isinstance(state, TransformerState) else 0].shape[_batch_dim(state)] if tensors else 0
    if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
        if index.shape != (batch,):
            raise ValueError(f"reset mask must have shape ({batch},), got {tuple(index.shape)}")
        index = index.nonzero().flatten()
    idx = torch.as_tensor(index, dtype=torch.long).flatten()
    if idx.numel() and (int(idx.min()) < -batch or int(idx.max()) >= batch):
        raise ValueError(f"reset index out of range for batch size {batch}: {idx.tolist()}")
    if isinstance(state, TransformerState):  # a cache cannot be zeroed into a fresh start: move the start
        transformer_streaming.reset(state, idx % batch)
        return
    for t in tensors:
        t.index_fill_(t.dim() - 1 if _batch_dim(state) == -1 else 1, idx.to(t.device) % batch, 0.0)


def state_to(state, device=None, dtype=None):
    """A copy of ``state`` on ``device`` / in ``dtype`` (like ``Tensor.to``)."""
    state_tensors(state)
    move = lambda t: None if t is None else t.to(device=device, dtype=dtype).contiguous()  # noqa: E731
    if isinstance(state, TCNState):
        return TCNState(tuple(move(b) for b in state.buffers), state.steps)
    if isinstance(state, TransformerState):
        return transformer_streaming.to(state, device, dtype)
    return RecurrentState(move(state.h), move(state.c))


def clone_state(state):
    """An independent copy of ``state`` (``step`` updates TCN buffers in place: clone to branch)."""
    state_tensors(state)
    if isinstance(state, TCNState):
        return TCNState(tuple(b.clone() for b in state.buffers), state.steps)
    if isinstance(state, TransformerState):
        return transformer_streaming.clone(state)
    return RecurrentState(state.h.clone(), None if state.c is None else state.c.clone())


def state_nbytes(state) -> int:
    """Bytes held by the state's tensors."""
    return sum(t.numel() * t.element_size() for t in state_tensors(state))
