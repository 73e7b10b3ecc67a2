"""Streaming inference: one input step in, one output step out, with a carried state.

Every kind that can stream (``Encoder.CAN_STREAM``) has ``init_state`` and ``step``, and so does
:class:`~seqbench.nn.SequenceModel`::

    state = model.init_state(batch_size)
    for x_t in steps:
        y_t, state = model.step(x_t, state)

Each kind's step lives beside it: a causal TCN's ring buffers in
:mod:`seqbench.nn.tcn_streaming` (``O(levels * k)`` work per step, never a recomputation of the
receptive field), a recurrent model's torch layer on one step in
:mod:`seqbench.nn.recurrent_streaming`, a causal Transformer's key/value cache in
:mod:`seqbench.nn.transformer_streaming`. What a caller does with a state (restart some
sequences, move, copy, measure) is in :mod:`seqbench.nn.states`; this module gathers them.
"""

from __future__ import annotations

from .recurrent_streaming import RecurrentState
from .states import clone_state, reset_state, state_nbytes, state_tensors, state_to
from .tcn_streaming import TCNState
from .transformer_streaming import TransformerState

__all__ = ["TCNState", "RecurrentState", "TransformerState", "reset_state", "state_to", "clone_state", "state_nbytes",
           "state_tensors"]
