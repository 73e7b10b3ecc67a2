"""Functional form of the padded dilated convolution used by every TCN layer.

Numerics are those of a plain ``F.conv1d`` over the input padded with ``left`` zeros on
the past side and ``right`` zeros on the future side (``right == 0`` for causal layers):
output length equals input length, and no output is computed only to be thrown away
(the reference implementation pads both sides and then "chomps" the extra outputs).

Why a custom autograd function: on CPU, oneDNN picks its convolution kernel from the
shapes and padding it is handed, and the same mathematical pass can run 1.1-2.5x faster
in one formulation than in another (measured on 2-core AVX2 machines, see
``docs/performance.md``). The fastest combination found is

- forward and grad-weight on the explicitly left-padded input (``padding=0``), and
- grad-input through the "padded both sides" formulation (``padding=P`` on both sides,
  the output gradient placed where the reference design's chomped outputs would be).

Each pass computes exactly the same sums as the plain formulation, only the kernel
differs, so results agree with :func:`reference_conv1d` to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_aten_conv_backward = torch.ops.aten.convolution_backward.default


def _zero_pad(x: torch.Tensor, left: int, right: int, nwc: bool = False) -> torch.Tensor:
    """``F.pad(x, (left, right))`` on the time axis of (B, C, T), writing every element once.

    ``F.pad`` fills the whole output with zeros and then copies the input over it; here
    only the margins are zeroed. With ``nwc`` the result is laid out time-major, channels
    innermost (the memory of a batch-first (B, T, C) tensor), seen as (B, C, T).
    """
    b, c, t = x.shape
    out = x.new_empty(b, left + t + right, c).transpose(1, 2) if nwc else x.new_empty(b, c, left + t + right)
    out[..., :left].zero_()
    out[..., left : left + t].copy_(x)
    out[..., left + t :].zero_()
    return out


def _is_nwc(x: torch.Tensor) -> bool:
    """True when (B, C, T) ``x`` has channels innermost in memory (a transposed batch-first tensor)."""
    return x.dim() == 3 and x.size(1) > 1 and x.stride(1) == 1 and x.stride(2) == x.size(1)


def _valid_conv(x_padded, weight, bias, dilation: int, nwc: bool) -> torch.Tensor:
    """The forward pass: an unpadded ("valid") convolution of the already padded input."""
    if nwc:
        w = weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        return F.conv2d(x_padded.unsqueeze(2), w, bias, dilation=(1, dilation)).squeeze(2)
    return F.conv1d(x_padded, weight, bias, dilation=dilation)


class _PaddedConv1d(torch.autograd.Function):
    """conv1d over ``pad(x, (left, right))`` with each pass routed to its fastest formulation.

    With ``nwc`` the tensors keep the batch-first memory layout and the passes run as
    ``conv2d`` over a height-1 ``channels_last`` image, where oneDNN has its fastest
    kernels for these shapes; otherwise they run as ``conv1d`` on channel-first memory.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, dilation: int, left: int, right: int, nwc: bool):
        x_padded = _zero_pad(x, left, right, nwc)
        ctx.save_for_backward(x, x_padded, weight)
        ctx.conv = (dilation, left, right, bias is not None, nwc)
        return _valid_conv(x_padded, weight, bias, dilation, nwc)

    @staticmethod
    def backward(ctx, grad_out):
        x, x_padded, weight = ctx.saved_tensors
        dilation, left, right, has_bias, nwc = ctx.conv
        if torch.is_grad_enabled():
            # double backward: rebuild the padded input so the graph reaches x
            x_padded = _zero_pad(x, left, right, nwc)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if nwc:
            grad_out = grad_out.transpose(1, 2).contiguous().transpose(1, 2)  # a no-op when already NWC
            w = weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            lift = lambda t: t.unsqueeze(2)  # noqa: E731  (B, C, T) -> (B, C, 1, T)
            stride, dil, no_pad, out_pad = [1, 1], [1, dilation], [0, 0], [0, 0]
        else:
            grad_out = grad_out.contiguous()
            w, lift = weight, (lambda t: t)
            stride, dil, no_pad, out_pad = [1], [dilation], [0], [0]
        grad_x = grad_w = grad_b = None
        if need_w or (need_b and has_bias):
            # grad-weight (and grad-bias) on the left-padded input, as in the forward pass
            _, grad_w, grad_b = _aten_conv_backward(
                lift(grad_out), lift(x_padded), w, [weight.size(0)] if has_bias else None,
                stride, no_pad, dil, False, out_pad, 1, [False, bool(need_w), bool(need_b and has_bias)],
            )
            if grad_w is not None:
                grad_w = grad_w.reshape(weight.shape)
        if need_x:
            # grad-input via the symmetric-padding formulation: pad P on both sides, so the
            # full output has T + 2P - (left + right) steps; ours start at offset P - left.
            pad = max(left, right)
            t = grad_out.size(-1)
            full = t + 2 * pad - (left + right)
            start = pad - left
            if full != t:
                grad_out = _zero_pad(grad_out, start, full - t - start, nwc)
            grad_x, _, _ = _aten_conv_backward(
                lift(grad_out), lift(x), w, None, stride, [0, pad] if nwc else [pad], dil, False, out_pad, 1,
                [True, False, False],
            )
            if nwc:
                grad_x = grad_x.squeeze(2)
        return grad_x, grad_w, grad_b, None, None, None, None


