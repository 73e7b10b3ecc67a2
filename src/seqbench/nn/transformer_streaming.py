"""Streaming a causal :class:`~seqbench.nn.Transformer`: one step at a time with a key/value cache.

A causal layer's output at step ``t`` is its feed-forward block applied to the attention of
step ``t``'s query over the keys and values of steps ``0..t``. Those keys and values never
change once computed, so each layer keeps them (the cache) and a step computes only the new
step's query, key and value, one attention row and one feed-forward: ``O(t)`` work per step
instead of the ``O(t^2)`` of recomputing the prefix. The step uses each layer's own weights
(``self_attn.in_proj_weight``, ``out_proj``, ``linear1/2``, ``norm1/2``), so it needs no
fold and follows every parameter update.

The cache grows by one key and one value per layer and step (``torch.cat``: a step returns
a new state and leaves the old one's caches as they were). :func:`reset_state` restarts
some sequences of a batch in place by moving their start: their earlier keys are masked
out and their positions count from zero again. The starts are shared by the states stepped
from one another, so :func:`clone_state` before branching a stream that will be reset.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import checks

__all__ = ["TransformerState"]


class TransformerState(NamedTuple):
    """Streaming state of a causal :class:`~seqbench.nn.Transformer`.

    Attributes:
        keys, values: per layer, the cached keys and values of every step so far,
            ``(B, num_heads, steps, hidden_size / num_heads)``.
        starts: ``(B,)`` int64, the step at which each sequence of the batch began (0 unless
            :func:`~seqbench.nn.streaming.reset_state` restarted it); its position is
            ``steps - starts`` and it attends to the cache from ``starts`` on.
        steps: steps taken, the length of the cache.
    """

    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]
    starts: torch.Tensor
    steps: int

    # the state protocol of seqbench.nn.states
    def tensors(self) -> list[torch.Tensor]:
        return [*self.keys, *self.values, self.starts]

    @property
    def batch_size(self) -> int:
        return self.starts.shape[0]

    def reset(self, index: torch.Tensor) -> None:
        # a cache cannot be zeroed into a fresh start: move the start to the next step
        self.starts.index_fill_(0, index.to(self.starts.device), self.steps)

    def to(self, device=None, dtype=None) -> "TransformerState":
        move = lambda t: t.to(device=device, dtype=dtype).contiguous()  # noqa: E731
        return TransformerState(tuple(map(move, self.keys)), tuple(map(move, self.values)),
                                self.starts.to(device=device), self.steps)

    def clone(self) -> "TransformerState":
        # the caches are never written in place (each step concatenates): only starts needs a copy
        return TransformerState(self.keys, self.values, self.starts.clone(), self.steps)


def check_streamable(tr) -> None:
    if not tr.causal:
        raise ValueError(
            "a non-causal Transformer (causal=False) attends to future steps, so it cannot stream one step "
            "at a time; build it with causal=True"
        )


def transformer_init_state(tr, batch_size: int, device=None, dtype=None) -> TransformerState:
    check_streamable(tr)
    checks.positive_int("batch_size", batch_size)
    p = tr.input_proj.weight
    device = p.device if device is None else device
    dtype = p.dtype if dtype is None else dtype
    shape = (batch_size, tr.num_heads, 0, tr.hidden_size // tr.num_heads)
    empty = tuple(torch.zeros(shape, device=device, dtype=dtype) for _ in tr.layers)
    return TransformerState(empty, empty, torch.zeros(batch_size, dtype=torch.long, device=device), 0)


def _check_state(tr, state, batch: int) -> None:
    who = "Transformer.step"
    if not isinstance(state, TransformerState):
        raise ValueError(f"{who} expects the TransformerState from this model's init_state, got {type(state).__name__}")
    if not isinstance(state.steps, int) or state.steps < 0:
        raise ValueError(f"{who}: state.steps must be a non-negative int, got {state.steps!r}")
    if len(state.keys) != len(tr.layers) or len(state.values) != len(tr.layers):
        raise ValueError(
            f"{who}: the state caches {len(state.keys)} layers but this model has {len(tr.layers)}: "
            "is it a state from another model? Use this model's init_state"
        )
    starts = state.starts
    if not isinstance(starts, torch.Tensor) or starts.dim() != 1 or starts.dtype != torch.long:
        got = f"{starts.dtype} of shape {tuple(starts.shape)}" if isinstance(starts, torch.Tensor) else type(starts).__name__
        raise ValueError(f"{who}: state.starts must be an int64 tensor of shape (batch,), got {got}")
    if starts.shape[0] != batch:
        raise ValueError(f"{who}: the state was made for batch size {starts.shape[0]}, the input has batch size {batch}")
    p = tr.input_proj.weight
    expected = (batch, tr.num_heads, state.steps, tr.hidden_size // tr.num_heads)
    for i, t in enumerate(state.keys + state.values):
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != expected:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f"{who}: cache tensor {i} has shape {got}, this model needs {expected} "
                "(batch, num_heads, steps, head size): is it a state from another model? Use this model's init_state"
            )
        if t.dtype != p.dtype or t.device != p.device:
            raise ValueError(
                f"{who}: the cache is {t.dtype} on {t.device}, the model is {p.dtype} on {p.device}; "
                "use seqbench.nn.streaming.state_to"
            )


def _positions(tr, state: TransformerState) -> torch.Tensor:
    """Each sequence's position this step, (B,); refuses learned positions past ``max_len``."""
    positions = state.steps - state.starts
    # only a stream this long can have gone past max_len: the common case needs no device sync
    if tr.position is not None and state.steps >= tr.max_len and int(positions.max()) >= tr.max_len:
        raise ValueError(
            f"Transformer.step: learned positions cover max_len={tr.max_len} steps and this step would be "
            f"position {int(positions.max())}; raise max_len, use positions='sinusoidal', or reset_state"
        )
    return positions


