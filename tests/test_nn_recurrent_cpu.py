"""The whole-sequence CPU backward of the GRU and RNN computes what torch's layers compute."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqbench.nn import Recurrent, recurrent_cpu


def _torch_module(kind, input_size, hidden, layers, nonlinearity="tanh", dropout=0.0):
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    cls = nn.GRU if kind == "gru" else nn.RNN
    return cls(input_size, hidden, layers, batch_first=True, dropout=dropout, **extra).double()


def _outputs_and_grads(fn, rnn, x, h0, weight):
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    out, h_n = fn(x, h0)
    loss = (out * weight).sum() + h_n.pow(2).sum()
    grads = torch.autograd.grad(loss, [x, h0, *rnn.parameters()])
    return out.detach(), h_n.detach(), grads


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["gru", "rnn-tanh", "rnn-relu"]),
    batch=st.integers(1, 3),
    steps=st.integers(1, 9),
    input_size=st.integers(1, 4),
    hidden=st.integers(1, 6),
    layers=st.integers(1, 3),
)
def test_matches_torch_outputs_and_every_gradient(kind, batch, steps, input_size, hidden, layers):
    kind, _, nonlinearity = kind.partition("-")
    torch.manual_seed(batch * 100 + steps * 10 + hidden)
    rnn = _torch_module(kind, input_size, hidden, layers, nonlinearity or "tanh")
    x = torch.randn(batch, steps, input_size, dtype=torch.double)
    h0 = torch.randn(layers, batch, hidden, dtype=torch.double)
    weight = torch.randn(batch, steps, hidden, dtype=torch.double)
    expected = _outputs_and_grads(rnn, rnn, x, h0, weight)
    got = _outputs_and_grads(lambda a, b: recurrent_cpu.forward(rnn, a, b), rnn, x, h0, weight)
    torch.testing.assert_close(got[0], expected[0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[1], expected[1], rtol=1e-10, atol=1e-12)
    names = ["x", "h0", *(n for n, _ in rnn.named_parameters())]
    for name, g, e in zip(names, got[2], expected[2]):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-11, msg=lambda m, name=name: f"grad of {name}: {m}")


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_gradcheck_of_the_sequence_functions(kind):
    # Independent of torch's layers: finite differences of the function itself.
    torch.manual_seed(0)
    h = 3
    gates = 3 * h if kind == "gru" else h
    gi = torch.randn(5, 2, gates, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, h, dtype=torch.double, requires_grad=True)
    w = torch.randn(gates, h, dtype=torch.double, requires_grad=True)
    b = torch.randn(gates, dtype=torch.double, requires_grad=True)
    if kind == "gru":
        assert torch.autograd.gradcheck(recurrent_cpu._GRUSequence.apply, (gi, h0, w, b))
    else:
        assert torch.autograd.gradcheck(lambda *a: recurrent_cpu._RNNSequence.apply(*a, False), (gi, h0, w, b))


def test_dropout_between_layers_draws_what_torch_draws():
    rnn = _torch_module("gru", 3, 5, 3, dropout=0.5).train()
    x = torch.randn(2, 7, 3, dtype=torch.double)
    torch.manual_seed(1)
    expected, _ = rnn(x)
    torch.manual_seed(1)
    got, _ = recurrent_cpu.forward(rnn, x.requires_grad_())
    torch.testing.assert_close(got, expected)
    torch.manual_seed(2)
    assert not torch.allclose(recurrent_cpu.forward(rnn, x)[0], expected)  # dropout is on


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_recurrent_trains_through_it_and_infers_through_torch(kind, monkeypatch):
    calls = []
    real = recurrent_cpu.forward
    monkeypatch.setattr(recurrent_cpu, "forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.manual_seed(0)
    model = Recurrent(kind, 3, 8)
    x = torch.randn(4, 10, 3)
    out = model(x)
    assert calls == [1] and out.shape == (4, 10, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), out.detach(), rtol=1e-5, atol=1e-6)
    assert calls == [1]  # inference: torch's own forward
    plain = Recurrent(kind, 3, 8, cpu_sequence_backward=False)
    plain.load_state_dict(model.state_dict())
    plain(x)
    assert calls == [1]
    # float32 training step: the same gradients as torch's backward, to float rounding
    model(x).square().mean().backward()
    plain(x).square().mean().backward()
    for (name, a), b in zip(model.named_parameters(), plain.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")


def test_lstm_and_unsupported_modules_keep_torch():
    x = torch.randn(2, 5, 3)
    assert not recurrent_cpu.applies(nn.LSTM(3, 4, batch_first=True), x)
    assert not recurrent_cpu.applies(nn.GRU(3, 4, batch_first=True, bidirectional=True), x)
    assert not recurrent_cpu.applies(nn.GRU(3, 4, batch_first=True, bias=False), x)
    assert recurrent_cpu.applies(nn.GRU(3, 4, batch_first=True), x)
    with pytest.raises(ValueError, match="batch_first"):
        recurrent_cpu.forward(nn.GRU(3, 4), x)
    with torch.no_grad(), pytest.raises(ValueError, match="applies"):
        recurrent_cpu.forward(nn.GRU(3, 4, batch_first=True), x)
