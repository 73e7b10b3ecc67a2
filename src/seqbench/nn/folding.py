"""A TCN convolution as streaming and export run it: weight norm and an eval-mode batch norm
folded into one ``(C_out, k * C_in)`` weight and a bias, once, instead of at every step."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["activation_fn", "folded_conv"]


def activation_fn(module: nn.Module):
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


def folded_conv(conv: nn.Conv1d, norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
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
