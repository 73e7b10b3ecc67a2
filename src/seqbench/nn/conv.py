"""Dilated 1-D convolution with past-side ("causal") or centred ("same") padding."""

from __future__ import annotations

import torch
from torch import nn

from . import checks
from .functional import padded_conv1d


class CausalConv1d(nn.Conv1d):
    r"""A dilated 1-D convolution whose output has the length of its input.

    With ``causal=True`` the input is padded with :math:`(k-1) \cdot d` zeros on the past
    side only, so the output at step ``t`` depends on inputs ``t, t-d, ..., t-(k-1)d``.
    With ``causal=False`` the same number of zeros is split between both sides ("same"
    padding), for tasks that see the whole sequence at once.

    It is an ``nn.Conv1d`` (same parameters, same initialisation, works with
    ``torch.nn.utils.parametrizations.weight_norm``) that computes no output only to
    discard it.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: taps of the filter, ``k >= 1``.
        dilation: spacing between taps, ``d >= 1``.
        causal: pad the past side only (default) or both sides.
        bias: learn an additive bias.

    Shape:
        - Input: :math:`(B, C_{in}, T)` (channel-first, as ``nn.Conv1d``)
        - Output: :math:`(B, C_{out}, T)`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        dilation: int = 1,
        causal: bool = True,
        bias: bool = True,
    ) -> None:
        checks.positive_int("in_channels", in_channels)
        checks.positive_int("out_channels", out_channels)
        checks.positive_int("kernel_size", kernel_size)
        checks.positive_int("dilation", dilation)
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, padding=0, bias=bias)
        self.causal = bool(causal)
        total = (kernel_size - 1) * dilation
        #: zeros added on the past side and the future side of the time axis
        self.left_pad, self.right_pad = (total, 0) if causal else (total // 2, total - total // 2)

    @property
    def history(self) -> int:
        """Past steps this layer reads besides the current one: ``(k - 1) * dilation``."""
        return (self.kernel_size[0] - 1) * self.dilation[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return padded_conv1d(x, self.weight, self.bias, self.dilation[0], self.left_pad, self.right_pad)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", causal={self.causal}"
