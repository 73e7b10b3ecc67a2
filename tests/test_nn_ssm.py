"""The diagonal state-space kind ``ssm``: exactly causal, streams like its full forward, its
gradients are right, it learns, its bidirectional form ignores padding, and it is matched,
checked and exported like the other kinds."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import seqbench
import seqbench.tasks
from onnx_stream import run_stream
from seqbench.export import StepModule, export_step_onnx
from seqbench.nn import SSM, kinds, make_model, match_parameters
from seqbench.nn.ssm import DiagonalSSM, SSMState
from seqbench.nn.streaming import clone_state, reset_state, state_nbytes, state_to

SHAPES = dict(
    width=st.integers(2, 6),
    layers=st.integers(1, 3),
    state=st.integers(1, 6),
    chunk=st.integers(1, 9),  # lengths below run shorter and longer than a chunk, and across many
    length=st.integers(1, 40),
)


def _stream(model, x):
    state, outs = model.init_state(x.size(0)), []
    with torch.no_grad():
        for t in range(x.size(1)):
            y, state = model.step(x[:, t], state)
            outs.append(y)
    return torch.stack(outs, 1), state


def _sequential(layer: DiagonalSSM, u: torch.Tensor) -> torch.Tensor:
    """The layer's recurrence run one step at a time (no parallel form involved)."""
    state = torch.zeros(u.size(0), layer.channels, layer.state_size, 2, dtype=u.dtype)
    outs = []
    for t in range(u.size(1)):
        y, state = layer.step(u[:, t], state)
        outs.append(y)
    return torch.stack(outs, 1)


