"""Functional form of the padded dilated convolution used by every TCN layer.

Numerics are those of a plain ``F.conv1d`` over the input padded with ``left`` zeros on
the past side and ``right`` zeros on the future side (``right == 0`` for causal layers):
output length equals input length, and no output is computed only to be thrown away
(the reference implementation pads both sides and then "chomps" the extra outputs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def padded_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    dilation: int,
    left: int,
    right: int = 0,
) -> torch.Tensor:
    """Convolve channel-first ``x`` (batch, channels, time) with zero padding ``(left, right)``.

    Shape:
        - x: (B, C_in, T)
        - weight: (C_out, C_in, k) with (k - 1) * dilation == left + right
        - output: (B, C_out, T)
    """
    if left or right:
        x = F.pad(x, (left, right))
    return F.conv1d(x, weight, bias, dilation=dilation)


def reference_conv1d(x, weight, bias, dilation: int, left: int, right: int = 0) -> torch.Tensor:
    """The plain formulation, kept separate so tests can hold any faster path to it."""
    return F.conv1d(F.pad(x, (left, right)), weight, bias, dilation=dilation)
