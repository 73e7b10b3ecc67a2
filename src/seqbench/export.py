"""Export a model, and its single streaming step, to ONNX (or ``torch.export``).

The exported step is a pure function with the state as explicit tensors::

    y_t, *state = step(x_t, *state)

For a TCN each convolution with kernel size ``k > 1`` has one state tensor
``(B, C_in, (k-1)*d)`` holding its last ``(k-1)*d`` inputs, oldest first; the step
convolves ``[state, x_t]`` once and drops the oldest column. (The eager
:meth:`~seqbench.nn.TCN.step` uses ring buffers instead, which need an integer position
and in-place writes; a shift is what a graph runtime executes best, and its copy is a
single memcpy per convolution.) Weight norm and eval-mode batch norm are folded into
constant weights. A recurrent model's state is ``h`` (and ``c``), as in torch.

Both exports use torch's dynamo-based ONNX exporter (``torch.onnx.export(dynamo=True)``,
which needs ``onnxscript``); the batch size (and, for the full model, the length) stay
dynamic.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .files import atomic_path
from .nn import TCN, Recurrent, SequenceModel, Transformer
from .nn.folding import folded_conv
from .nn.streaming import check_streamable

__all__ = ["StepModule", "export_onnx", "export_step_onnx"]


class _TCNShiftStep(nn.Module):
    """A TCN step over shift buffers, with folded weights held as buffers (constants)."""

    def __init__(self, tcn: TCN) -> None:
        super().__init__()
        check_streamable(tcn)
        self.layers: list[tuple] = []  # per block: (conv1, conv2, downsample, act)
        self.state_shapes: list[tuple[int, int]] = []
        n = 0
        for i, blk in enumerate(tcn.blocks):
            convs = []
            for j, (conv, norm, act) in enumerate(((blk.conv1, blk.norm1, blk.act1), (blk.conv2, blk.norm2, blk.act2))):
                w2, b2 = folded_conv(conv, norm)
                k, d, cin = conv.kernel_size[0], conv.dilation[0], conv.in_channels
                # back to conv1d's (C_out, C_in, k) layout
                w = w2.reshape(w2.size(0), k, cin).permute(0, 2, 1).contiguous()
                self.register_buffer(f"w{i}_{j}", w)
                self.register_buffer(f"b{i}_{j}", b2[:, 0].clone())
                ln = norm if isinstance(norm, nn.LayerNorm) else None
                slot = None
                if k > 1:
                    slot = n
                    n += 1
                    self.state_shapes.append((cin, (k - 1) * d))
                convs.append((f"w{i}_{j}", f"b{i}_{j}", d, slot, ln, act))
            ds = None
            if blk.downsample is not None:
                self.register_buffer(f"dw{i}", blk.downsample.weight.detach()[:, :, 0].clone())
                self.register_buffer(f"db{i}", blk.downsample.bias.detach().clone())
                ds = (f"dw{i}", f"db{i}")
            self.layers.append((convs, ds, blk.act))
        # the norms/activations are modules: keep them registered so .to() and export see them
        self.modules_kept = nn.ModuleList(
            m for convs, _, act in self.layers for m in [act] + [c[5] for c in convs] + [c[4] for c in convs if c[4] is not None]
        )

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        new_state = []
        h = x
        for convs, ds, act in self.layers:
            inp = h
            for wname, bname, d, slot, ln, conv_act in convs:
                if slot is None:
                    window = h[:, :, None]
                else:
                    window = torch.cat([state[slot], h[:, :, None]], dim=2)
                    new_state.append(window[:, :, 1:])
                h = F.conv1d(window, getattr(self, wname), getattr(self, bname), dilation=d)[:, :, 0]
                if ln is not None:  # over the channels of this one step
                    h = F.layer_norm(h, ln.normalized_shape, ln.weight, ln.bias, ln.eps)
                h = conv_act(h)
            skip = inp if ds is None else F.linear(inp, getattr(self, ds[0]), getattr(self, ds[1]))
            h = act(h + skip)
        return (h, *new_state)


class StepModule(nn.Module):
    """One streaming step of a model as a pure function: ``(x_t, *state) -> (y_t, *new_state)``.

    Args:
        model: a :class:`~seqbench.nn.SequenceModel` (head ``per_step``/``lm``/``last``), a
            causal :class:`~seqbench.nn.TCN`, or a unidirectional :class:`~seqbench.nn.Recurrent`
            (a Transformer's growing key/value cache has no fixed-shape step). Eval-mode
            numerics; the weights are copied (folded) at construction.

    Shape:
        - x_t: :math:`(B, F)` floats, or :math:`(B,)` int64 token ids
        - state: the tensors of :meth:`initial_state`
        - y_t: :math:`(B, \\text{out})`
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                self._build(model)
        finally:
            model.train(was_training)

    def _build(self, model) -> None:
        seq = model if isinstance(model, SequenceModel) else None
        encoder = seq.encoder if seq is not None else model
        if seq is not None and seq.head == "mean":
            raise ValueError("head 'mean' pools over the whole sequence and cannot stream")
        if isinstance(encoder, Transformer):
            # its key/value cache grows by one entry per step: no fixed-shape state tensors
            raise ValueError(
                "cannot export a step of a Transformer: its streaming state (a key/value cache) grows every step, "
                "which a step graph with fixed state shapes cannot hold; export the full model with export_onnx, "
                "or stream it eagerly with model.step"
            )
        if isinstance(encoder, Recurrent) and encoder.bidirectional:
            raise ValueError(
                f"cannot export a step of a bidirectional {encoder.kind}: it reads each sequence backwards from its "
                "end, so it has no step; export the full model with export_onnx"
            )
        if isinstance(encoder, TCN):
            self.kind = "tcn"
            self.core = _TCNShiftStep(encoder)
        elif isinstance(encoder, Recurrent):
            self.kind = encoder.kind
            self.core = copy.deepcopy(encoder.rnn)
            self.rnn_shape = (encoder.rnn.num_layers, encoder.hidden_size)
        else:
            raise ValueError(f"cannot export a step of {type(encoder).__name__}: expected a TCN or Recurrent encoder")
        self.adapter = nn.Identity()
        self.decoder = nn.Identity()
        self.tokens = False
        if seq is not None:
            self.tokens = seq.input_adapter == "embedding"
            self.adapter = copy.deepcopy(seq.adapter)
            self.decoder = copy.deepcopy(seq.decoder)
        self.input_size = seq.input_size if seq is not None else encoder.input_size
        self.eval()

    def state_shapes(self, batch_size: int) -> list[tuple[int, ...]]:
        """Shapes of the state tensors, in order."""
        if self.kind == "tcn":
            return [(batch_size, c, n) for c, n in self.core.state_shapes]
        layers, hidden = self.rnn_shape
        return [(layers, batch_size, hidden)] * (2 if self.kind == "lstm" else 1)

    def initial_state(self, batch_size: int, dtype=torch.float32) -> list[torch.Tensor]:
        """Zero state tensors (the left padding of the full forward) for ``batch_size`` sequences."""
        return [torch.zeros(s, dtype=dtype) for s in self.state_shapes(batch_size)]

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        h = self.adapter(x)
        if self.kind == "tcn":
            h, *state = self.core(h, *state)
        elif self.kind == "lstm":
            out, (hn, cn) = self.core(h[:, None], (state[0], state[1]))
            h, state = out[:, 0], [hn, cn]
        else:
            out, hn = self.core(h[:, None], state[0])
            h, state = out[:, 0], [hn]
        return (self.decoder(h), *state)


def _write(program, path) -> Path:
    """Save an ONNXProgram atomically (temp file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        program.save(str(tmp), external_data=False)
    return path


def export_step_onnx(model: nn.Module, path, batch_size: int = 1) -> Path:
    """Export the single step of ``model`` to an ONNX file at ``path`` (batch size dynamic).

    Inputs are ``x`` then ``state_0, state_1, ...``; outputs ``y`` then ``new_state_0, ...``.
    The initial state is zeros of :meth:`StepModule.state_shapes`. See ``docs/streaming.md``
    for running it in a loop with onnxruntime.
    """
    step = StepModule(model)
    batch = max(int(batch_size), 2)  # a size-1 example would be specialised as a constant
    x = torch.zeros(batch, dtype=torch.long) if step.tokens else torch.zeros(batch, step.input_size)
    state = step.initial_state(batch)
    n = len(state)
    b = torch.export.Dim("batch", min=1)
    batch_dim = 0 if step.kind == "tcn" else 1
    dynamic = ({0: b}, tuple({batch_dim: b} for _ in range(n)))  # forward(x, *state)
    program = torch.onnx.export(
        step, (x, *state), dynamo=True, dynamic_shapes=dynamic,
        input_names=["x"] + [f"state_{i}" for i in range(n)],
        output_names=["y"] + [f"new_state_{i}" for i in range(n)], verbose=False,
    )
    return _write(program, path)


def export_onnx(model: nn.Module, path, example: torch.Tensor) -> Path:
    """Export the full model (``forward(x)``, eval mode) to ONNX with dynamic batch and time.

    (A recurrent model keeps the example's length: torch's exporter unrolls it. A
    Transformer with learned positions takes at most ``max_len`` steps.)

    Args:
        model: any seqbench model.
        path: the ``.onnx`` file to write.
        example: an input of the model's shape (batch >= 2 and time >= 2, so neither is
            specialised as a constant).
    """
    if example.dim() < 2 or example.shape[0] < 2 or example.shape[1] < 2:
        raise ValueError(f"example must have batch >= 2 and time >= 2 (they become dynamic), got {tuple(example.shape)}")
    was_training = model.training
    model.eval()
    try:
        encoder = getattr(model, "encoder", model)
        dims = {0: torch.export.Dim("batch", min=1)}
        if not isinstance(encoder, Recurrent):
            # torch's exporter unrolls nn.LSTM/GRU/RNN to the example's length: time stays fixed there
            dims[1] = torch.export.Dim("time", min=1)
        program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=(dims,),
                                    input_names=["x"], output_names=["y"], verbose=False)
    finally:
        model.train(was_training)
    return _write(program, path)