@given(**SHAPES, batch=st.integers(1, 3), position=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_no_output_reads_a_later_input(width, layers, state, chunk, length, batch, position, seed):
    torch.manual_seed(seed)
    model = SSM(2, width, num_layers=layers, state_size=state, chunk_size=chunk).double().eval()
    x = torch.randn(batch, length, 2, dtype=torch.float64)
    t = min(int(position * length), length - 1)
    changed = x.clone()
    changed[:, t:] = 100 * torch.randn_like(changed[:, t:])
    with torch.no_grad():
        assert torch.equal(model(x)[:, :t], model(changed)[:, :t])  # not close: equal, bit for bit


def test_the_gradient_from_every_later_input_is_exactly_zero():
    # what an FFT convolution cannot give: its rounding lets every input touch every output
    model = SSM(1, 4, num_layers=2, state_size=8, chunk_size=16).double()
    x = torch.randn(2, 100, 1, dtype=torch.float64, requires_grad=True)
    mix = torch.randn(4, dtype=torch.float64)  # not the plain sum: the final LayerNorm's outputs sum to 0
    (grad,) = torch.autograd.grad((model(x)[:, 60] * mix).sum(), x)
    assert grad[:, 61:].abs().max() == 0 and bool((grad[:, :61].abs().amax(0)[:, 0] > 0).all())


@given(width=st.integers(1, 4), state=st.integers(1, 5), chunk=st.integers(1, 9), length=st.integers(1, 50),
       bidirectional=st.booleans(), seed=st.integers(0, 2**16))
def test_the_parallel_form_is_the_recurrence(width, state, chunk, length, bidirectional, seed):
    torch.manual_seed(seed)
    layer = DiagonalSSM(width, state, chunk_size=chunk, dt_max=0.5, bidirectional=bidirectional).double()
    u = torch.randn(2, length, width, dtype=torch.float64)
    expected = _sequential(layer, u)  # the step reads the forward direction (C) and D
    if bidirectional:  # the backward direction: the recurrence on the reversed sequence with its own C
        backward = DiagonalSSM(width, state).double()
        backward.load_state_dict({k: v for k, v in layer.state_dict().items() if k != "c_backward"})
        with torch.no_grad():
            backward.c.copy_(layer.c_backward)
            backward.d.zero_()
        expected = expected + _sequential(backward, u.flip(1)).flip(1)
    torch.testing.assert_close(layer(u), expected, atol=1e-10, rtol=1e-10)


@given(**{**SHAPES, "width": st.integers(4, 8)}, batch=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_streaming_equals_the_full_forward_at_every_step(width, layers, state, chunk, length, batch, seed):
    # float32; from 4 channels on: a LayerNorm over 2 amplifies rounding up to 1 / sqrt(eps) = 316x
    torch.manual_seed(seed)
    model = make_model("ssm", input_size=3, output_size=2, hidden_size=width, num_layers=layers, state_size=state,
                       chunk_size=chunk, dropout=0.3).eval()
    x = torch.randn(batch, length, 3)
    streamed, final = _stream(model, x)
    with torch.no_grad():
        torch.testing.assert_close(streamed, model(x), atol=1e-5, rtol=1e-5)
    assert final.modes.shape == (layers, batch, width, state, 2)


def test_streaming_holds_over_a_long_sequence_in_float32():
    model = make_model("ssm", input_size=2, output_size=3, hidden_size=16, num_layers=3, chunk_size=64).eval()
    x = torch.randn(2, 700, 2)  # many chunks, and steps far from the start
    streamed, _ = _stream(model, x)
    with torch.no_grad():
        torch.testing.assert_close(streamed, model(x), atol=1e-5, rtol=1e-5)


def test_a_reset_slot_restarts_its_sequence_and_leaves_the_others():
    model = make_model("ssm", input_size=2, output_size=1, hidden_size=6, num_layers=2, state_size=4).eval()
    x, fresh = torch.randn(3, 10, 2), torch.randn(5, 2)
    state = model.init_state(3)
    with torch.no_grad():
        for t in range(10):
            _, state = model.step(x[:, t], state)
        reset_state(state, [1])
        outs = []
        for t in range(5):
            inputs = torch.cat([x[:1, t], fresh[None, t], x[2:, t]])
            y, state = model.step(inputs, state)
            outs.append(y)
        alone = model(fresh[None])[0]
    torch.testing.assert_close(torch.stack(outs, 1)[1], alone, atol=1e-6, rtol=1e-6)


def test_its_state_is_a_state():
    model = make_model("ssm", input_size=1, output_size=1, hidden_size=4, num_layers=2, state_size=3).eval()
    state = model.init_state(2)
    with torch.no_grad():
        _, state = model.step(torch.randn(2, 1), state)
    branch = clone_state(state)
    reset_state(branch, torch.tensor([True, False]))
    assert branch.modes[:, 0].abs().sum() == 0 and state.modes[:, 0].abs().sum() > 0
    assert torch.equal(branch.modes[:, 1], state.modes[:, 1])
    assert state_nbytes(state_to(state, dtype=torch.float64)) == 2 * 2 * 4 * 3 * 2 * 8


def test_a_layers_gradients_are_right_in_float64():
    for bidirectional in (False, True):
        layer = DiagonalSSM(2, 3, chunk_size=4, bidirectional=bidirectional, dt_max=0.5).double()
        names = [n for n, _ in layer.named_parameters()]
        u = torch.randn(2, 11, 2, dtype=torch.float64, requires_grad=True)  # 3 chunks, the last one short
        mask = torch.tensor([[True] * 11, [True] * 7 + [False] * 4]) if bidirectional else None

        def run(u, *params):
            return torch.func.functional_call(layer, dict(zip(names, params)), (u, mask))

        params = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]
        assert torch.autograd.gradcheck(run, (u, *params), eps=1e-6, atol=1e-6)


def _adding(n: int, length: int, generator: torch.Generator):
    """The adding problem: values and a mask marking two of them; the target is their sum."""
    values = torch.rand(n, length, generator=generator)
    marks = torch.zeros(n, length)
    for i in range(n):
        marks[i, torch.randperm(length, generator=generator)[:2]] = 1
    return torch.stack([values, marks], -1), (values * marks).sum(1, keepdim=True)


@pytest.mark.slow
def test_it_learns_the_adding_problem():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    (x, y), (x_test, y_test) = _adding(256, 30, g), _adding(256, 30, g)
    model = make_model("ssm", input_size=2, output_size=1, hidden_size=16, num_layers=2, state_size=8, head="last")
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(800):
        batch = torch.randint(0, 256, (32,), generator=g)
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x[batch]), y[batch]).backward()
        opt.step()
    with torch.no_grad():
        mse = torch.nn.functional.mse_loss(model(x_test), y_test).item()
    assert mse < 0.03 < y_test.var().item() / 4  # predicting the mean costs the variance, 1/6