#: below this many (batch x time) steps a convolution takes the plain path
SMALL_WORK_STEPS = 1024


def padded_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    dilation: int,
    left: int,
    right: int = 0,
) -> torch.Tensor:
    """Convolve channel-first ``x`` (batch, channels, time) with zero padding ``(left, right)``.

    Same result as :func:`reference_conv1d`; when gradients are needed, the passes are
    routed as described in the module docstring.

    Args:
        x: input, channel-first.
        weight: filters ``(C_out, C_in, k)``.
        bias: ``(C_out,)`` or ``None``.
        dilation: spacing between taps.
        left, right: zeros added before the first and after the last step.

    Shape:
        - x: :math:`(B, C_{in}, T)`
        - weight: :math:`(C_{out}, C_{in}, k)` with :math:`(k - 1) d = \\text{left} + \\text{right}`
        - output: :math:`(B, C_{out}, T)`
    """
    if x.size(0) * x.size(-1) < SMALL_WORK_STEPS:
        # a tiny batch (JSB at batch 1, T=100) is all per-op overhead: the plain
        # formulation makes the fewest calls, and the routing below cannot pay for itself
        if dilation > 1 and bias is not None and x.device.type == "cpu":
            # ATen's CPU dilated kernel adds the bias one output channel at a time (a
            # select, fill and copy each: 300 calls at 150 channels); one broadcast add
            # halves the forward pass here
            return reference_conv1d(x.contiguous(), weight, None, dilation, left, right) + bias[:, None]
        return reference_conv1d(x.contiguous(), weight, bias, dilation, left, right)
    nwc = x.device.type == "cpu" and _is_nwc(x)
    if left == 0 and right == 0:
        # nothing to pad (k == 1): autograd's own passes, in the input's layout
        return _valid_conv(x, weight, bias, dilation, nwc)
    grad_needed = torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
    )
    if not grad_needed:
        return _valid_conv(_zero_pad(x, left, right, nwc), weight, bias, dilation, nwc)
    return _PaddedConv1d.apply(x, weight, bias, dilation, left, right, nwc)


