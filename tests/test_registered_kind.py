"""A model kind added in this one file, through ``seqbench.nn.register``, trains, compares,
streams, exports and is listed like the built-in kinds."""

import json
from typing import NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import seqbench
import seqbench.tasks
from onnx_stream import run_stream
from seqbench.export import StepModule, export_step_onnx
from seqbench.nn import Encoder, kinds, make_model, match_parameters, register, registry
from seqbench.nn.streaming import clone_state, reset_state, state_nbytes, state_to


class WindowState(NamedTuple):
    """The last ``window - 1`` inputs, (B, window - 1, C), oldest first: the state protocol of
    ``seqbench.nn.states``."""

    past: torch.Tensor

    def tensors(self):
        return [self.past]

    @property
    def batch_size(self):
        return self.past.shape[0]

    def reset(self, index):
        self.past.index_fill_(0, index.to(self.past.device), 0.0)

    def to(self, device=None, dtype=None):
        return WindowState(self.past.to(device=device, dtype=dtype).contiguous())

    def clone(self):
        return WindowState(self.past.clone())


class WindowStep(nn.Module):
    """The exported step: ``(x_t, past) -> (y_t, new past)``."""

    batch_dim = 0

    def __init__(self, encoder):
        super().__init__()
        self.linear, self.window, self.input_size = encoder.linear, encoder.window, encoder.input_size

    def state_shapes(self, batch_size):
        return [(batch_size, self.window - 1, self.input_size)]

    def forward(self, x, past):
        window = torch.cat([past, x[:, None]], 1)
        return self.linear(window.mean(1)), window[:, 1:]


class MovingAverage(Encoder):
    """A causal mean over the last ``window`` steps (zeros before the start), then a linear map."""

    NAME, LABEL = "movavg", "MovAvg"
    CAN_STREAM = CAN_EXPORT = True

    def __init__(self, input_size, hidden_size, window=3, dropout=0.0):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size, self.window = input_size, hidden_size, hidden_size, window
        self.linear = nn.Linear(input_size, hidden_size)
        self.drop = nn.Dropout(dropout)

    @property
    def receptive_field(self):
        return self.window

    def forward(self, x, mask=None):
        means = F.pad(x, (0, 0, self.window - 1, 0)).unfold(1, self.window, 1).mean(-1)
        return self.drop(self.linear(means))

    def init_state(self, batch_size, device=None, dtype=None):
        w = self.linear.weight
        return WindowState(torch.zeros(batch_size, self.window - 1, self.input_size, device=device or w.device,
                                       dtype=dtype or w.dtype))

    def step(self, x, state):
        y, past = WindowStep(self)(x, state.past)
        return y, WindowState(past)

    def export_step(self):
        return WindowStep(self)


