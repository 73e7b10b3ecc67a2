"""Streaming inference: one input step in, one output step out, with a carried state.

A causal TCN's output at step ``t`` reads, in each convolution, the inputs
``t, t-d, ..., t-(k-1)d``. Streaming keeps those inputs in a per-convolution buffer and
does one small matrix product per convolution per step: ``O(levels * k)`` work, never a
recomputation of the receptive field.

Buffer layout (why it looks the way it does). Each step is dominated by per-op call
overhead, not arithmetic, so the layout is chosen to need the fewest op calls:

- The inputs of a dilated convolution split into ``d`` *phases* (``t mod d``); the taps of
  step ``t`` are the last ``k`` entries of one phase. Each phase is a ring of ``k`` slots.
- Each ring is stored twice in a row (``2k`` slots) and every input is written to slot
  ``q`` and ``q + k``: the last ``k`` entries then always lie *contiguously*, oldest first,
  at slots ``q+1 .. q+k``, so the taps are one strided view, not a gather.
- Batch is the last axis, ``(d, 2k, C, B)``: one ``__setitem__`` writes both copies
  (broadcast over the pair) and the taps are a ``(k*C, B)`` matrix that a single
  ``addmm`` multiplies by the folded weight ``(C_out, k*C)``.

Per convolution and step: one write, one view, one ``addmm``, one activation.
Weight normalisation and batch normalisation (eval mode) are folded into that weight
once, when the state is created; the fold is redone automatically if the parameters
change (every in-place update bumps a tensor's version counter).
"""

from __future__ import annotations

from typing import List, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TCNState", "RecurrentState", "reset_state", "state_to", "clone_state", "state_nbytes"]


class TCNState(NamedTuple):
    """Streaming state of a :class:`~seqbench.nn.TCN`.

    Attributes:
        buffers: one tensor per convolution with kernel size > 1, shape ``(d, 2k, C_in, B)``
            (see the module docstring for why). Zeros are the left padding of the full forward.
        steps: how many steps have been taken (selects the ring slots).
    """

    buffers: tuple[torch.Tensor, ...]
    steps: int


class RecurrentState(NamedTuple):
    """Streaming state of a :class:`~seqbench.nn.Recurrent`: ``h`` (and ``c`` for an LSTM),
    each ``(num_layers, B, hidden_size)`` like torch's ``nn.LSTM``."""

    h: torch.Tensor
    c: torch.Tensor | None = None


def _batch_dim(state) -> int:
    return -1 if isinstance(state, TCNState) else 1


def _tensors(state) -> list[torch.Tensor]:
    if isinstance(state, TCNState):
        return list(state.buffers)
    if isinstance(state, RecurrentState):
        return [t for t in state if t is not None]
    raise ValueError(f"expected a TCNState or RecurrentState (from model.init_state), got {type(state).__name__}")


def reset_state(state, index) -> None:
    """Zero the state of some batch elements in place, so a new sequence starts in those slots.

    Args:
        state: a state from ``init_state`` / ``step``.
        index: an int, a sequence of ints, or a bool mask of shape ``(B,)``.

    The other elements continue unchanged (the ring position is shared, but a zeroed ring
    is exactly the left padding a fresh sequence sees, wherever it starts).
    """
    tensors = _tensors(state)
    batch = tensors[0].shape[_batch_dim(state)] if tensors else 0
    if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
        if index.shape != (batch,):
            raise ValueError(f"reset mask must have shape ({batch},), got {tuple(index.shape)}")
        index = index.nonzero().flatten()
    idx = torch.as_tensor(index, dtype=torch.long).flatten()
    if idx.numel() and (int(idx.min()) < -batch or int(idx.max()) >= batch):
        raise ValueError(f"reset index out of range for batch size {batch}: {idx.tolist()}")
    for t in tensors:
        t.index_fill_(t.dim() - 1 if _batch_dim(state) == -1 else 1, idx.to(t.device) % batch, 0.0)


def state_to(state, device=None, dtype=None):
    """A copy of ``state`` on ``device`` / in ``dtype`` (like ``Tensor.to``)."""
    _tensors(state)
    move = lambda t: None if t is None else t.to(device=device, dtype=dtype).contiguous()  # noqa: E731
    if isinstance(state, TCNState):
        return TCNState(tuple(move(b) for b in state.buffers), state.steps)
    return RecurrentState(move(state.h), move(state.c))


def clone_state(state):
    """An independent copy of ``state`` (``step`` updates TCN buffers in place: clone to branch)."""
    _tensors(state)
    if isinstance(state, TCNState):
        return TCNState(tuple(b.clone() for b in state.buffers), state.steps)
    return RecurrentState(state.h.clone(), None if state.c is None else state.c.clone())


