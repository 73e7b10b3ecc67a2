"""Streaming a causal :class:`~seqbench.nn.TCN`: one input step in, one output step out.

A causal TCN's output at step ``t`` reads, in each convolution, the inputs
``t, t-d, ..., t-(k-1)d``. Streaming keeps those inputs in a per-convolution buffer and
does one small matrix product per convolution per step: ``O(levels * k)`` work, never a
recomputation of the receptive field.

Buffer layout (why it looks the way it does). At the sizes people stream, a step is
dominated by per-operator call overhead (about a microsecond each), not arithmetic, so the
layout is chosen to need the fewest operator calls:

- The inputs of a dilated convolution split into ``d`` *phases* (``t mod d``); the taps of
  step ``t`` are the last ``k`` inputs of one phase.
- Each phase is a line of ``2k`` slots, ``(d, 2k, C, B)`` per convolution, batch last so
  that one slot is a contiguous ``(C, B)`` matrix. Inputs are written left to right from
  slot ``k-1``; the taps are the ``k`` slots ending at the newest, one contiguous
  ``(k*C, B)`` view, so the convolution is one ``addmm`` with the folded ``(C_out, k*C)``
  weight. When a line is full, its last ``k-1`` inputs are copied to its start (one copy
  every ``k+1`` steps of that phase).
- A convolution's ``addmm`` writes its output straight into the next convolution's
  newest slot (``out=``), and the ReLU runs in place there: no separate write.
- The views of every slot are made once per state (:class:`_LevelViews`), so a step makes
  no views either. Per level and step that leaves two ``addmm``, an add and three ReLUs.

Weight normalisation and batch normalisation (eval mode) are folded into the weights
once, when the state is created; the fold is redone automatically if the parameters
change (every in-place update bumps a tensor's version counter).

The folding of a convolution's normalisation into its weight, shared with export, is in
:mod:`seqbench.nn.folding`.
"""

from __future__ import annotations

from typing import NamedTuple

import operator

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .folding import activation_fn, folded_conv

__all__ = ["TCNState", "tcn_init_state", "tcn_step", "tcn_step_channels_first"]


class TCNState(NamedTuple):
    """Streaming state of a :class:`~seqbench.nn.TCN`.

    Attributes:
        buffers: one tensor per convolution with kernel size > 1, shape ``(d, 2k, C_in, B)``
            (see the module docstring for why). Zeros are the left padding of the full forward.
        steps: how many steps have been taken (selects the slots).
        views: the step's precomputed views of ``buffers`` (a cache: rebuilt when missing or
            made for other buffers, e.g. after ``state_to`` or ``clone_state``).
    """

    buffers: tuple[torch.Tensor, ...]
    steps: int
    views: object = None

    # the state protocol of seqbench.nn.states
    def tensors(self) -> list[torch.Tensor]:
        return list(self.buffers)

    @property
    def batch_size(self) -> int:
        return self.buffers[0].shape[-1] if self.buffers else 0

    def reset(self, index: torch.Tensor) -> None:
        # the ring position is shared, but a zeroed ring is exactly the left padding a fresh
        # sequence sees, wherever it starts
        for b in self.buffers:
            b.index_fill_(b.dim() - 1, index.to(b.device), 0.0)

    def to(self, device=None, dtype=None) -> "TCNState":
        return TCNState(tuple(b.to(device=device, dtype=dtype).contiguous() for b in self.buffers), self.steps)

    def clone(self) -> "TCNState":
        return TCNState(tuple(b.clone() for b in self.buffers), self.steps)


def _addmm_relu_unfused(bias, weight, taps, out=None):
    return torch.addmm(bias, weight, taps, out=out).relu_()


def _add_relu_unfused(a, b, out=None):
    return torch.add(a, b, out=out).relu_()


def _relu_kernels(device: torch.device):
    """ATen's fused addmm + ReLU and add + ReLU on the CPU: one operator call instead of two,
    which is what a step costs (0.3-0.4 us saved each); the plain pair elsewhere (``_add_relu``
    has no CUDA kernel) or where a build lacks them."""
    if device.type != "cpu":
        return _addmm_relu_unfused, _add_relu_unfused
    return getattr(torch, "_addmm_activation", _addmm_relu_unfused), getattr(torch, "_add_relu", _add_relu_unfused)


_version = operator.attrgetter("_version")  # checked on every step: the fastest read of many