@pytest.fixture
def movavg(monkeypatch):
    """MovingAverage registered for one test, and the registry as it was after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return register(MovingAverage)


ADDING = ["--seq-len", "12", "--variant", "train_size=96", "--variant", "valid_size=8", "--variant", "test_size=8",
          "--epochs", "1", "--threads", "1", "--no-progress"]


def test_the_command_line_takes_a_kind_once_it_is_registered(cli, tmp_path):
    code, _, err = cli(["train", "adding", "--model", "movavg", "--out", str(tmp_path), *ADDING])
    assert code == 2 and "movavg" in err and "tcn" in err
    assert "movavg" not in kinds()


def test_register_refuses_a_taken_name_and_a_malformed_class(movavg):
    assert kinds()["movavg"] is MovingAverage and list(kinds())[:5] == ["tcn", "lstm", "gru", "rnn", "transformer"]
    with pytest.raises(ValueError, match="'movavg' is registered already"):
        register(MovingAverage)
    with pytest.raises(ValueError, match="subclass of seqbench.nn.Encoder"):
        register(nn.Linear)
    with pytest.raises(ValueError, match="lower-case identifier"):
        register(type("Bad", (MovingAverage,), {"NAME": "Moving Average"}))
    with pytest.raises(ValueError, match="NAME must be"):  # inherited, not declared: a subclass names itself
        register(type("Sub", (MovingAverage,), {}))
    with pytest.raises(ValueError, match="CAN_STREAM is True but it does not override init_state, step"):
        register(type("NoStep", (Encoder,), {"NAME": "nostep", "LABEL": "NoStep", "CAN_STREAM": True}))
    with pytest.raises(ValueError, match="CAN_EXPORT must be True or False"):
        register(type("Vague", (Encoder,), {"NAME": "vague", "LABEL": "Vague", "CAN_EXPORT": "yes"}))
    with pytest.raises(ValueError, match="WHOLE_SEQUENCE"):
        register(type("Both", (Encoder,), {"NAME": "both", "LABEL": "Both", "BIDIRECTIONAL": True}))
    assert "nostep" not in kinds() and "vague" not in kinds()


def test_it_is_built_and_parameter_matched_by_name(movavg):
    tcn = make_model("tcn", input_size=2, output_size=1, hidden_size=8, levels=3, head="last")
    width = match_parameters("movavg", tcn.num_parameters(), input_size=2, output_size=1, head="last")
    model = make_model("movavg", input_size=2, output_size=1, hidden_size=width, levels=3, head="last", window=4)
    assert isinstance(model.encoder, MovingAverage) and model.encoder.window == 4
    assert abs(model.num_parameters() - tcn.num_parameters()) <= 4  # each unit of width adds 4 parameters


def test_a_task_builds_it_by_its_capabilities(movavg):
    task = seqbench.tasks.get("adding", seq_len=12)
    with torch.device("meta"):
        target = task.build_model("tcn", "small").num_parameters()
        assert abs(task.build_model("movavg", "small").num_parameters() - target) <= 4
        task.causal = False  # a whole-sequence task: a kind without WHOLE_SEQUENCE options reads causally
        assert isinstance(task.build_model("movavg", "small").encoder, MovingAverage)
        task.causal = True
        register(type("Peek", (MovingAverage,), {"NAME": "peek", "LABEL": "Peek", "CAUSAL": False}))
        with pytest.raises(ValueError, match="needs causal models and a peek model cannot be one"):
            task.build_model("peek", "small")


def test_it_streams_like_its_full_forward_and_its_state_is_a_state(movavg):
    model = make_model("movavg", input_size=3, output_size=2, hidden_size=5, window=4).eval()
    report = seqbench.check(model, causal=True, expect_rf=4)
    assert report.ok and report.streaming.holds and report.streaming.largest_difference < 1e-12
    state = model.init_state(2)
    y, state = model.step(torch.randn(2, 3), state)
    branch = clone_state(state)
    reset_state(branch, [1])
    assert branch.past[1].abs().sum() == 0 and state.past[1].abs().sum() > 0
    assert state_nbytes(state_to(state, dtype=torch.float64)) == 2 * 3 * 3 * 8


def test_its_step_exports_to_onnx(movavg, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = make_model("movavg", input_size=3, output_size=2, hidden_size=5).eval()
    path = export_step_onnx(model, tmp_path / "step.onnx")
    session, step = ort.InferenceSession(str(path)), StepModule(model)
    x = torch.randn(2, 7, 3)
    with torch.no_grad():
        np.testing.assert_allclose(run_stream(session, step, x), model(x).numpy(), atol=1e-5, rtol=1e-5)


def test_it_trains_compares_and_reports_like_a_built_in_kind(movavg, cli, tmp_path):
    code, out, err = cli(["models", "adding", "--preset", "small", "--seq-len", "12"])
    assert code == 0 and any(line.split()[0] == "movavg" for line in out.splitlines()[2:]), out + err
    code, _, err = cli(["train", "adding", "--model", "movavg", "--out", str(tmp_path / "train"), *ADDING])
    assert code == 0, err
    result = json.loads(next((tmp_path / "train").glob("*movavg*/result.json")).read_text())
    assert result["model"] == "movavg" and result["receptive_field"] == 3
    code, out, err = cli(["compare", "adding", "--models", "tcn,movavg", "--out", str(tmp_path / "cmp"), *ADDING])
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines() if line.startswith(("tcn ", "movavg "))] == ["tcn", "movavg"]
    summary = json.loads(next((tmp_path / "cmp").glob("compare-*/summary.json")).read_text())
    entry = next(e for e in summary["models"] if e["model"] == "movavg")
    assert "against_tcn" in entry
    report = next((tmp_path / "cmp").glob("compare-*/report.md")).read_text()
    assert "MovAvg" in report