def state_nbytes(state) -> int:
    """Bytes held by the state's tensors."""
    return sum(t.numel() * t.element_size() for t in _tensors(state))


# --------------------------------------------------------------------------- TCN


def _activation_fn(module: nn.Module):
    """The functional form of a block's activation; in place where that is safe (fresh outputs)."""
    kind = type(module)
    if kind is nn.ReLU:
        return torch.relu_
    if kind is nn.Tanh:
        return torch.tanh_
    if kind is nn.GELU:
        return lambda x: F.gelu(x, approximate=module.approximate)
    if kind is nn.ELU:
        return lambda x: F.elu(x, module.alpha)
    if kind is nn.SiLU:
        return F.silu
    return module


def _folded_conv(conv: nn.Conv1d, norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight ``(C_out, k*C_in)`` (tap-major, oldest tap first) and bias ``(C_out, 1)`` of conv
    followed by an eval-mode batch norm; weight norm is folded by reading ``conv.weight``."""
    w = conv.weight.detach()  # the parametrization computes g * v / ||v|| here, once
    b = conv.bias.detach() if conv.bias is not None else torch.zeros(w.size(0), dtype=w.dtype, device=w.device)
    if isinstance(norm, nn.BatchNorm1d):
        scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps)
        w = w * scale[:, None, None]
        b = (b - norm.running_mean) * scale + norm.bias.detach()
    out, cin, k = w.shape
    return w.permute(0, 2, 1).reshape(out, k * cin).contiguous(), b.reshape(out, 1).contiguous()


class _ConvStep:
    """Folded weights and ring geometry of one causal convolution."""

    __slots__ = ("weight", "bias", "k", "d", "cin", "layer_norm", "act")

    def __init__(self, conv, norm, act):
        self.weight, self.bias = _folded_conv(conv, norm)
        self.k, self.d, self.cin = conv.kernel_size[0], conv.dilation[0], conv.in_channels
        self.layer_norm = norm if isinstance(norm, nn.LayerNorm) else None
        self.act = _activation_fn(act)


class TCNStepPlan:
    """Everything a TCN step needs that does not change from step to step."""

    def __init__(self, tcn) -> None:
        self.blocks = []
        for blk in tcn.blocks:
            ds = None
            if blk.downsample is not None:
                ds = (blk.downsample.weight.detach()[:, :, 0].contiguous(), blk.downsample.bias.detach()[:, None].contiguous())
            self.blocks.append(
                (_ConvStep(blk.conv1, blk.norm1, blk.act1), _ConvStep(blk.conv2, blk.norm2, blk.act2), ds, _activation_fn(blk.act))
            )
        self.convs = [c for b in self.blocks for c in b[:2]]
        first = self.convs[0].weight
        self.device, self.dtype = first.device, first.dtype
        #: parameters and buffers whose version counters tell when the fold went stale
        self.watched = list(tcn.parameters()) + list(tcn.buffers())
        self.versions = [t._version for t in self.watched]
        #: per convolution with a history: (d, 2k, C_in) of its buffer
        self.shapes = [(c.d, 2 * c.k, c.cin) for c in self.convs if c.k > 1]
        # The common network (ReLU everywhere, no layer norm) runs as one TorchScript
        # function: the same ops, but ~1.7x less per-step call overhead than Python
        # (benchmarks/streaming.py reports the eager/scripted ratio).
        relu = lambda f: f is torch.relu_  # noqa: E731
        self.scripted = all(relu(c.act) and c.layer_norm is None for c in self.convs) and all(relu(b[3]) for b in self.blocks)
        if self.scripted:
            self.weights = [c.weight for c in self.convs]
            self.biases = [c.bias for c in self.convs]
            slots, n = [], 0
            for c in self.convs:
                slots.append(n if c.k > 1 else -1)
                n += c.k > 1
            self.geometry = [[c.k, c.d, c.cin, slot] for c, slot in zip(self.convs, slots)]
            self.skip_weights = [b[2][0] for b in self.blocks if b[2] is not None]
            self.skip_biases = [b[2][1] for b in self.blocks if b[2] is not None]
            self.has_skip = [b[2] is not None for b in self.blocks]


    def stale(self) -> bool:
        """True once a parameter was updated in place, reassigned, or moved to another device/dtype."""
        w = self.watched[0]
        return [t._version for t in self.watched] != self.versions or w.device != self.device or w.dtype != self.dtype


def check_streamable(tcn) -> None:
    if not tcn.causal:
        raise ValueError(
            "a non-causal TCN (causal=False) reads future steps, so it cannot stream one step at a time; "
            "build it with causal=True"
        )


def check_step_mode(model: nn.Module, who: str) -> None:
    """Streaming computes eval-mode outputs: refuse training mode where that would differ."""
    if not model.training:
        return
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training:
            raise ValueError(
                f"{who}.step: the model is in training mode and uses batch norm, whose batch statistics "
                "need the whole sequence; call model.eval() before streaming"
            )
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.training and m.p > 0:
            raise ValueError(f"{who}.step: the model is in training mode with dropout p={m.p}; call model.eval() before streaming")
        if isinstance(m, nn.RNNBase) and m.training and m.dropout > 0 and m.num_layers > 1:
            raise ValueError(f"{who}.step: the model is in training mode with dropout {m.dropout}; call model.eval() before streaming")


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
    from . import _checks

    check_streamable(tcn)
    _checks.positive_int("batch_size", batch_size)
    param = next(tcn.parameters())
    plan = tcn_plan(tcn, rebuild=True)  # fold the weights once per init_state
    device = param.device if device is None else device
    dtype = param.dtype if dtype is None else dtype
    return TCNState(tuple(torch.zeros(*s, batch_size, device=device, dtype=dtype) for s in plan.shapes), 0)


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


def tcn_step_channels_first(tcn, x: torch.Tensor, state: TCNState) -> tuple[torch.Tensor, TCNState]:
    """One TCN step on ``x`` (C_in, B), channel-first; returns ``(C_out, B)`` and the new state."""
    plan = tcn_plan(tcn)
    batch = x.shape[1]
    if type(state) is not TCNState or tcn.__dict__.get("_stream_checked") is not state.buffers:
        _check_tcn_state(tcn, plan, state, batch)
        tcn.__dict__["_stream_checked"] = state.buffers
    elif state.buffers[0].shape[-1] != batch if state.buffers else False:
        raise ValueError(
            f"TCN.step: the state was made for batch size {state.buffers[0].shape[-1]}, the input has batch size {batch}"
        )
    t = state.steps
    if plan.scripted and _SCRIPTED:
        h = _scripted_relu_step()(
            x, t, plan.weights, plan.biases, list(state.buffers), plan.geometry,
            plan.skip_weights, plan.skip_biases, plan.has_skip,
        )
        return h, TCNState(state.buffers, t + 1)
    bufs = iter(state.buffers)
    h = x
    for conv1, conv2, ds, act in plan.blocks:
        inp = h
        for conv in (conv1, conv2):
            k = conv.k
            if k > 1:
                buf = next(bufs)
                d, cin = conv.d, conv.cin
                phase, q = t % d, (t // d) % k
                buf[phase, q : q + k + 1 : k] = h  # both copies of the ring slot
                taps = torch.as_strided(buf, (k * cin, batch), (batch, 1), (phase * 2 * k + q + 1) * cin * batch)
            else:
                taps = h
            h = torch.addmm(conv.bias, conv.weight, taps)
            if conv.layer_norm is not None:
                ln = conv.layer_norm
                h = F.layer_norm(h.t(), ln.normalized_shape, ln.weight, ln.bias, ln.eps).t()
            h = conv.act(h)
        skip = inp if ds is None else torch.addmm(ds[1], ds[0], inp)
        h = act(h + skip)
    return h, TCNState(state.buffers, t + 1)


def _relu_step(
    x: torch.Tensor, t: int, weights: List[torch.Tensor], biases: List[torch.Tensor], buffers: List[torch.Tensor],
    geometry: List[List[int]], skip_weights: List[torch.Tensor], skip_biases: List[torch.Tensor], has_skip: List[bool],
) -> torch.Tensor:
    """The eager step loop of :func:`tcn_step_channels_first`, specialised to ReLU and no layer norm."""
    h = x
    batch = x.size(1)
    j = 0
    for block in range(len(has_skip)):
        inp = h
        for c in range(2):
            i = 2 * block + c
            k, d, cin, slot = geometry[i][0], geometry[i][1], geometry[i][2], geometry[i][3]
            if k > 1:
                buf = buffers[slot]
                phase, q = t % d, (t // d) % k
                # both copies of the ring slot (k * cin * batch apart), then the k contiguous taps
                torch.as_strided(buf, [2, cin, batch], [k * cin * batch, batch, 1], (phase * 2 * k + q) * cin * batch).copy_(h)
                taps = torch.as_strided(buf, [k * cin, batch], [batch, 1], (phase * 2 * k + q + 1) * cin * batch)
            else:
                taps = h
            h = torch.relu_(torch.addmm(biases[i], weights[i], taps))
        if has_skip[block]:
            skip = torch.addmm(skip_biases[j], skip_weights[j], inp)
            j += 1
        else:
            skip = inp
        h = torch.relu_(h + skip)
    return h


#: set to False to force the plain Python loop (e.g. to compare); True uses TorchScript when it compiles
_SCRIPTED = True
_compiled = []


def _scripted_relu_step():
    if not _compiled:
        try:
            _compiled.append(torch.jit.script(_relu_step))
        except Exception:  # a torch build without TorchScript: the same function, run by Python
            _compiled.append(_relu_step)
    return _compiled[0]


def tcn_step(tcn, x: torch.Tensor, state: TCNState) -> tuple[torch.Tensor, TCNState]:
    check_streamable(tcn)
    check_step_mode(tcn, "TCN")
    check_step_input(x, tcn.input_size, next(tcn.parameters()), "TCN.step")
    h, state = tcn_step_channels_first(tcn, x.t(), state)
    return h.t(), state


def check_step_input(x, features: int, reference: torch.Tensor, who: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != features:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who} expects one step of shape (batch, {features}), got {shape}")
    if x.dtype != reference.dtype:
        raise ValueError(f"{who} expects dtype {reference.dtype} (the model's), got {x.dtype}")
    if x.device != reference.device:
        raise ValueError(f"{who} expects the input on {reference.device} (the model's device), got {x.device}")


# --------------------------------------------------------------------- Recurrent


def recurrent_init_state(rec, batch_size: int, device=None, dtype=None) -> RecurrentState:
    from . import _checks

    _checks.positive_int("batch_size", batch_size)
    p = rec.rnn.weight_ih_l0
    shape = (rec.num_layers, batch_size, rec.hidden_size)
    kw = dict(device=p.device if device is None else device, dtype=p.dtype if dtype is None else dtype)
    return RecurrentState(torch.zeros(shape, **kw), torch.zeros(shape, **kw) if rec.kind == "lstm" else None)


def recurrent_step(rec, x: torch.Tensor, state: RecurrentState) -> tuple[torch.Tensor, RecurrentState]:
    who = f"Recurrent({rec.kind!r}).step"
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


def expected_state_shapes(encoder, batch_size: int) -> Sequence[tuple[int, ...]]:
    """Shapes of the tensors of ``encoder.init_state(batch_size)``."""
    return [tuple(t.shape) for t in _tensors(encoder.init_state(batch_size))]


# ----------------------------------------------------------------- SequenceModel


def sequence_init_state(model, batch_size: int, device=None, dtype=None):
    if not hasattr(model.encoder, "init_state"):
        raise ValueError(f"the encoder {type(model.encoder).__name__} has no streaming support (init_state/step)")
    if model.head == "mean":
        raise ValueError("head 'mean' pools over the whole sequence and cannot stream; use 'per_step', 'lm' or 'last'")
    return model.encoder.init_state(batch_size, device, dtype)


def _check_tokens(model, x) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 1:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"SequenceModel.step expects one step of token ids of shape (batch,), got {shape}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"SequenceModel.step expects integer token ids, got dtype {x.dtype}")
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= model.input_size):
        raise ValueError(
            f"token ids must lie in [0, {model.input_size}) (the vocabulary), got range [{int(x.min())}, {int(x.max())}]"
        )


def sequence_step(model, x: torch.Tensor, state):
    """One step of a :class:`~seqbench.nn.SequenceModel`: adapter, encoder step, decoder."""
    if model.head == "mean":
        raise ValueError("head 'mean' pools over the whole sequence and cannot stream; use 'per_step', 'lm' or 'last'")
    check_step_mode(model, "SequenceModel")
    encoder, dec = model.encoder, model.decoder
    if model.input_adapter == "embedding":
        _check_tokens(model, x)
        h = F.embedding(x.long(), model.adapter.weight)
    else:
        check_step_input(x, model.input_size, dec.weight, "SequenceModel.step")
        h = F.linear(x, model.adapter.weight, model.adapter.bias) if model.input_adapter == "linear" else x
    if type(encoder).__name__ == "TCN":
        check_streamable(encoder)
        h, state = tcn_step_channels_first(encoder, h.t(), state)
        h = h.t()
    elif hasattr(encoder, "step"):
        h, state = encoder.step(h, state)
    else:
        raise ValueError(f"the encoder {type(encoder).__name__} has no streaming support (init_state/step)")
    return F.linear(h, dec.weight, dec.bias), state