class _ConvStep:
    """Folded weights and buffer geometry of one causal convolution."""

    __slots__ = ("weight", "bias", "k", "d", "cin", "layer_norm", "act", "plain_relu", "addmm_relu")

    def __init__(self, conv, norm, act):
        self.weight, self.bias = folded_conv(conv, norm)
        self.k, self.d, self.cin = conv.kernel_size[0], conv.dilation[0], conv.in_channels
        self.layer_norm = norm if isinstance(norm, nn.LayerNorm) else None
        self.act = activation_fn(act)
        #: the common case: the addmm can write into its destination and the ReLU run there
        self.plain_relu = self.act is torch.relu_ and self.layer_norm is None
        self.addmm_relu = _relu_kernels(self.weight.device)[0]

    def __call__(self, taps: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        """This convolution's output for ``taps`` (k*C_in, B), written into ``out`` when given."""
        if self.plain_relu:
            return self.addmm_relu(self.bias, self.weight, taps, out=out)
        h = torch.addmm(self.bias, self.weight, taps)
        if self.layer_norm is not None:
            ln = self.layer_norm
            h = F.layer_norm(h.t(), ln.normalized_shape, ln.weight, ln.bias, ln.eps).t()
        h = self.act(h)
        return h if out is None else out.copy_(h)


class TCNStepPlan:
    """Everything a TCN step needs that does not change from step to step."""

    def __init__(self, tcn) -> None:
        self.blocks = []
        for blk in tcn.blocks:
            skip = None
            if blk.downsample is not None:
                skip = (blk.downsample.weight.detach()[:, :, 0].contiguous(), blk.downsample.bias.detach()[:, None].contiguous())
            self.blocks.append((_ConvStep(blk.conv1, blk.norm1, blk.act1), _ConvStep(blk.conv2, blk.norm2, blk.act2),
                                skip, activation_fn(blk.act)))
        self.convs = [c for b in self.blocks for c in b[:2]]
        first = self.convs[0].weight
        self.device, self.dtype = first.device, first.dtype
        self.add_relu = _relu_kernels(self.device)[1]
        #: parameters and buffers whose version counters tell when the fold went stale
        self.watched = list(tcn.parameters()) + list(tcn.buffers())
        self.versions = list(map(_version, self.watched))
        #: per convolution with a history: (d, 2k, C_in) of its buffer
        self.shapes = [(c.d, 2 * c.k, c.cin) for c in self.convs if c.k > 1]

    def stale(self) -> bool:
        """True once a parameter was updated in place, reassigned, or moved to another device/dtype."""
        w = self.watched[0]
        return list(map(_version, self.watched)) != self.versions or w.device != self.device or w.dtype != self.dtype


class _LevelViews(NamedTuple):
    """Views of the two buffers ``(d, 2k, C, B)`` of one level (its convolutions share k and d).

    Per phase, a buffer is a line of ``2k`` slots. Inputs go to slots ``k-1, ..., 2k-1``,
    ``k + 1`` of them; then the last ``k - 1`` are copied to the start and writing resumes
    at ``k-1``. The pattern repeats every ``cycle = d * (k + 1)`` steps, so step ``t`` uses
    entry ``j = t % cycle`` of the lists below (phase ``j % d``).
    """

    d: int
    cycle: int
    newest: tuple[list, list]  # per convolution: [j] -> the (C, B) slot that takes step t's input
    taps: tuple[list, list]    # per convolution: [j] -> the k newest inputs, oldest first, as (k*C, B)
    wrap: tuple[list, list]    # per convolution: [phase] -> (start, end): end is copied to start when full

    @classmethod
    def of(cls, buf1: torch.Tensor, buf2: torch.Tensor) -> "_LevelViews":
        d, slots = buf1.shape[:2]
        k = slots // 2
        order = [(n, ph) for n in range(k + 1) for ph in range(d)]  # entry j = n * d + ph
        newest, taps, wrap = [], [], []
        for buf in (buf1, buf2):
            cin, batch = buf.shape[2:]
            newest.append([buf[ph, k - 1 + n] for n, ph in order])
            taps.append([buf[ph, n : n + k].view(k * cin, batch) for n, ph in order])
            wrap.append([(buf[ph, : k - 1], buf[ph, k + 1 :]) for ph in range(d)])
        return cls(d, d * (k + 1), tuple(newest), tuple(taps), tuple(wrap))


class _StateViews:
    """The views of every buffer of one state, made once and reused by every step."""

    __slots__ = ("buffers", "levels")

    def __init__(self, plan: TCNStepPlan, buffers) -> None:
        self.buffers = buffers
        pairs = iter(buffers)
        #: one _LevelViews per level; None when the kernel size is 1 (no history to keep)
        self.levels = [_LevelViews.of(next(pairs), next(pairs)) if b[0].k > 1 else None for b in plan.blocks]


def check_streamable(tcn) -> None:
    if not tcn.causal:
        raise ValueError(
            "a non-causal TCN (causal=False) reads future steps, so it cannot stream one step at a time; "
            "build it with causal=True"
        )


def tcn_plan(tcn, rebuild: bool = False) -> TCNStepPlan:
    plan = tcn.__dict__.get("_stream_plan")
    if rebuild or plan is None or plan.stale():
        with torch.no_grad():
            plan = TCNStepPlan(tcn)
        # a plain attribute, deliberately outside the state_dict
        tcn.__dict__["_stream_plan"] = plan
        tcn.__dict__["_stream_checked"] = None
    return plan


def tcn_init_state(tcn, batch_size: int, device=None, dtype=None) -> TCNState:
    check_streamable(tcn)
    checks.positive_int("batch_size", batch_size)
    param = next(tcn.parameters())
    plan = tcn_plan(tcn, rebuild=True)  # fold the weights once per init_state
    device = param.device if device is None else device
    dtype = param.dtype if dtype is None else dtype
    buffers = tuple(torch.zeros(*s, batch_size, device=device, dtype=dtype) for s in plan.shapes)
    return TCNState(buffers, 0, _StateViews(plan, buffers))


def _check_tcn_state(tcn, plan: TCNStepPlan, state, batch: int) -> None:
    if not isinstance(state, TCNState):
        raise ValueError(f"TCN.step expects the TCNState from this model's init_state, got {type(state).__name__}")
    bufs = state.buffers
    if len(bufs) != len(plan.shapes):
        raise ValueError(
            f"TCN.step: the state has {len(bufs)} buffers but this model needs {len(plan.shapes)}: "
            "is it a state from another model? Use this model's init_state"
        )
    for i, (b, s) in enumerate(zip(bufs, plan.shapes)):
        if not isinstance(b, torch.Tensor) or b.dim() != 4 or tuple(b.shape[:3]) != s:
            shape = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(
                f"TCN.step: state buffer {i} has shape {shape}, this model needs {s + ('B',)}: "
                "is it a state from another model? Use this model's init_state"
            )
        if b.shape[-1] != batch:
            raise ValueError(f"TCN.step: the state was made for batch size {b.shape[-1]}, the input has batch size {batch}")
        if b.dtype != plan.dtype or b.device != plan.device:
            raise ValueError(
                f"TCN.step: state buffer {i} is {b.dtype} on {b.device}, the model is {plan.dtype} on {plan.device}; "
                "use seqbench.nn.streaming.state_to"
            )
        if not b.is_contiguous() or b.storage_offset() != 0:
            raise ValueError(f"TCN.step: state buffer {i} must be a contiguous tensor of its own (use state_to or clone_state)")
    if not isinstance(state.steps, int) or state.steps < 0:
        raise ValueError(f"TCN.step: state.steps must be a non-negative int, got {state.steps!r}")


def tcn_step_channels_first(tcn, x: torch.Tensor, state: TCNState, plan: TCNStepPlan | None = None):
    """One TCN step on ``x`` (C_in, B), channel-first; returns ``(C_out, B)`` and the new state."""
    plan = tcn_plan(tcn) if plan is None else plan
    batch = x.shape[1]
    if type(state) is not TCNState or tcn.__dict__.get("_stream_checked") is not state.buffers:
        _check_tcn_state(tcn, plan, state, batch)
        tcn.__dict__["_stream_checked"] = state.buffers
    elif state.buffers and state.buffers[0].shape[-1] != batch:
        raise ValueError(
            f"TCN.step: the state was made for batch size {state.buffers[0].shape[-1]}, the input has batch size {batch}"
        )
    views = state.views
    if views is None or views.buffers is not state.buffers:  # a state built by hand, or moved/cloned
        views = _StateViews(plan, state.buffers)
    t = state.steps
    if torch.is_grad_enabled():  # the step writes into its buffers with out=, which autograd refuses
        with torch.no_grad():
            h = _step(plan, views.levels, x, t)
    else:
        h = _step(plan, views.levels, x, t)
    return h, TCNState(state.buffers, t + 1, views)


def _step(plan: TCNStepPlan, levels: list, x: torch.Tensor, t: int) -> torch.Tensor:
    """The step proper, with the fewest operator calls (see the module docstring)."""
    js = []  # each level's entry in its view lists this step; lines that are full wrap first
    for lv in levels:
        if lv is None:
            js.append(None)
            continue
        j = t % lv.cycle
        if j < lv.d and t >= lv.d:
            for wrap in lv.wrap:
                start, end = wrap[j]
                start.copy_(end)
        js.append(j)
    h = x if js[0] is None else levels[0].newest[0][js[0]].copy_(x)
    last = len(levels) - 1
    for b, (conv1, conv2, skip, act) in enumerate(plan.blocks):
        lv, j, inp = levels[b], js[b], h
        if lv is None:
            h = conv2(conv1(inp, None), None)
        else:  # conv1 writes into conv2's newest slot
            conv1(lv.taps[0][j], lv.newest[1][j])
            h = conv2(lv.taps[1][j], None)
        res = inp if skip is None else torch.addmm(skip[1], skip[0], inp)
        # the level's output goes straight into the next level's newest slot
        out = None if b == last or js[b + 1] is None else levels[b + 1].newest[0][js[b + 1]]
        if act is torch.relu_:
            h = plan.add_relu(h, res, out=out)
        else:
            h = act(h + res)
            h = h if out is None else out.copy_(h)
    return h


def tcn_step(tcn, x: torch.Tensor, state: TCNState) -> tuple[torch.Tensor, TCNState]:
    check_streamable(tcn)
    checks.step_mode(tcn, "TCN")
    plan = tcn_plan(tcn)
    checks.step_input(x, tcn.input_size, plan.convs[0].weight, "TCN.step")
    h, state = tcn_step_channels_first(tcn, x.t(), state, plan)
    return h.t(), state