class _StridedCausalConv1d(torch.autograd.Function):
    """:func:`strided_causal_conv1d` on channels-innermost memory, with its own backward.

    Autograd's backward through the padding and the slice would materialise a zero-filled
    gradient of the padded input and copy it twice; here grad-input and grad-weight come
    from one ``convolution_backward`` call and the input's gradient is a view of it.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride: int, start: int):
        k = weight.size(-1)
        padded = _zero_pad(x, k - 1, 0, nwc=True)[..., start:]
        w = weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        ctx.save_for_backward(x, weight, bias, padded)
        ctx.conv = (stride, start)
        return F.conv2d(padded.unsqueeze(2), w, bias, stride=(1, stride)).squeeze(2)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, bias, padded = ctx.saved_tensors
        stride, start = ctx.conv
        need = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():  # double backward: differentiate the plain formulation
            inputs = [t for t, n in zip((x, weight, bias), need) if n]
            with torch.enable_grad():
                y = _plain_strided_conv(x, weight, bias, stride, start)
            grads = iter(torch.autograd.grad(y, inputs, grad_out, create_graph=True))
            return tuple(next(grads) if n else None for n in need) + (None, None)
        k = weight.size(-1)
        grad_out = grad_out.transpose(1, 2).contiguous().transpose(1, 2)  # channels innermost, as the forward
        w = weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        grad_padded, grad_w, grad_b = _aten_conv_backward(
            grad_out.unsqueeze(2), padded.unsqueeze(2), w, [weight.size(0)] if bias is not None else None,
            [1, stride], [0, 0], [1, 1], False, [0, 0], 1, [need[0], need[1], bool(need[2] and bias is not None)],
        )
        grad_x = None
        if need[0]:
            grad_padded = grad_padded.squeeze(2)
            # padded step j is input step j + start - (k - 1); input steps before `start - (k - 1)`
            # were cut off by `start` and get no gradient
            skip = start - (k - 1)
            if skip <= 0:
                grad_x = grad_padded[..., -skip : -skip + x.size(-1)]
            else:
                grad_x = x.new_zeros(x.shape)
                grad_x[..., skip:] = grad_padded[..., : x.size(-1) - skip]
        return grad_x, None if grad_w is None else grad_w.reshape(weight.shape), grad_b, None, None


def _plain_strided_conv(x, weight, bias, stride: int, start: int) -> torch.Tensor:
    return F.conv1d(F.pad(x, (weight.size(-1) - 1, 0))[..., start:], weight, bias, stride=stride)


def strided_causal_conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int,
                          start: int) -> torch.Tensor:
    r"""Causal convolution at dilation 1 whose outputs are steps ``start, start + stride, ...``.

    The building block of :meth:`seqbench.nn.TCN.forward_last`: ``x`` is a level's input on
    its lattice of steps, and only every ``stride``-th output is read by the next level.
    Equals ``reference_conv1d(x, weight, bias, 1, k - 1)[..., start::stride]`` without
    computing the outputs in between. On the CPU, an input with channels innermost in
    memory (a strided view of a batch-first tensor, or a single channel) is padded into
    that layout and convolved as a height-1 ``channels_last`` image, oneDNN's faster
    kernel for it, so the output keeps the layout for the next level.

    Shape:
        - x: :math:`(B, C_{in}, L)`
        - weight: :math:`(C_{out}, C_{in}, k)`
        - output: :math:`(B, C_{out}, \lfloor (L - 1 - \text{start}) / \text{stride} \rfloor + 1)`
    """
    if x.device.type == "cpu" and x.dim() == 3 and (x.size(1) == 1 or x.stride(1) == 1):
        grad_needed = torch.is_grad_enabled() and (
            x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad))
        if grad_needed:
            return _StridedCausalConv1d.apply(x, weight, bias, stride, start)
        padded = _zero_pad(x, weight.size(-1) - 1, 0, nwc=True)[..., start:]
        w = weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        return F.conv2d(padded.unsqueeze(2), w, bias, stride=(1, stride)).squeeze(2)
    return _plain_strided_conv(x, weight, bias, stride, start)


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Elementwise dropout, as ``F.dropout``: each value zeroed with probability ``p``,
    the kept ones scaled by ``1 / (1 - p)``.

    On CPU the mask is drawn as ``rand >= p``: behind ``F.dropout``, PyTorch's CPU
    ``bernoulli_`` makes dropout 1.8x as slow, forward + backward, at a JSB activation of
    150 x 100 values (``benchmarks/small_ops.py``), about a tenth of a JSB training step.
    The same distribution from another random stream; on other devices ``F.dropout``'s
    fused kernel is used as is.
    """
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p == 1.0:
        return F.dropout(x, p, True)
    keep = (torch.rand_like(x) >= p).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x * keep


def reference_conv1d(x, weight, bias, dilation: int, left: int, right: int = 0) -> torch.Tensor:
    """The plain formulation, kept separate so tests can hold any faster path to it."""
    return F.conv1d(F.pad(x, (left, right)), weight, bias, dilation=dilation)
