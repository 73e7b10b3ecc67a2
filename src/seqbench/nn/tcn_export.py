"""A causal :class:`~seqbench.nn.TCN`'s step as a graph runtime runs it best (ONNX export).

Each convolution with kernel size ``k > 1`` has one state tensor ``(B, C_in, (k-1)*d)``
holding its last ``(k-1)*d`` inputs, oldest first; the step convolves ``[state, x_t]`` once
and drops the oldest column. (The eager :meth:`~seqbench.nn.TCN.step` uses ring buffers
instead, which need an integer position and in-place writes; a shift is what a graph runtime
executes best, and its copy is a single memcpy per convolution.) Weight norm and eval-mode
batch norm are folded into constant weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .folding import folded_conv
from .tcn_streaming import check_streamable

__all__ = ["TCNShiftStep"]


class TCNShiftStep(nn.Module):
    """A TCN step over shift buffers, with folded weights held as buffers (constants).

    ``forward(x, *state)`` returns ``(y, *new_state)``; state tensor ``i`` is ``(B, C_in, (k-1)*d)``
    of :meth:`state_shapes`, the last inputs of convolution ``i``, oldest first.
    """

    batch_dim = 0  # of every state tensor

    def __init__(self, tcn) -> None:
        super().__init__()
        check_streamable(tcn)
        self.layers: list[tuple] = []  # per block: (conv1, conv2, downsample, act)
        self.conv_states: list[tuple[int, int]] = []  # per convolution with a history: (C_in, (k-1)*d)
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
                    self.conv_states.append((cin, (k - 1) * d))
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

    def state_shapes(self, batch_size: int) -> list[tuple[int, ...]]:
        """Shapes of the state tensors, in order."""
        return [(batch_size, c, n) for c, n in self.conv_states]
