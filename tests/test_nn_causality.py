"""Perturbing the future never moves the past: TCN and the three recurrent kinds."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench.nn import TCN, Recurrent, SequenceModel

tcn_configs = st.fixed_dictionaries(
    {
        "input_size": st.integers(1, 4),
        "channels": st.lists(st.integers(1, 6), min_size=1, max_size=4),
        "kernel_size": st.integers(1, 4),
        "norm": st.sampled_from(["weight", "batch", "layer", "none"]),
        "activation": st.sampled_from(["relu", "tanh", "gelu"]),
    }
)


def _check_causal(model, x, t):
    model.eval()
    with torch.no_grad():
        y = model(x)
        x2 = x.clone()
        x2[:, t + 1 :] = torch.randn_like(x2[:, t + 1 :]) * 10
        y2 = model(x2)
    assert torch.allclose(y[:, : t + 1], y2[:, : t + 1], atol=1e-6), (y[:, : t + 1] - y2[:, : t + 1]).abs().max()
    return y, y2


@given(cfg=tcn_configs, length=st.integers(2, 40), data=st.data())
def test_tcn_is_causal(cfg, length, data):
    t = data.draw(st.integers(0, length - 2))
    model = TCN(**cfg)
    _check_causal(model, torch.randn(2, length, cfg["input_size"]), t)


@given(
    kind=st.sampled_from(["lstm", "gru", "rnn"]),
    input_size=st.integers(1, 4),
    hidden=st.integers(1, 8),
    layers=st.integers(1, 3),
    length=st.integers(2, 30),
    data=st.data(),
)
def test_recurrent_is_causal(kind, input_size, hidden, layers, length, data):
    t = data.draw(st.integers(0, length - 2))
    model = Recurrent(kind, input_size, hidden, num_layers=layers)
    _check_causal(model, torch.randn(3, length, input_size), t)


def test_future_does_change_the_future():
    # guards the test above against a model that ignores its input
    model = TCN(2, [4, 4], kernel_size=3)
    y, y2 = _check_causal(model, torch.randn(2, 20, 2), 9)
    assert not torch.allclose(y[:, 10:], y2[:, 10:])


def test_non_causal_tcn_sees_the_future():
    model = TCN(2, [4, 4], kernel_size=3, causal=False).eval()
    x = torch.randn(1, 20, 2)
    x2 = x.clone()
    x2[:, 15:] += 1.0
    assert not torch.allclose(model(x)[:, :14], model(x2)[:, :14])


def test_right_padding_never_changes_valid_outputs():
    for encoder in (TCN(3, [5, 5], kernel_size=3), Recurrent("gru", 3, 5)):
        for head in ("per_step", "last", "mean"):
            model = SequenceModel(encoder, 2, head=head).eval()
            x = torch.randn(2, 12, 3)
            mask = torch.ones(2, 12, dtype=torch.bool)
            mask[0, 7:] = False
            padded = x.clone()
            padded[0, 7:] = 99.0
            y, yp = model(x, mask), model(padded, mask)
            if head == "per_step":
                assert torch.allclose(y[0, :7], yp[0, :7], atol=1e-6)
            else:
                assert torch.allclose(y, yp, atol=1e-6)
                # and the masked output is the output of the unpadded sequence
                assert torch.allclose(yp[0], model(x[:1, :7])[0], atol=1e-5)


def test_non_causal_tcn_with_mask_ignores_padding():
    model = SequenceModel(TCN(3, [4, 4], kernel_size=3, causal=False), 2, head="mean").eval()
    x = torch.randn(1, 10, 3)
    mask = torch.ones(1, 10, dtype=torch.bool)
    mask[0, 6:] = False
    padded = x.clone()
    padded[0, 6:] = 5.0
    assert torch.allclose(model(padded, mask), model(x[:, :6]), atol=1e-5)


@given(
    kernel=st.integers(1, 4),
    channels=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    norm=st.sampled_from(["weight", "layer", "none", "batch"]),
    head=st.sampled_from(["per_step", "mean", "last"]),
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    extra=st.integers(0, 4),
)
def test_non_causal_tcn_padding_invariance(kernel, channels, norm, head, lengths, extra):
    # "same" padding reads the future side: the mask must stand in for the zeros past each end
    model = SequenceModel(TCN(3, channels, kernel_size=kernel, causal=False, norm=norm), 2, head=head).double().eval()
    t = max(lengths) + extra
    x = torch.randn(len(lengths), t, 3, dtype=torch.double)
    mask = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    padded = x.masked_fill(~mask.unsqueeze(-1), 50.0)
    with torch.no_grad():
        y = model(padded, mask)
        for b, n in enumerate(lengths):
            alone = model(x[b : b + 1, :n])[0]
            torch.testing.assert_close(y[b, :n] if head == "per_step" else y[b], alone, rtol=1e-9, atol=1e-10)
