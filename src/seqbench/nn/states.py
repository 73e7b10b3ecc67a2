"""What a caller does with a streaming state: restart some of a batch's sequences, move it to a
device, copy it, measure it.

Each kind's state lives beside its step (:class:`~seqbench.nn.tcn_streaming.TCNState`,
:class:`~seqbench.nn.recurrent_streaming.RecurrentState`,
:class:`~seqbench.nn.transformer_streaming.TransformerState`) and provides the methods these
functions call, which is all a new kind's state needs:

- ``tensors()``: its tensors, in a fixed order;
- ``batch_size``: the sequences it holds;
- ``reset(index)``: restart the sequences at ``index`` (int64, in range), in place;
- ``to(device, dtype)``: a copy elsewhere (like ``Tensor.to``), contiguous;
- ``clone()``: an independent copy.
"""

from __future__ import annotations

import torch

from . import checks

__all__ = ["reset_state", "state_to", "clone_state", "state_nbytes", "state_tensors"]

STATE_METHODS = ("tensors", "reset", "to", "clone")


def _checked(state):
    if isinstance(state, torch.Tensor) or not all(callable(getattr(state, m, None)) for m in STATE_METHODS):
        raise ValueError(
            "expected a streaming state (a TCNState, RecurrentState, TransformerState or another kind's, "
            f"from model.init_state), got {type(state).__name__}"
        )
    return state


def state_tensors(state) -> list[torch.Tensor]:
    """The tensors of ``state``; a ValueError for anything that is not a streaming state."""
    return list(_checked(state).tensors())


def reset_state(state, index) -> None:
    """Zero the state of some batch elements in place, so a new sequence starts in those slots.

    Args:
        state: a state from ``init_state`` / ``step``.
        index: an int, a sequence of ints, or a bool mask of shape ``(B,)``.

    The other elements continue unchanged.
    """
    _checked(state).reset(checks.batch_index(index, state.batch_size))


def state_to(state, device=None, dtype=None):
    """A copy of ``state`` on ``device`` / in ``dtype`` (like ``Tensor.to``)."""
    return _checked(state).to(device, dtype)


def clone_state(state):
    """An independent copy of ``state`` (a TCN's ``step`` updates its buffers in place: clone to branch)."""
    return _checked(state).clone()


def state_nbytes(state) -> int:
    """Bytes held by the state's tensors."""
    return sum(t.numel() * t.element_size() for t in state_tensors(state))
