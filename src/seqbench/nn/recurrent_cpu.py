"""GRU and Elman-RNN layers with a whole-sequence backward pass, for training on CPU.

The mathematics are exactly those of ``torch.nn.GRU`` and ``torch.nn.RNN`` (same gates,
same parameters, results equal to float rounding); only the backward pass is organised
differently. On CPU, torch has a fused kernel for the LSTM (oneDNN) but runs the GRU and
the vanilla RNN as one small autograd graph per time step, and most of their training
time goes to the per-step gradient of the recurrent weight: one outer-product matrix
product per step, accumulated into a weight-sized buffer. Here the backward loop only
carries the hidden-state gradient from step to step (one matrix-vector product per
step, the true sequential part) and stores the gate gradients; the weight and bias
gradients are then one matrix product over all steps at once. At one sequence per batch
(the music tasks) that is 1.8-2.6x faster per training step; see
``benchmarks/recurrent_backward.py``.

:func:`forward` runs a whole ``nn.GRU`` / ``nn.RNN`` module this way; :func:`applies`
says when it can (CPU, training, unidirectional, with biases).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


class _GRUSequence(torch.autograd.Function):
    """One GRU layer over a sequence, from its precomputed input projections.

    ``gi`` is ``x @ w_ih.T + b_ih`` for every step, time-major (T, B, 3H), gates in
    torch's order (reset, update, new); ``h0`` is (B, H). Returns the hidden state at
    every step, (T, B, H).
    """

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh):
        steps, batch, three_h = gi.shape
        h = three_h // 3
        hs = gi.new_empty(steps + 1, batch, h)  # hs[t] is the state before step t
        hs[0] = h0
        rz = gi.new_empty(steps, batch, 2 * h)
        n = gi.new_empty(steps, batch, h)
        gh_n = gi.new_empty(steps, batch, h)  # w_hn @ h + b_hn, which the reset gate scales
        w_t = w_hh.t()
        for t in range(steps):
            gh = torch.addmm(b_hh, hs[t], w_t)
            torch.sigmoid(gi[t, :, : 2 * h] + gh[:, : 2 * h], out=rz[t])
            gh_n[t] = gh[:, 2 * h :]
            torch.tanh(torch.addcmul(gi[t, :, 2 * h :], rz[t, :, :h], gh_n[t]), out=n[t])
            torch.lerp(n[t], hs[t], rz[t, :, h:], out=hs[t + 1])  # (1 - z) * n + z * h
        ctx.save_for_backward(hs, rz, n, gh_n, w_hh)
        return hs[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        hs, rz, n, gh_n, w_hh = ctx.saved_tensors
        steps, batch, h = n.shape
        grad_out = grad_out.contiguous()
        r, z, h_prev = rz[..., :h], rz[..., h:], hs[:-1]
        # The per-step factors that do not depend on the incoming gradient, for all steps at once.
        d_n = (1 - z) * (1 - n * n)  # d h_t / d (pre-activation of n)
        d_z = (h_prev - n) * z * (1 - z)  # d h_t / d (pre-activation of z)
        d_r = gh_n * r * (1 - r)  # d (pre-activation of n) / d (pre-activation of r)
        grad_gh = grad_out.new_empty(steps, batch, 3 * h)  # gradient of w_hh @ h + b_hh
        grad_n = grad_out.new_empty(steps, batch, h)
        grad_h = torch.zeros_like(grad_out[0])
        for t in range(steps - 1, -1, -1):
            grad_h = grad_h + grad_out[t]
            torch.mul(grad_h, d_n[t], out=grad_n[t])
            torch.mul(grad_n[t], d_r[t], out=grad_gh[t, :, :h])
            torch.mul(grad_h, d_z[t], out=grad_gh[t, :, h : 2 * h])
            torch.mul(grad_n[t], r[t], out=grad_gh[t, :, 2 * h :])
            grad_h = torch.addmm(grad_h * z[t], grad_gh[t], w_hh)
        grad_gi = grad_gh.clone()
        grad_gi[..., 2 * h :] = grad_n  # the input's n-gate term is not scaled by r
        flat = grad_gh.reshape(steps * batch, 3 * h)
        grad_w = flat.t() @ h_prev.reshape(steps * batch, h)
        return grad_gi, grad_h, grad_w, flat.sum(0)


class _RNNSequence(torch.autograd.Function):
    """One Elman-RNN layer over a sequence, from its precomputed input projections.

    ``gi`` is ``x @ w_ih.T + b_ih`` for every step, time-major (T, B, H); ``h0`` is (B, H).
    Returns the hidden state at every step, (T, B, H).
    """

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, relu: bool):
        steps, batch, h = gi.shape
        hs = gi.new_empty(steps + 1, batch, h)
        hs[0] = h0
        w_t = w_hh.t()
        gi = gi + b_hh  # both biases sit outside the nonlinearity: add this one once, not per step
        for t in range(steps):
            pre = torch.addmm(gi[t], hs[t], w_t)
            if relu:
                torch.clamp(pre, min=0, out=hs[t + 1])
            else:
                torch.tanh(pre, out=hs[t + 1])
        ctx.relu = relu
        ctx.save_for_backward(hs, w_hh)
        return hs[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        hs, w_hh = ctx.saved_tensors
        steps, batch, h = grad_out.shape
        grad_out = grad_out.contiguous()
        out = hs[1:]
        slope = (out > 0).to(out.dtype) if ctx.relu else 1 - out * out
        grad_pre = torch.empty_like(grad_out)  # gradient of the pre-activation at every step
        grad_h = torch.zeros_like(grad_out[0])
        for t in range(steps - 1, -1, -1):
            torch.mul(grad_h + grad_out[t], slope[t], out=grad_pre[t])
            grad_h = grad_pre[t] @ w_hh
        flat = grad_pre.reshape(steps * batch, h)
        grad_w = flat.t() @ hs[:-1].reshape(steps * batch, h)
        return grad_pre, grad_h, grad_w, flat.sum(0), None


def applies(rnn: nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`forward` can train ``rnn`` on ``x``: a CPU ``nn.GRU`` or ``nn.RNN``
    with biases, unidirectional, in a pass that records gradients (inference keeps
    torch's own forward, which needs no saved state)."""
    return (
        type(rnn) in (nn.GRU, nn.RNN)
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and rnn.bias
        and not rnn.bidirectional
        and rnn.weight_hh_l0.dtype == x.dtype
        and torch.is_grad_enabled()
        and (x.requires_grad or rnn.weight_hh_l0.requires_grad)
        and not torch.jit.is_tracing()
        and not torch.compiler.is_compiling()
    )


