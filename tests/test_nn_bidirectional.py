"""Bidirectional recurrent baselines: packing keeps padding out, the summary is both final states."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench.export import StepModule
from seqbench.nn import Recurrent, count_parameters, make_model, match_parameters, recurrent_cpu


def _right_padded(lengths, time, features, pad=37.0):
    x = torch.randn(len(lengths), time, features)
    mask = torch.arange(time).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    padded = x.masked_fill(~mask.unsqueeze(-1), pad)  # loud padding: any leak shows
    return x, padded, mask


def test_sizes_and_interface():
    rec = Recurrent("lstm", 3, 5, num_layers=2, bidirectional=True)
    assert rec.output_size == 10 and not rec.causal and rec.receptive_field == float("inf")
    assert rec(torch.randn(2, 7, 3)).shape == (2, 7, 10)
    model = make_model("gru", input_size=3, output_size=2, hidden_size=4, head="last", bidirectional=True)
    assert model.encoder.bidirectional and model(torch.randn(2, 7, 3)).shape == (2, 2)
    assert Recurrent("gru", 3, 5).causal and "bidirectional" in repr(rec)


@given(
    kind=st.sampled_from(["lstm", "gru", "rnn"]),
    hidden=st.integers(1, 5),
    layers=st.integers(1, 2),
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    extra=st.integers(0, 3),
)
def test_padding_never_reaches_valid_outputs(kind, hidden, layers, lengths, extra):
    rec = Recurrent(kind, 2, hidden, num_layers=layers, bidirectional=True).eval()
    x, padded, mask = _right_padded(lengths, max(lengths) + extra, 2)
    with torch.no_grad():
        out = rec(padded, mask)
        for b, n in enumerate(lengths):
            torch.testing.assert_close(out[b, :n], rec(x[b : b + 1, :n])[0], atol=1e-6, rtol=1e-5)
    assert out[~mask].abs().sum() == 0  # padded steps output zeros


@pytest.mark.parametrize("head", ["per_step", "mean", "last"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_sequence_model_heads_ignore_padding(kind, head):
    model = make_model(kind, input_size=2, output_size=3, hidden_size=4, num_layers=2, head=head,
                       bidirectional=True).eval()
    lengths = [6, 2, 1]
    x, padded, mask = _right_padded(lengths, 8, 2)
    with torch.no_grad():
        out = model(padded, mask)
        for b, n in enumerate(lengths):
            alone = model(x[b : b + 1, :n])[0]
            torch.testing.assert_close(out[b, :n] if head == "per_step" else out[b], alone, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_last_head_reads_both_directions_final_states(kind):
    rec = Recurrent(kind, 2, 3, num_layers=2, bidirectional=True).eval()
    lengths = [5, 3]
    _, padded, mask = _right_padded(lengths, 5, 2)
    with torch.no_grad():
        summary = rec.forward_last(padded, mask)
        for b, n in enumerate(lengths):
            _, h_n = rec.rnn(padded[b : b + 1, :n])
            h_n = h_n[0] if kind == "lstm" else h_n  # (layers * 2, 1, H): the top layer is last
            torch.testing.assert_close(summary[b], torch.cat([h_n[-2, 0], h_n[-1, 0]]), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="at least one valid step"):
        rec.forward_last(padded, torch.zeros(2, 5, dtype=torch.bool))


def test_an_empty_sequence_outputs_zeros_and_gradients_flow():
    rec = Recurrent("gru", 2, 3, bidirectional=True)
    _, padded, mask = _right_padded([4, 0], 4, 2)
    padded.requires_grad_()
    out = rec(padded, mask)
    assert out[1].abs().sum() == 0
    out.sum().backward()
    assert padded.grad[0].abs().sum() > 0 and padded.grad[1].abs().sum() == 0
    assert all(torch.isfinite(p.grad).all() for p in rec.parameters())


def test_it_sees_the_future():
    rec = Recurrent("lstm", 2, 4, bidirectional=True).eval()
    x = torch.randn(1, 10, 2)
    x2 = x.clone()
    x2[:, 8:] += 1.0
    assert not torch.allclose(rec(x)[:, :5], rec(x2)[:, :5])


def test_the_fast_cpu_path_stays_unidirectional(monkeypatch):
    calls = []
    monkeypatch.setattr(recurrent_cpu, "forward", lambda rnn, x: calls.append(rnn) or (rnn(x)[0], None))
    x = torch.randn(2, 5, 2, requires_grad=True)
    Recurrent("gru", 2, 3)(x)
    Recurrent("gru", 2, 3, bidirectional=True)(x)
    assert len(calls) == 1 and not calls[0].bidirectional


def test_a_mask_that_is_not_right_padding_is_refused():
    rec = Recurrent("gru", 2, 3, bidirectional=True)
    mask = torch.tensor([[True, True, True], [False, True, True]])
    with pytest.raises(ValueError, match="right-padded batch.*row 1 has a valid step after a padded one"):
        rec(torch.randn(2, 3, 2), mask)


def test_cannot_stream_or_export_a_step():
    rec = Recurrent("lstm", 2, 3, bidirectional=True).eval()
    with pytest.raises(ValueError, match="bidirectional lstm .* cannot stream"):
        rec.init_state(1)
    unidirectional = Recurrent("lstm", 2, 3).eval()
    with pytest.raises(ValueError, match="cannot stream"):
        rec.step(torch.randn(1, 2), unidirectional.init_state(1))
    model = make_model("gru", input_size=2, output_size=1, hidden_size=3, bidirectional=True).eval()
    with pytest.raises(ValueError, match="bidirectional gru .* cannot stream"):
        model.init_state(1)
    with pytest.raises(ValueError, match="cannot export a step of a bidirectional gru"):
        StepModule(model)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_match_parameters_sizes_bidirectional_models(kind):
    target = 70_369  # the adding-problem TCN
    fixed = dict(input_size=2, output_size=1, head="last", bidirectional=True)
    h = match_parameters(kind, target, **fixed)
    got = make_model(kind, hidden_size=h, **fixed).num_parameters()
    assert abs(got - target) / target < 0.03
    for other in (h - 1, h + 1):
        assert abs(count_parameters(kind, other, **fixed) - target) >= abs(got - target)
    assert h < match_parameters(kind, target, input_size=2, output_size=1, head="last")  # two directions share it
