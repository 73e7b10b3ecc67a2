"""Streaming: step-by-step outputs equal the full forward at every step, and misuse is refused."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from seqbench.nn import TCN, Recurrent, SequenceModel, make_model
from seqbench.nn.streaming import RecurrentState, TCNState, clone_state, reset_state, state_nbytes, state_to


def _randomise_batch_norm(model):
    # fresh running stats are 0/1 and affine 1/0: randomise so the fold is really tested
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()


def _stream(model, x):
    state = model.init_state(x.size(0))
    outs = []
    with torch.no_grad():
        for t in range(x.size(1)):
            y, state = model.step(x[:, t], state)
            outs.append(y)
    return torch.stack(outs, 1), state


@given(
    kernel=st.integers(1, 4),
    dilations=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    width=st.integers(1, 6),
    input_size=st.integers(1, 4),
    norm=st.sampled_from(["weight", "batch", "layer", "none"]),
    activation=st.sampled_from(["relu", "gelu", "tanh", "elu", "silu"]),
    batch=st.integers(1, 3),
    length=st.integers(1, 60),  # long enough for the slot lines to wrap several times
)
def test_tcn_stream_equals_full_forward(kernel, dilations, width, input_size, norm, activation, batch, length):
    channels = [width + i for i in range(len(dilations))]  # vary widths so downsampling skips appear
    tcn = TCN(input_size, channels, kernel_size=kernel, dilations=dilations, norm=norm, activation=activation, dropout=0.2)
    _randomise_batch_norm(tcn)
    tcn.eval()
    x = torch.randn(batch, length, input_size)
    with torch.no_grad():
        full = tcn(x)
    streamed, state = _stream(tcn, x)
    torch.testing.assert_close(streamed, full, atol=1e-5, rtol=1e-5)
    assert state.steps == length


@given(
    adapter=st.sampled_from(["identity", "linear", "embedding"]),
    head=st.sampled_from(["per_step", "last", "lm"]),
    kind=st.sampled_from(["tcn", "lstm", "gru", "rnn", "transformer"]),
    length=st.integers(1, 12),
)
def test_sequence_model_stream_equals_full_forward(adapter, head, kind, length):
    if head == "lm":
        adapter = "embedding"
    vocab = 7
    options = dict(channels=[5, 3], kernel_size=3) if kind == "tcn" else dict(hidden_size=5 + (kind == "transformer"), num_layers=2)
    model = make_model(
        kind, input_size=vocab if adapter == "embedding" else 3, output_size=None if head == "lm" else 2,
        head=head, input_adapter=adapter, embedding_size=4, **options,
    ).eval()
    x = torch.randint(0, vocab, (2, length)) if adapter == "embedding" else torch.randn(2, length, 3)
    streamed, _ = _stream(model, x)
    with torch.no_grad():
        if head == "last":  # the label the model gives when the sequence ends at t
            full = torch.stack([model(x[:, : t + 1]) for t in range(length)], 1)
        else:
            full = model(x)
    torch.testing.assert_close(streamed, full, atol=1e-5, rtol=1e-5)


def test_long_stream_equals_full_forward_across_many_wraps():
    # the seq-MNIST shape at a smaller width: dilations up to 128, lines wrapping every 8 steps of a phase
    tcn = TCN(1, [5] * 8, kernel_size=7).eval()
    x = torch.randn(2, 2500, 1)
    with torch.no_grad():
        full = tcn(x)
    streamed, state = _stream(tcn, x)
    torch.testing.assert_close(streamed, full, atol=1e-5, rtol=1e-5)
    # a state rebuilt from its tensors alone (no cached views) continues the same stream
    bare = TCNState(state.buffers, state.steps)
    y, _ = tcn.step(torch.ones(2, 1), bare)
    with torch.no_grad():
        torch.testing.assert_close(y, tcn(torch.cat([x, torch.ones(2, 1, 1)], 1))[:, -1], atol=1e-5, rtol=1e-5)


def test_unfused_kernels_give_the_same_stream(monkeypatch):
    # what a GPU or a torch build without ATen's fused addmm+ReLU / add+ReLU runs
    from seqbench.nn import tcn_streaming as streaming

    monkeypatch.setattr(streaming, "_relu_kernels",
                        lambda device: (streaming._addmm_relu_unfused, streaming._add_relu_unfused))
    tcn = TCN(3, [4, 5, 5], kernel_size=3).eval()
    x = torch.randn(2, 40, 3)
    streamed, _ = _stream(tcn, x)
    assert streaming.tcn_plan(tcn).add_relu is streaming._add_relu_unfused
    with torch.no_grad():
        torch.testing.assert_close(streamed, tcn(x), atol=1e-5, rtol=1e-5)


def test_step_with_gradients_enabled_still_streams():
    tcn = TCN(2, [3, 3], kernel_size=2).eval()
    x = torch.randn(1, 7, 2)
    state, outs = tcn.init_state(1), []
    for t in range(7):  # no torch.no_grad() here
        y, state = tcn.step(x[:, t], state)
        outs.append(y)
    torch.testing.assert_close(torch.stack(outs, 1), tcn(x).detach(), atol=1e-5, rtol=1e-5)


def test_state_is_outside_the_state_dict_and_any_batch_size():
    tcn = TCN(2, [4, 4], kernel_size=3).eval()
    keys = set(tcn.state_dict())
    for batch in (1, 5):
        state = tcn.init_state(batch)
        assert isinstance(state, TCNState) and all(b.shape[-1] == batch for b in state.buffers)
    assert set(tcn.state_dict()) == keys
    assert state_nbytes(state) == sum(b.numel() * 4 for b in state.buffers)


def test_reset_one_slot_restarts_that_sequence_only():
    tcn = TCN(2, [4, 3], kernel_size=3, dilations=[1, 3]).eval()
    a, b = torch.randn(1, 20, 2), torch.randn(1, 20, 2)
    state = tcn.init_state(2)
    with torch.no_grad():
        for t in range(9):  # both slots run sequence a for 9 steps
            _, state = tcn.step(torch.cat([a[:, t], a[:, t]]), state)
        reset_state(state, torch.tensor([False, True]))  # slot 1 starts sequence b now
        outs = []
        for t in range(11):
            y, state = tcn.step(torch.cat([a[:, 9 + t], b[:, t]]), state)
            outs.append(y)
        outs = torch.stack(outs, 1)
        torch.testing.assert_close(outs[0], tcn(a)[0, 9:], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(outs[1], tcn(b)[0, :11], atol=1e-5, rtol=1e-5)


def test_recurrent_reset_and_state_moves():
    rnn = Recurrent("lstm", 3, 4).eval()
    state = rnn.init_state(3)
    with torch.no_grad():
        _, state = rnn.step(torch.randn(3, 3), state)
    reset_state(state, 1)
    assert isinstance(state, RecurrentState)
    assert state.h[:, 1].abs().sum() == 0 and state.c[:, 1].abs().sum() == 0 and state.h[:, 0].abs().sum() > 0
    moved = state_to(state, "cpu", torch.float64)
    assert moved.h.dtype == torch.float64 and moved.c.dtype == torch.float64


def test_clone_branches_and_weights_refold_after_an_update():
    tcn = TCN(1, [3, 3], kernel_size=2).eval()
    x = torch.randn(2, 1)
    state = tcn.init_state(2)
    with torch.no_grad():
        _, state = tcn.step(x, state)
        branch = clone_state(state)
        y1, _ = tcn.step(x, state)
        y2, _ = tcn.step(x, branch)
        torch.testing.assert_close(y1, y2)
        fresh = tcn.init_state(2)  # weights folded here...
        for p in tcn.parameters():  # ...then updated in place, as an optimizer does
            p.add_(0.1)
        y3, _ = tcn.step(x, fresh)
        torch.testing.assert_close(y3, tcn(x[:, None])[:, 0], atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stream_on_cuda():
    tcn = TCN(2, [4, 4], kernel_size=3).eval().cuda()
    x = torch.randn(2, 10, 2, device="cuda")
    streamed, _ = _stream(tcn, x)
    torch.testing.assert_close(streamed, tcn(x), atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------- misuse


def test_non_causal_tcn_cannot_stream():
    tcn = TCN(2, [4], kernel_size=3, causal=False)
    with pytest.raises(ValueError, match="non-causal"):
        tcn.init_state(1)


def test_wrong_feature_size_batch_size_or_foreign_state():
    tcn = TCN(2, [4, 4], kernel_size=3).eval()
    state = tcn.init_state(2)
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        tcn.step(torch.randn(2, 3), state)
    with pytest.raises(ValueError, match="batch size 2"):
        tcn.step(torch.randn(3, 2), state)
    other = TCN(2, [4, 4], kernel_size=2).eval()
    with pytest.raises(ValueError, match="another model"):
        tcn.step(torch.randn(2, 2), other.init_state(2))
    with pytest.raises(ValueError, match="TCNState"):
        tcn.step(torch.randn(2, 2), Recurrent("gru", 2, 4).init_state(2))
    rnn = Recurrent("lstm", 2, 4)
    with pytest.raises(ValueError, match="another model or batch size"):
        rnn.step(torch.randn(3, 2), rnn.init_state(2))


@pytest.mark.parametrize("kind", ["tcn", "lstm"])
def test_non_finite_step_input_is_refused(kind):
    model = make_model(kind, input_size=2, output_size=1, head="per_step", hidden_size=3, channels=[3], kernel_size=2).eval()
    state = model.init_state(2)
    with pytest.raises(ValueError, match=r"non-finite value\(s\)"):
        model.step(torch.tensor([[0.0, 1.0], [float("nan"), 0.0]]), state)
    with pytest.raises(ValueError, match=r"non-finite value\(s\)"):
        model.encoder.step(torch.tensor([[0.0, float("-inf")], [1.0, 0.0]]), state)


def test_training_mode_with_batch_norm_is_refused():
    tcn = TCN(2, [4], kernel_size=3, norm="batch")
    state = tcn.init_state(1)
    with pytest.raises(ValueError, match="batch norm"):
        tcn.step(torch.randn(1, 2), state)
    tcn.eval()
    tcn.step(torch.randn(1, 2), state)


def test_mean_head_and_bad_tokens():
    model = make_model("tcn", input_size=3, output_size=2, head="mean", channels=[4], kernel_size=2)
    with pytest.raises(ValueError, match="mean"):
        model.init_state(1)
    lm = make_model("tcn", input_size=5, head="lm", input_adapter="embedding", embedding_size=4, channels=[4], kernel_size=2)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        lm.step(torch.tensor([7]), lm.init_state(1))
    with pytest.raises(ValueError, match=r"\(batch,\)"):
        lm.step(torch.tensor([[1]]), lm.init_state(1))
    assert isinstance(lm, SequenceModel)


def test_state_moves_with_a_model_converted_to_float64():
    tcn = TCN(2, [3, 4], kernel_size=3).eval()
    x = torch.randn(2, 6, 2, dtype=torch.float64)
    state = tcn.init_state(2)
    tcn.double()  # the folded weights go stale: the next step refolds them in float64
    state = state_to(state, dtype=torch.float64)
    outs = []
    with torch.no_grad():
        for t in range(6):
            y, state = tcn.step(x[:, t], state)
            outs.append(y)
        torch.testing.assert_close(torch.stack(outs, 1), tcn(x))
