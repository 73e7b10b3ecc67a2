"""The fast padded convolution computes what the plain F.conv1d formulation computes.

``padded_conv1d`` routes each pass (forward, grad-input, grad-weight) to a different
oneDNN formulation for speed; every test here holds its outputs AND gradients to
``reference_conv1d`` (F.conv1d over the explicitly padded input).
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench.nn import TCN, CausalConv1d
from seqbench.nn import conv as conv_module
from seqbench.nn import functional
from seqbench.nn.functional import padded_conv1d, reference_conv1d


@pytest.fixture(autouse=True)
def _always_fast_path(monkeypatch):
    # the tiny shapes here would otherwise take the plain small-work path and test nothing
    monkeypatch.setattr(functional, "SMALL_WORK_STEPS", 0)


def test_small_work_takes_plain_path(monkeypatch):
    monkeypatch.setattr(functional, "SMALL_WORK_STEPS", 1024)
    x = torch.randn(1, 4, 100, requires_grad=True)
    y = padded_conv1d(x, torch.randn(4, 4, 3, requires_grad=True), None, 1, 2)
    assert "PaddedConv1d" not in type(y.grad_fn).__name__
    monkeypatch.setattr(functional, "SMALL_WORK_STEPS", 0)
    y = padded_conv1d(x, torch.randn(4, 4, 3, requires_grad=True), None, 1, 2)
    assert "PaddedConv1d" in type(y.grad_fn).__name__


@pytest.mark.parametrize("d", [1, 2, 5])
def test_small_work_path_matches_reference(monkeypatch, d):
    # the small path adds a dilated layer's bias itself (ATen's CPU kernel loops per channel)
    monkeypatch.setattr(functional, "SMALL_WORK_STEPS", 1024)
    torch.manual_seed(d)
    x, w, b = torch.randn(1, 7, 50), torch.randn(9, 7, 3), torch.randn(9)
    _assert_same(x, w, b, d, 2 * d, 0)
    _assert_same(x, w, None, d, 2 * d, 0)


def _pads(k, d, causal):
    total = (k - 1) * d
    return (total, 0) if causal else (total // 2, total - total // 2)


def _run(fn, x, w, b, d, left, right, grad_out):
    x, w = x.clone().requires_grad_(), w.clone().requires_grad_()
    b = None if b is None else b.clone().requires_grad_()
    y = fn(x, w, b, d, left, right)
    inputs = [x, w] + ([b] if b is not None else [])
    return [y.detach()] + list(torch.autograd.grad(y, inputs, grad_out))


def _assert_same(x, w, b, d, left, right, atol=1e-5):
    t = x.size(-1)
    grad_out = torch.randn(x.size(0), w.size(0), t, dtype=x.dtype)
    fast = _run(padded_conv1d, x, w, b, d, left, right, grad_out)
    ref = _run(reference_conv1d, x, w, b, d, left, right, grad_out)
    for name, a, r in zip(["output", "grad x", "grad weight", "grad bias"], fast, ref):
        assert a.shape == r.shape, name
        torch.testing.assert_close(a, r, rtol=1e-5, atol=atol, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("k,d", [(1, 1), (1, 4), (2, 1), (3, 2), (4, 3), (7, 8), (8, 16), (3, 64)])
def test_matches_reference(k, d, causal):
    torch.manual_seed(k * 100 + d)
    x, w, b = torch.randn(3, 5, 40), torch.randn(6, 5, k), torch.randn(6)
    _assert_same(x, w, b, d, *_pads(k, d, causal))


@given(
    batch=st.integers(1, 3), cin=st.integers(1, 6), cout=st.integers(1, 6), t=st.integers(1, 30),
    k=st.integers(1, 5), d=st.integers(1, 9), causal=st.booleans(), bias=st.booleans(), seed=st.integers(0, 2**16),
    batch_first_memory=st.booleans(),
)
def test_matches_reference_property(batch, cin, cout, t, k, d, causal, bias, seed, batch_first_memory):
    # receptive fields larger than the sequence included: the padding then covers it all;
    # batch-first memory (channels innermost) takes the channels_last conv2d route
    g = torch.Generator().manual_seed(seed)
    if batch_first_memory:
        x = torch.randn(batch, t, cin, generator=g).transpose(1, 2)
    else:
        x = torch.randn(batch, cin, t, generator=g)
    w = torch.randn(cout, cin, k, generator=g)
    b = torch.randn(cout, generator=g) if bias else None
    _assert_same(x, w, b, d, *_pads(k, d, causal))


@pytest.mark.parametrize("causal", [True, False])
def test_float64_gradcheck(causal):
    torch.manual_seed(0)
    left, right = _pads(3, 2, causal)
    x = torch.randn(1, 2, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: padded_conv1d(*a, 2, left, right), (x, w, b))
    # the backward is built from differentiable ops, so second derivatives work too
    assert torch.autograd.gradgradcheck(lambda *a: padded_conv1d(*a, 2, left, right), (x, w, b))


def test_partial_requires_grad_and_no_grad():
    torch.manual_seed(1)
    x, w, b = torch.randn(2, 3, 20), torch.randn(4, 3, 4), torch.randn(4)
    # only the weight needs a gradient (the first layer of a network sees plain data)
    wf, wr = w.clone().requires_grad_(), w.clone().requires_grad_()
    (gf,) = torch.autograd.grad(padded_conv1d(x, wf, b, 2, 6).sum(), wf)
    (gr,) = torch.autograd.grad(reference_conv1d(x, wr, b, 2, 6).sum(), wr)
    torch.testing.assert_close(gf, gr)
    # only the input needs one
    xf = x.clone().requires_grad_()
    xr = x.clone().requires_grad_()
    (gxf,) = torch.autograd.grad(padded_conv1d(xf, w, b, 2, 6).sum(), xf)
    (gxr,) = torch.autograd.grad(reference_conv1d(xr, w, b, 2, 6).sum(), xr)
    torch.testing.assert_close(gxf, gxr)
    with torch.no_grad():
        torch.testing.assert_close(padded_conv1d(x, w, b, 2, 6), reference_conv1d(x, w, b, 2, 6))


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("k,d", [(1, 1), (3, 4), (8, 16)])
def test_batch_first_memory_input(k, d, causal):
    torch.manual_seed(2)
    x = torch.randn(2, 30, 5).transpose(1, 2)  # (B, C, T) view of a batch-first tensor, as the TCN passes it
    w, b = torch.randn(4, 5, k), torch.randn(4)
    _assert_same(x, w, b, d, *_pads(k, d, causal))
    x64 = x.double().transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    w64, b64 = w.double().requires_grad_(), b.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: padded_conv1d(*a, d, *_pads(k, d, causal)), (x64[:1, :, :12], w64, b64))


def test_weight_normed_layer_matches_plain_conv():
    torch.manual_seed(3)
    conv = torch.nn.utils.parametrizations.weight_norm(CausalConv1d(3, 4, 3, dilation=2), dim=0)
    assert {"parametrizations.weight.original0", "parametrizations.weight.original1", "bias"} == set(conv.state_dict())
    x = torch.randn(2, 3, 16, requires_grad=True)
    y = conv(x)
    w = conv.weight.detach()
    torch.testing.assert_close(y, reference_conv1d(x, w, conv.bias, 2, 4, 0))
    y.square().sum().backward()
    v = conv.parametrizations.weight.original1
    assert v.grad is not None and x.grad is not None and v.grad.abs().sum() > 0


def test_whole_tcn_gradients_match_plain_formulation(monkeypatch):
    torch.manual_seed(4)
    for causal in (True, False):
        fast = TCN(3, [6, 6, 4], kernel_size=3, causal=causal)
        plain = TCN(3, [6, 6, 4], kernel_size=3, causal=causal)
        plain.load_state_dict(fast.state_dict())
        x = torch.randn(2, 25, 3)
        grads = []
        for model, patched in ((fast, False), (plain, True)):
            with monkeypatch.context() as m:
                if patched:
                    m.setattr(conv_module, "padded_conv1d", reference_conv1d)
                xi = x.clone().requires_grad_()
                out = model(xi)
                out.pow(2).sum().backward()
            grads.append([out.detach(), xi.grad] + [p.grad for p in model.parameters()])
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@given(k=st.integers(1, 6), length=st.integers(1, 40), stride=st.integers(1, 5), data=st.data(),
       nwc=st.booleans(), bias=st.booleans())
def test_strided_causal_conv_matches_reference(k, length, stride, data, nwc, bias):
    start = data.draw(st.integers(0, length - 1))
    cin, cout = 3, 4
    x = torch.randn(2, length, cin, dtype=torch.double).transpose(1, 2) if nwc else \
        torch.randn(2, cin, length, dtype=torch.double)
    w = torch.randn(cout, cin, k, dtype=torch.double)
    b = torch.randn(cout, dtype=torch.double) if bias else None
    expected = reference_conv1d(x, w, b, 1, k - 1)[..., start::stride]
    grad_out = torch.randn_like(expected)
    fast = _run(lambda x_, w_, b_, *_: functional.strided_causal_conv1d(x_, w_, b_, stride, start),
                x, w, b, 1, k - 1, 0, grad_out)
    ref = _run(lambda x_, w_, b_, *_: reference_conv1d(x_, w_, b_, 1, k - 1)[..., start::stride],
               x, w, b, 1, k - 1, 0, grad_out)
    for name, a, r in zip(["output", "grad x", "grad weight", "grad bias"], fast, ref):
        torch.testing.assert_close(a, r, rtol=1e-10, atol=1e-12, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("stride,start", [(1, 0), (2, 1), (3, 0), (5, 4)])
def test_strided_causal_conv_double_backward(stride, start):
    x = torch.randn(2, 5, 3, dtype=torch.double).transpose(1, 2).requires_grad_()  # channels innermost
    w = torch.randn(4, 3, 3, dtype=torch.double, requires_grad=True)
    b = torch.randn(4, dtype=torch.double, requires_grad=True)
    fn = lambda x_, w_, b_: functional.strided_causal_conv1d(x_, w_, b_, stride, start)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))