def _attend(layer, h: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, visible: torch.Tensor):
    """``layer.self_attn`` of one query step ``h`` (B, d) over the cache plus this step's key and value."""
    attn = layer.self_attn
    batch, heads = h.size(0), attn.num_heads
    q, k, v = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).view(batch, 3, heads, -1).unbind(1)
    keys = torch.cat([keys, k.unsqueeze(2)], dim=2)
    values = torch.cat([values, v.unsqueeze(2)], dim=2)
    o = F.scaled_dot_product_attention(q.unsqueeze(2), keys, values, attn_mask=visible)  # (B, H, 1, d/H)
    return F.linear(o.reshape(batch, -1), attn.out_proj.weight, attn.out_proj.bias), keys, values


def _feedforward(layer, h: torch.Tensor) -> torch.Tensor:
    return layer.linear2(layer.activation(layer.linear1(h)))


def transformer_step(tr, x: torch.Tensor, state: TransformerState):
    check_streamable(tr)
    checks.step_mode(tr, "Transformer")
    checks.step_input(x, tr.input_size, tr.input_proj.weight, "Transformer.step")
    _check_state(tr, state, x.shape[0])
    h = tr.embed(x, _positions(tr, state))
    # (B, 1, 1, steps + 1): a restarted sequence sees only the steps since its start
    visible = (torch.arange(state.steps + 1, device=x.device) >= state.starts.unsqueeze(1))[:, None, None]
    keys, values = [], []
    for layer, k, v in zip(tr.layers, state.keys, state.values):
        if layer.norm_first:
            a, k, v = _attend(layer, layer.norm1(h), k, v, visible)
            h = h + a
            h = h + _feedforward(layer, layer.norm2(h))
        else:
            a, k, v = _attend(layer, h, k, v, visible)
            h = layer.norm1(h + a)
            h = layer.norm2(h + _feedforward(layer, h))
        keys.append(k)
        values.append(v)
    return tr.norm(h), TransformerState(tuple(keys), tuple(values), state.starts, state.steps + 1)

