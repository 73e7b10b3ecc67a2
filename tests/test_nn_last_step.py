"""A sequence-to-label TCN computes its last step alone: same values and gradients as the full forward.

``TCN.forward_last`` crops the input to the receptive field and runs each level on the
lattice of steps its dilation apart, keeping only what the next level reads. Every test
holds it to ``forward(x)[:, -1]`` in float64, where the two differ only by the order of
float additions.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench.nn import TCN, SequenceModel, make_model


def _assert_same_last_step(model: TCN, x: torch.Tensor) -> None:
    x = x.clone().requires_grad_()
    params = [x] + [p for p in model.parameters()]
    full = model(x)[:, -1]
    g_full = torch.autograd.grad(full.pow(2).sum(), params)
    last = model.forward_last(x)
    g_last = torch.autograd.grad(last.pow(2).sum(), params)
    torch.testing.assert_close(last, full, rtol=1e-10, atol=1e-12)
    for i, (a, b) in enumerate(zip(g_last, g_full)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=lambda m: f"gradient {i}: {m}")


@given(
    k=st.integers(1, 5),
    levels=st.integers(1, 5),
    t=st.integers(1, 90),
    cin=st.integers(1, 4),
    widths=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    norm=st.sampled_from(["weight", "none", "layer"]),
    activation=st.sampled_from(["relu", "tanh", "gelu"]),
)
def test_last_step_equals_full_forward(k, levels, t, cin, widths, norm, activation):
    channels = (widths * levels)[:levels]
    model = TCN(cin, channels, k, norm=norm, activation=activation).double().eval()
    _assert_same_last_step(model, torch.randn(2, t, cin, dtype=torch.double))


@pytest.mark.parametrize("k,levels,t", [(7, 8, 784), (8, 8, 600), (2, 3, 100), (3, 2, 13)])
def test_paper_shapes_and_inputs_longer_than_the_receptive_field(k, levels, t):
    model = TCN(2, [6] * levels, k).double()
    _assert_same_last_step(model, torch.randn(3, t, 2, dtype=torch.double))


def test_the_last_step_reads_exactly_the_receptive_field():
    model = TCN(1, [4] * 3, 3).double()  # receptive field 1 + 2*2*7 = 29
    x = torch.randn(1, 50, 1, dtype=torch.double, requires_grad=True)
    model.forward_last(x).sum().backward()
    support = (x.grad[0, :, 0] != 0).nonzero().flatten()
    assert support.min().item() == 50 - model.receptive_field and support.max().item() == 49


@pytest.mark.parametrize("dilations", [[1, 3, 6], [2, 4, 8], [3, 3, 6], [1, 1, 2]])
def test_custom_dilations_that_divide_each_other(dilations):
    model = TCN(2, [3, 3, 3], 3, dilations=dilations).double()
    assert model.computes_last_step_alone
    _assert_same_last_step(model, torch.randn(2, 40, 2, dtype=torch.double))


@pytest.mark.parametrize("kwargs", [dict(causal=False), dict(norm="batch"), dict(dilations=[1, 2, 3])])
def test_falls_back_to_the_full_forward_where_the_lattice_does_not_apply(kwargs):
    model = TCN(2, [3, 3, 3], 3, **kwargs).double()
    assert not model.computes_last_step_alone
    _assert_same_last_step(model, torch.randn(2, 30, 2, dtype=torch.double))
    x, mask = torch.randn(2, 30, 2, dtype=torch.double), torch.arange(30).unsqueeze(0) < torch.tensor([[30], [17]])
    torch.testing.assert_close(model.eval().forward_last(x, mask), _last_valid(model, x, mask))


def test_channel_dropout_draws_the_same_masks_in_training():
    # Dropout1d draws one value per (sequence, channel): the same draws on the lattice
    model = TCN(2, [5] * 4, 3, dropout=0.3, dropout_mode="channel").double().train()
    x = torch.randn(4, 60, 2, dtype=torch.double)
    torch.manual_seed(1)
    full = model(x)[:, -1]
    torch.manual_seed(1)
    torch.testing.assert_close(model.forward_last(x), full, rtol=1e-10, atol=1e-12)


def _last_valid(model: TCN, x, mask):
    h = model(x, mask)
    return h[torch.arange(h.size(0)), mask.sum(1) - 1]


@given(
    k=st.integers(1, 4),
    levels=st.integers(1, 4),
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    extra=st.integers(0, 5),
    norm=st.sampled_from(["weight", "none", "layer"]),
)
def test_masked_batches_give_each_sequence_its_last_valid_step(k, levels, lengths, extra, norm):
    model = TCN(2, [4] * levels, k, norm=norm).double().eval()
    t = max(lengths) + extra
    x = torch.randn(len(lengths), t, 2, dtype=torch.double)
    mask = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    x = x * mask.unsqueeze(-1)  # right padding (its values never matter to a causal model)
    params = [p for p in model.parameters()]
    xr = x.clone().requires_grad_()
    full = _last_valid(model, xr, mask)
    g_full = torch.autograd.grad(full.pow(2).sum(), [xr] + params)
    xr = x.clone().requires_grad_()
    last = model.forward_last(xr, mask)
    g_last = torch.autograd.grad(last.pow(2).sum(), [xr] + params)
    torch.testing.assert_close(last, full, rtol=1e-10, atol=1e-12)
    for i, (a, b) in enumerate(zip(g_last, g_full)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=lambda m: f"gradient {i}: {m}")


def test_sequence_model_uses_the_last_step_path(monkeypatch):
    model = make_model("tcn", input_size=2, output_size=3, head="last", hidden_size=4, levels=3, kernel_size=3)
    x = torch.randn(2, 20, 2)
    expected = model.decoder(model.encoder(x)[:, -1])
    calls = []
    original = TCN.forward_last
    monkeypatch.setattr(TCN, "forward_last", lambda self, h, m=None: calls.append(m) or original(self, h, m))
    torch.testing.assert_close(model(x), expected)
    assert calls == [None]
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 15:] = False  # a right-padded batch: each sequence's own last step
    out = model(x, mask)
    assert len(calls) == 2 and calls[1] is mask
    torch.testing.assert_close(out[1], model.decoder(model.encoder(x)[1, 14]))
    with pytest.raises(ValueError, match="at least one valid step"):
        model(x, torch.zeros(2, 20, dtype=torch.bool))


def test_last_step_path_refuses_bad_input():
    model = TCN(2, [3, 3], 2)
    with pytest.raises(ValueError, match="non-finite"):
        model.forward_last(torch.full((1, 5, 2), float("nan")))
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        model.forward_last(torch.randn(1, 2, 5, 3))
    assert isinstance(SequenceModel(model, 1, head="last")(torch.randn(1, 5, 2)), torch.Tensor)
