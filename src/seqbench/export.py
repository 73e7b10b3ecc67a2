"""Export a model, and its single streaming step, to ONNX (or ``torch.export``).

The exported step is a pure function with the state as explicit tensors::

    y_t, *state = step(x_t, *state)

Each kind that can (``Encoder.CAN_EXPORT``) gives its step as such a function
(:meth:`~seqbench.nn.Encoder.export_step`): for a TCN one shift buffer per convolution with
its weights folded (:mod:`seqbench.nn.tcn_export`), for a recurrent model ``h`` (and ``c``),
as in torch.

Both exports use torch's dynamo-based ONNX exporter (``torch.onnx.export(dynamo=True)``,
which needs ``onnxscript``); the batch size (and, for the full model, the length) stay
dynamic.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from .files import atomic_path
from .nn import SequenceModel

__all__ = ["StepModule", "export_onnx", "export_step_onnx"]


class StepModule(nn.Module):
    """One streaming step of a model as a pure function: ``(x_t, *state) -> (y_t, *new_state)``.

    Args:
        model: a :class:`~seqbench.nn.SequenceModel` (head ``per_step``/``lm``/``last``) or an
            encoder, of a kind whose step exports (``CAN_EXPORT``: a causal TCN, a unidirectional
            recurrent model; a Transformer's growing key/value cache has no fixed-shape step).
            Eval-mode numerics; the weights are copied (folded) at construction.

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
        if not callable(getattr(encoder, "export_step", None)):
            raise ValueError(f"cannot export a step of {type(encoder).__name__}: expected an encoder of a "
                             "registered kind that can export its step (seqbench.nn.kinds())")
        self.core = encoder.export_step()
        self.adapter = nn.Identity()
        self.decoder = nn.Identity()
        self.tokens = False
        if seq is not None:
            self.tokens = seq.input_adapter == "embedding"
            self.adapter = copy.deepcopy(seq.adapter)
            self.decoder = copy.deepcopy(seq.decoder)
        self.input_size = seq.input_size if seq is not None else encoder.input_size
        self.eval()

    @property
    def batch_dim(self) -> int:
        """The batch dimension of every state tensor."""
        return self.core.batch_dim

    def state_shapes(self, batch_size: int) -> list[tuple[int, ...]]:
        """Shapes of the state tensors, in order."""
        return self.core.state_shapes(batch_size)

    def initial_state(self, batch_size: int, dtype=torch.float32) -> list[torch.Tensor]:
        """Zero state tensors (the left padding of the full forward) for ``batch_size`` sequences."""
        return [torch.zeros(s, dtype=dtype) for s in self.state_shapes(batch_size)]

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        h, *state = self.core(self.adapter(x), *state)
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
    dynamic = ({0: b}, tuple({step.batch_dim: b} for _ in range(n)))  # forward(x, *state)
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
        if not getattr(encoder, "EXPORT_FIXED_LENGTH", False):
            # torch's exporter unrolls nn.LSTM/GRU/RNN to the example's length: time stays fixed there
            dims[1] = torch.export.Dim("time", min=1)
        program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=(dims,),
                                    input_names=["x"], output_names=["y"], verbose=False)
    finally:
        model.train(was_training)
    return _write(program, path)
