"""The Transformer baseline: causal attention, padding invariance, sizing and misuse."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench.nn import Transformer, count_parameters, make_model, match_parameters
from seqbench.nn import kinds
from seqbench.nn.transformer import sinusoidal_positions

configs = st.fixed_dictionaries(
    {
        "input_size": st.integers(1, 3),
        "heads": st.integers(1, 3),
        "head_size": st.integers(1, 3),
        "num_layers": st.integers(1, 2),
        "positions": st.sampled_from(["sinusoidal", "learned"]),
        "activation": st.sampled_from(["relu", "gelu"]),
        "norm_first": st.booleans(),
    }
)


def _build(cfg, causal=True, **kw):
    return Transformer(cfg["input_size"], cfg["heads"] * cfg["head_size"], num_layers=cfg["num_layers"],
                       num_heads=cfg["heads"], causal=causal, positions=cfg["positions"], max_len=32,
                       activation=cfg["activation"], norm_first=cfg["norm_first"], **kw)


def _right_padded(lengths, time, features, pad=37.0):
    x = torch.randn(len(lengths), time, features)
    mask = torch.arange(time).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return x, x.masked_fill(~mask.unsqueeze(-1), pad), mask


# ---------------------------------------------------------------------- causality


@given(cfg=configs, length=st.integers(2, 12), data=st.data())
def test_causal_transformer_is_causal(cfg, length, data):
    t = data.draw(st.integers(0, length - 2))
    model = _build(cfg).eval()
    x = torch.randn(2, length, cfg["input_size"])
    x2 = x.clone()
    x2[:, t + 1 :] = torch.randn_like(x2[:, t + 1 :]) * 10
    with torch.no_grad():
        torch.testing.assert_close(model(x)[:, : t + 1], model(x2)[:, : t + 1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("head", ["per_step", "last"])
def test_causal_through_sequence_model_and_the_future_still_matters(head):
    model = make_model("transformer", input_size=2, output_size=3, hidden_size=8, head=head).eval()
    x = torch.randn(2, 12, 2)
    x2 = x.clone()
    x2[:, 7:] += 5.0
    with torch.no_grad():
        if head == "per_step":
            torch.testing.assert_close(model(x)[:, :7], model(x2)[:, :7])
            assert not torch.allclose(model(x)[:, 7:], model(x2)[:, 7:])
        else:  # the label of the prefix ending at step 6 ignores what comes after it
            torch.testing.assert_close(model(x[:, :7]), model(x2[:, :7]))
            assert not torch.allclose(model(x), model(x2))


def test_non_causal_transformer_sees_the_future():
    model = Transformer(2, 8, causal=False).eval()
    x = torch.randn(1, 10, 2)
    x2 = x.clone()
    x2[:, 8:] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, :5], model(x2)[:, :5])


# ------------------------------------------------------------------------ padding


@given(
    cfg=configs,
    causal=st.booleans(),
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    extra=st.integers(0, 3),
    grad=st.booleans(),  # no_grad in eval mode takes torch's fused encoder-layer kernel
)
def test_padding_never_changes_valid_outputs(cfg, causal, lengths, extra, grad):
    model = _build(cfg, causal).eval()
    x, padded, mask = _right_padded(lengths, max(lengths) + extra, cfg["input_size"])
    with torch.set_grad_enabled(grad):
        out = model(padded, mask)
        for b, n in enumerate(lengths):
            torch.testing.assert_close(out[b, :n], model(x[b : b + 1, :n])[0], atol=1e-5, rtol=1e-5)
    assert out[~mask].abs().sum() == 0


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("head", ["per_step", "mean", "last"])
def test_sequence_model_heads_ignore_padding(head, causal):
    model = make_model("transformer", input_size=2, output_size=3, hidden_size=8, head=head, causal=causal).eval()
    lengths = [7, 3, 1]
    x, padded, mask = _right_padded(lengths, 9, 2)
    with torch.no_grad():
        out = model(padded, mask)
        for b, n in enumerate(lengths):
            alone = model(x[b : b + 1, :n])[0]
            torch.testing.assert_close(out[b, :n] if head == "per_step" else out[b], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [True, False])
def test_an_empty_sequence_stays_finite_and_out_of_the_others(causal):
    model = Transformer(2, 8, causal=causal)
    x, padded, mask = _right_padded([5, 0], 5, 2)
    padded.requires_grad_()
    out = model(padded, mask)
    assert torch.isfinite(out).all() and out[1].abs().sum() == 0
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    with torch.no_grad():
        torch.testing.assert_close(out[0], model(x[:1])[0], atol=1e-5, rtol=1e-5)


def test_a_mask_that_is_not_right_padding_is_refused():
    mask = torch.tensor([[True, False, True]])
    with pytest.raises(ValueError, match="right-padded batch.*row 0 has a valid step after a padded one"):
        Transformer(2, 4)(torch.randn(1, 3, 2), mask)


# ------------------------------------------------------------------ construction


def test_interface_and_defaults():
    tr = Transformer(3, 16)
    assert (tr.num_layers, tr.num_heads, tr.feedforward_size, tr.positions) == (2, 4, 64, "sinusoidal")
    assert tr.causal and tr.receptive_field == float("inf") and tr.output_size == 16
    assert isinstance(tr.layers[0], torch.nn.TransformerEncoderLayer) and tr.layers[0].norm_first
    assert tr(torch.randn(2, 5, 3)).shape == (2, 5, 16)
    assert "transformer" in kinds()
    model = make_model("transformer", input_size=3, output_size=2, hidden_size=12, num_layers=3, num_heads=2,
                       feedforward_size=20, positions="learned", max_len=64, dropout=0.1)
    enc = model.encoder
    assert (enc.num_layers, enc.num_heads, enc.feedforward_size, enc.max_len) == (3, 2, 20, 64)
    assert enc.layers[0].dropout.p == 0.1 and enc.position.weight.shape == (64, 12)


@pytest.mark.parametrize("hidden", [1, 2, 3, 5, 6, 8, 96])
def test_default_make_model_works_at_any_width(hidden):
    model = make_model("transformer", input_size=2, output_size=1, head="last", hidden_size=hidden)
    assert model(torch.randn(3, 7, 2)).shape == (3, 1)
    assert hidden % model.encoder.num_heads == 0 and model.encoder.num_heads <= 4
    assert model.encoder.num_heads == 4 or hidden % 4  # four heads whenever they divide the width


def test_sinusoidal_positions():
    pe = sinusoidal_positions(torch.arange(5), 6, torch.float32)
    assert pe.shape == (5, 6)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 3))
    three = torch.tensor(3.0)
    torch.testing.assert_close(pe[3, :2], torch.stack([three.sin(), three.cos()]))
    torch.testing.assert_close(pe[3, 4:], torch.stack([(three / 10000 ** (4 / 6)).sin(), (three / 10000 ** (4 / 6)).cos()]))
    assert sinusoidal_positions(torch.arange(3), 5, torch.float64).shape == (3, 5)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(hidden_size=10, num_heads=4), r"hidden_size must be a multiple of num_heads \(4\), got 10"),
        (dict(hidden_size=0), "hidden_size must be an integer >= 1, got 0"),
        (dict(hidden_size=8, num_heads=0), "num_heads must be an integer >= 1, got 0"),
        (dict(hidden_size=8, num_layers=0), "num_layers must be an integer >= 1, got 0"),
        (dict(hidden_size=8, feedforward_size=0), "feedforward_size must be an integer >= 1, got 0"),
        (dict(hidden_size=8, dropout=1.0), r"dropout must be a number in \[0, 1\), got 1.0"),
        (dict(hidden_size=8, positions="rotary"), r"positions must be one of \['learned', 'sinusoidal'\], got 'rotary'"),
        (dict(hidden_size=8, max_len=0), "max_len must be an integer >= 1, got 0"),
        (dict(hidden_size=8, activation="tanh"), r"activation must be one of \['gelu', 'relu'\], got 'tanh'"),
        (dict(input_size=0, hidden_size=8), "input_size must be an integer >= 1, got 0"),
    ],
)
def test_config_errors(kwargs, message):
    kwargs = {"input_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        Transformer(**kwargs)


def test_input_errors():
    tr = Transformer(2, 4, positions="learned", max_len=8)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, time, 2\), got \(3, 2, 5\)"):
        tr(torch.randn(3, 2, 5))
    with pytest.raises(ValueError, match=r"non-finite value\(s\)"):
        tr(torch.full((1, 3, 2), float("nan")))
    with pytest.raises(ValueError, match="at most max_len=8 steps, got 9"):
        tr(torch.randn(1, 9, 2))
    with pytest.raises(ValueError, match=r"padding mask of shape \(1, 3\)"):
        tr(torch.randn(1, 3, 2), torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="a transformer model needs hidden_size"):
        make_model("transformer", input_size=2, output_size=1)


# ------------------------------------------------------------------------ sizing


@pytest.mark.parametrize("target", [70_369, 300_000])
@pytest.mark.parametrize("heads", [None, 2, 8])
def test_match_parameters_finds_the_closest_multiple_of_the_heads(target, heads):
    fixed = dict(input_size=2, output_size=1, head="last")
    if heads is not None:
        fixed["num_heads"] = heads
    step = heads or 4
    h = match_parameters("transformer", target, **fixed)
    assert h % step == 0
    model = make_model("transformer", hidden_size=h, **fixed)
    assert model.encoder.num_heads == step
    got = abs(model.num_parameters() - target)
    neighbours = [abs(count_parameters("transformer", h + d, **fixed) - target) for d in (-step, step) if h + d > 0]
    assert all(got <= n for n in neighbours)
    # the closest of widths `step` apart is within half the gap between them
    gap = count_parameters("transformer", h + step, **fixed) - count_parameters("transformer", h, **fixed)
    assert got <= gap / 2 + 1


@pytest.mark.parametrize("target,within", [(70_369, 0.06), (269_938, 0.03), (1_000_000, 0.02)])
def test_match_parameters_with_four_heads_at_the_paper_sizes(target, within):
    # widths 4 apart: about 8 / hidden_size apart in parameters, a few percent at these sizes
    fixed = dict(input_size=2, output_size=1, head="last")
    h = match_parameters("transformer", target, **fixed)
    assert abs(count_parameters("transformer", h, **fixed) - target) / target < within


def test_match_parameters_other_kinds_unchanged():
    assert match_parameters("lstm", 70_369, input_size=2, output_size=1, head="last") == 131
    assert match_parameters("transformer", 10, input_size=2, output_size=1) == 4  # the smallest width with 4 heads


# --------------------------------------------------------------------- streaming


def _stream(model, x, state=None):
    state = model.init_state(x.size(0)) if state is None else state
    outs = []
    with torch.no_grad():
        for t in range(x.size(1)):
            y, state = model.step(x[:, t], state)
            outs.append(y)
    return torch.stack(outs, 1), state


@given(cfg=configs, batch=st.integers(1, 2), length=st.integers(1, 12))
def test_stream_equals_full_forward(cfg, batch, length):
    model = _build(cfg, dropout=0.2).eval()  # dropout is off in eval mode, in both paths
    x = torch.randn(batch, length, cfg["input_size"])
    streamed, state = _stream(model, x)
    with torch.no_grad():
        torch.testing.assert_close(streamed, model(x), atol=1e-5, rtol=1e-5)
    assert state.steps == length and state.keys[0].shape == (batch, cfg["heads"], length, cfg["head_size"])


def test_stream_in_float64_and_with_gradients_enabled():
    model = Transformer(2, 8, num_layers=2).double().eval()
    x = torch.randn(2, 9, 2, dtype=torch.float64)
    state, outs = model.init_state(2), []
    for t in range(9):  # no torch.no_grad(): the step is differentiable like the forward
        y, state = model.step(x[:, t], state)
        outs.append(y)
    torch.testing.assert_close(torch.stack(outs, 1), model(x), rtol=1e-10, atol=1e-12)


def test_reset_restarts_one_sequence_and_clone_branches():
    from seqbench.nn.streaming import TransformerState, clone_state, reset_state, state_nbytes, state_to

    model = Transformer(2, 8, positions="learned", max_len=16).eval()
    a, b = torch.randn(1, 14, 2), torch.randn(1, 8, 2)
    state = model.init_state(2)
    with torch.no_grad():
        for t in range(6):  # both slots run sequence a for 6 steps
            _, state = model.step(torch.cat([a[:, t], a[:, t]]), state)
        branch = clone_state(state)
        reset_state(state, torch.tensor([False, True]))  # slot 1 starts sequence b now
        assert branch.starts.tolist() == [0, 0] and state.starts.tolist() == [0, 6]
        outs = []
        for t in range(8):
            y, state = model.step(torch.cat([a[:, 6 + t], b[:, t]]), state)
            outs.append(y)
        outs = torch.stack(outs, 1)
        torch.testing.assert_close(outs[0], model(a)[0, 6:], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(outs[1], model(b)[0], atol=1e-5, rtol=1e-5)
        y, _ = model.step(torch.cat([a[:, 6], a[:, 6]]), branch)  # the branch never saw the reset
        torch.testing.assert_close(y[1], model(a[:, :7])[0, -1], atol=1e-5, rtol=1e-5)
    assert isinstance(state, TransformerState)
    assert state_nbytes(state) == 2 * 2 * (2 * 14 * 8) * 4 + 2 * 8  # layers, keys and values, (B, T, d) floats; starts
    moved = state_to(state, dtype=torch.float64)
    assert moved.keys[0].dtype == torch.float64 and moved.starts.dtype == torch.long


def test_sequence_model_streams_a_token_model():
    model = make_model("transformer", input_size=11, head="lm", input_adapter="embedding", embedding_size=6,
                       hidden_size=8).eval()
    x = torch.randint(0, 11, (2, 10))
    streamed, _ = _stream(model, x)
    with torch.no_grad():
        torch.testing.assert_close(streamed, model(x), atol=1e-5, rtol=1e-5)


def test_learned_positions_end_at_max_len():
    model = Transformer(2, 4, positions="learned", max_len=3).eval()
    _, state = _stream(model, torch.randn(1, 3, 2))
    with pytest.raises(ValueError, match="learned positions cover max_len=3 steps and this step would be position 3"):
        model.step(torch.randn(1, 2), state)
    from seqbench.nn.streaming import reset_state

    reset_state(state, 0)  # a restarted sequence counts from position 0 again
    assert model.step(torch.randn(1, 2), state)[0].shape == (1, 4)


def test_streaming_misuse_is_refused():
    with pytest.raises(ValueError, match="non-causal Transformer .* cannot stream"):
        Transformer(2, 4, causal=False).init_state(1)
    with pytest.raises(ValueError, match="non-causal Transformer .* cannot stream"):
        make_model("transformer", input_size=2, output_size=1, hidden_size=4, causal=False).init_state(1)
    causal = Transformer(2, 4).eval()
    with pytest.raises(ValueError, match="non-causal"):
        Transformer(2, 4, causal=False).step(torch.randn(1, 2), causal.init_state(1))
    with pytest.raises(ValueError, match="training mode with dropout p=0.1"):
        Transformer(2, 4, dropout=0.1).step(torch.randn(1, 2), causal.init_state(1))
    Transformer(2, 4).train().step(torch.randn(1, 2), causal.init_state(1))  # no dropout: training numerics agree
    state = causal.init_state(2)
    with pytest.raises(ValueError, match=r"one step of shape \(batch, 2\)"):
        causal.step(torch.randn(2, 3), state)
    with pytest.raises(ValueError, match="made for batch size 2, the input has batch size 3"):
        causal.step(torch.randn(3, 2), state)
    with pytest.raises(ValueError, match="the state caches 2 layers but this model has 1"):
        Transformer(2, 4, num_layers=1).step(torch.randn(2, 2), state)
    with pytest.raises(ValueError, match="another model"):
        Transformer(2, 8).step(torch.randn(2, 2), state)
    with pytest.raises(ValueError, match="TransformerState"):
        causal.step(torch.randn(1, 2), make_model("lstm", input_size=2, output_size=1, hidden_size=4).init_state(1))
    with pytest.raises(ValueError, match="state_to"):
        causal.step(torch.randn(1, 2, dtype=torch.float64).float(), causal.init_state(1, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"non-finite value\(s\)"):
        causal.step(torch.tensor([[float("nan"), 0.0], [0.0, 0.0]]), state)


def test_a_step_cannot_be_exported():
    from seqbench.export import StepModule

    with pytest.raises(ValueError, match="cannot export a step of a Transformer: its streaming state"):
        StepModule(make_model("transformer", input_size=2, output_size=1, hidden_size=4))