@given(lengths=st.lists(st.integers(0, 23), min_size=1, max_size=4), extra=st.integers(0, 9),
       chunk=st.integers(1, 9), layers=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_the_bidirectional_form_ignores_padding(lengths, extra, chunk, layers, seed):
    torch.manual_seed(seed)
    model = SSM(2, 4, num_layers=layers, state_size=3, bidirectional=True, chunk_size=chunk).double().eval()
    time = max(lengths) + extra
    if time == 0:
        return
    x = 10 * torch.randn(len(lengths), time, 2, dtype=torch.float64)  # padding holds large values
    mask = torch.arange(time)[None] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        out = model(x, mask)
        for i, n in enumerate(lengths):
            if n:
                torch.testing.assert_close(out[i, :n], model(x[i: i + 1, :n])[0], atol=1e-10, rtol=1e-10)
            assert bool((out[i, n:] == 0).all())


def test_the_bidirectional_form_reads_the_future_and_cannot_stream():
    model = SSM(1, 4, bidirectional=True).eval()
    x = torch.randn(1, 20, 1)
    changed = x.clone()
    changed[:, -1] += 1
    with torch.no_grad():
        assert (model(x)[:, 0] - model(changed)[:, 0]).abs().max() > 1e-6
    for call in (lambda: model.init_state(1), model.export_step, lambda: StepModule(model)):
        with pytest.raises(ValueError, match="cannot stream"):
            call()
    assert not model.causal and "bidirectional" in model.describe()


def test_seqbench_check_passes_it_causal_and_streaming():
    causal = seqbench.check(make_model("ssm", input_size=2, output_size=1, hidden_size=6, num_layers=2, state_size=4,
                                       chunk_size=16), causal=True)
    assert causal.ok and causal.causality.holds and causal.streaming.holds and causal.padding.holds
    assert causal.receptive_field.history is None  # every earlier step, fading slowly
    whole = seqbench.check(make_model("ssm", input_size=2, output_size=1, hidden_size=6, num_layers=2, state_size=4,
                                      bidirectional=True))
    assert whole.ok and not whole.causality.causal and whole.padding.holds


def test_it_is_registered_built_and_matched_to_the_tcn():
    assert kinds()["ssm"] is SSM and list(kinds())[:6] == ["tcn", "lstm", "gru", "rnn", "transformer", "ssm"]
    tcn = make_model("tcn", input_size=2, output_size=1, hidden_size=24, levels=8, kernel_size=8, head="last")
    width = match_parameters("ssm", tcn.num_parameters(), input_size=2, output_size=1, head="last")
    model = make_model("ssm", input_size=2, output_size=1, hidden_size=width, head="last")
    wider = make_model("ssm", input_size=2, output_size=1, hidden_size=width + 1, head="last")
    gap = wider.num_parameters() - model.num_parameters()  # one unit of width
    assert abs(model.num_parameters() - tcn.num_parameters()) <= gap / 2 + 1
    assert isinstance(model.encoder, SSM) and model.encoder.num_layers == 4 and model.receptive_field == float("inf")


def test_tasks_build_it_causal_or_whole_sequence():
    task = seqbench.tasks.get("adding", seq_len=12)
    with torch.device("meta"):
        target = task.build_model("tcn", "small").num_parameters()
        model = task.build_model("ssm", "small")
        assert model.encoder.causal and abs(model.num_parameters() - target) / target < 0.05
        task.causal = False  # a whole-sequence task reads it both ways
        assert task.build_model("ssm", "small").encoder.bidirectional


@pytest.mark.parametrize("bad, message", [
    (dict(hidden_size=1), "hidden_size must be an integer >= 2"),
    (dict(state_size=0), "state_size"),
    (dict(chunk_size=0), "chunk_size"),
    (dict(dt_min=0.5, dt_max=0.1), "dt_min <= dt_max"),
    (dict(dropout=1.0), "dropout"),
])
def test_malformed_settings_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        SSM(**{"input_size": 2, "hidden_size": 4, **bad})


def test_misused_steps_are_refused():
    model = make_model("ssm", input_size=2, output_size=1, hidden_size=4, num_layers=2, dropout=0.1)
    with pytest.raises(ValueError, match="training mode with dropout"):
        model.step(torch.randn(1, 2), model.init_state(1))
    model.eval()
    with pytest.raises(ValueError, match="SSMState from this model"):
        model.step(torch.randn(1, 2), torch.zeros(2, 1, 4, 32, 2))
    with pytest.raises(ValueError, match=r"\(num_layers, batch, hidden_size, state_size, 2\)"):
        model.step(torch.randn(3, 2), model.init_state(2))
    with pytest.raises(ValueError, match="shape"):
        model(torch.randn(2, 5))


def test_its_step_exports_to_onnx_and_runs_like_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = make_model("ssm", input_size=3, output_size=2, hidden_size=5, num_layers=2, state_size=4).eval()
    path = export_step_onnx(model, tmp_path / "step.onnx")
    session, step = ort.InferenceSession(str(path)), StepModule(model)
    assert step.state_shapes(3) == [(2, 3, 5, 4, 2)]
    x = torch.randn(3, 30, 3)
    with torch.no_grad():
        np.testing.assert_allclose(run_stream(session, step, x), model(x).numpy(), atol=1e-5, rtol=1e-5)
    assert isinstance(model.init_state(1), SSMState)


def test_the_whole_model_exports_at_the_examples_length(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from seqbench.export import export_onnx

    model = make_model("ssm", input_size=2, output_size=3, hidden_size=6, num_layers=2, state_size=4,
                       chunk_size=8).eval()
    x = torch.randn(3, 20, 2)  # 3 chunks, the last one short
    session = ort.InferenceSession(str(export_onnx(model, tmp_path / "ssm.onnx", x[:2])))
    with torch.no_grad():
        np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], model(x).numpy(), atol=1e-5, rtol=1e-5)


def test_sequence_models_step_refuses_a_bidirectional_ssm_even_with_a_state_from_elsewhere():
    """SequenceModel.step goes to the kind's advance directly: the streamability check lives there."""
    both = make_model("ssm", input_size=3, output_size=1, hidden_size=8, head="last", bidirectional=True)
    forward_only = make_model("ssm", input_size=3, output_size=1, hidden_size=8, head="last")
    with pytest.raises(ValueError, match="cannot stream"):
        both.step(torch.randn(2, 3), forward_only.encoder.init_state(2))