def forward(rnn: nn.GRU | nn.RNN, x: torch.Tensor, h0: torch.Tensor | None = None):
    r"""``rnn(x, h0)`` for a batch-first CPU ``nn.GRU`` / ``nn.RNN``, with the whole-sequence backward.

    Args:
        rnn: the module whose parameters (and ``dropout`` between layers, in training) are used.
        x: the input sequence.
        h0: initial hidden state; zeros when ``None``.

    Shape:
        - x: :math:`(B, T, \text{input\_size})` (``rnn.batch_first`` must be true)
        - h0: :math:`(\text{num\_layers}, B, \text{hidden\_size})`
        - Output: ``(out, h_n)``, :math:`(B, T, \text{hidden\_size})` and
          :math:`(\text{num\_layers}, B, \text{hidden\_size})`, as ``rnn(x, h0)``.
    """
    if not rnn.batch_first:
        raise ValueError("recurrent_cpu.forward expects a batch_first module")
    if not applies(rnn, x):
        raise ValueError("recurrent_cpu.forward: this module or input needs torch's own forward (see applies())")
    if h0 is None:
        h0 = x.new_zeros(rnn.num_layers, x.size(0), rnn.hidden_size)
    is_gru = isinstance(rnn, nn.GRU)
    relu = not is_gru and rnn.nonlinearity == "relu"
    layer_in = x.transpose(0, 1)  # time-major, as torch's own kernel runs
    last = []
    for layer in range(rnn.num_layers):
        w_ih, w_hh, b_ih, b_hh = (getattr(rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        if layer > 0 and rnn.dropout > 0 and rnn.training:
            layer_in = F.dropout(layer_in, rnn.dropout, training=True)
        gi = F.linear(layer_in, w_ih, b_ih).contiguous()  # every step's input projection in one product
        if is_gru:
            layer_in = _GRUSequence.apply(gi, h0[layer], w_hh, b_hh)
        else:
            layer_in = _RNNSequence.apply(gi, h0[layer], w_hh, b_hh, relu)
        last.append(layer_in[-1])
    return layer_in.transpose(0, 1), torch.stack(last)
