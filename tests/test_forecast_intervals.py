"""Forecast intervals (issue 39): quantile and Gaussian heads, split-conformal intervals on a
point model, the references' intervals, their coverage and width, and predict's columns."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from seqbench import tasks
from seqbench.cli import main
from seqbench.tasks.custom import CustomTask, DataError
from seqbench.tasks.custom.intervals import Intervals, conformal_halfwidth, from_point, pinball


def iid_series(n: int, seed: int = 0) -> pd.DataFrame:
    """A series of independent standard normal draws: every window's residual around a
    zero forecast is exchangeable with every other's."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"time": np.arange(n), "y": rng.normal(size=n)})


class Constant(torch.nn.Module):
    """A point model forecasting 0 (the standardised mean) for every value."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.outputs = outputs
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, mask=None):
        return torch.zeros(len(x), self.outputs) + 0 * self.dummy


def binomial_band(p: float, m: int, alpha: float = 1e-4) -> tuple[float, float]:
    """The two-sided (1 - alpha) band of a share of ``m`` Bernoulli(p) draws."""
    lo, hi = stats.binom.interval(1 - alpha, m, p)
    return lo / m, hi / m


def test_conformal_halfwidth_covers_as_promised_on_a_known_distribution():
    # split conformal: P(inside) is in [level, level + 1/(n+1)] over calibration and test draws;
    # 400 trials of 50 calibration and 200 test draws of a Laplace distribution
    rng = np.random.default_rng(0)
    level, n, m, trials = 0.8, 50, 200, 400
    inside = 0
    for _ in range(trials):
        half = conformal_halfwidth(rng.laplace(size=(n, 1)), level)
        inside += int((np.abs(rng.laplace(size=m)) <= half[0]).sum())
    share = inside / (trials * m)
    lo, _ = binomial_band(level, trials * m)
    _, hi = binomial_band(level + 1 / (n + 1), trials * m)
    assert lo <= share <= hi


def test_conformal_halfwidth_is_infinite_when_too_few_windows_for_the_level():
    assert np.isinf(conformal_halfwidth(np.ones((5, 2)), 0.9)).all()     # ceil(6 * 0.9) = 6 > 5
    assert np.isfinite(conformal_halfwidth(np.ones((9, 2)), 0.9)).all()


def test_conformal_task_coverage_on_test_windows_lies_in_the_binomial_band():
    # a zero forecast of i.i.d. N(0, 1) values: residuals are the values themselves
    task = tasks.custom(iid_series(3000), target="y", input_length=4, horizon=2, test_size=1000, conformal=0.9)
    model = Constant(task.output_size)
    task.calibrate(model)
    n_valid = len(task.dataset("valid"))
    ds = task.dataset("test")
    batch = task.collate([ds[i] for i in range(len(ds))])
    metrics = task.metrics_of(model(batch["x"]), batch)
    lo, _ = binomial_band(0.9, len(ds))
    _, hi = binomial_band(0.9 + 1 / (n_valid + 1), len(ds))
    assert lo <= metrics["coverage90"] <= hi
    # the width is about the normal's central 90% interval, in the target's units
    std = task.spec.target_scaler.std[0]
    assert metrics["width90"] == pytest.approx(2 * 1.645 * std, rel=0.15)
    assert list(task.state()["calibration"]) == pytest.approx(task.calibration.tolist())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_quantiles_never_cross(n, values, seed):
    intervals = Intervals.of("0.05,0.1,0.5,0.9,0.95")
    out = torch.randn(n, values * 5, generator=torch.Generator().manual_seed(seed)) * 3   # raw outputs cross
    q = intervals.quantile_values(out)
    assert (q.diff(dim=-1) >= 0).all()
    assert torch.equal(intervals.point(out), q[..., 2])


def test_sorting_never_raises_the_pinball_loss():
    g = torch.Generator().manual_seed(0)
    raw, y = torch.randn(64, 3, 5, generator=g), torch.randn(64, 3, generator=g)
    levels = (0.05, 0.1, 0.5, 0.9, 0.95)
    assert pinball(raw.sort(-1).values, y, levels).sum() <= pinball(raw, y, levels).sum() + 1e-6


def test_gaussian_head_nll_and_quantiles_are_the_normals():
    intervals = Intervals.of(likelihood="gaussian")
    mean, raw = torch.tensor([[0.5]]), torch.tensor([[0.3]])
    out = torch.stack([mean, raw], -1).reshape(1, -1)
    scale = float(torch.nn.functional.softplus(raw)) + 1e-3
    y = torch.tensor([[1.2]])
    nll = intervals.loss(out, y)
    assert float(nll) == pytest.approx(-stats.norm.logpdf(1.2, 0.5, scale), rel=1e-5)
    q = intervals.quantile_values(out).flatten().tolist()
    assert q == pytest.approx(stats.norm.ppf([0.1, 0.5, 0.9], 0.5, scale).tolist(), rel=1e-5)


def test_quantile_head_trains_and_predict_writes_sorted_quantile_columns():
    df = iid_series(400)
    df["y"] = np.sin(np.arange(400) * 2 * np.pi / 12) + 0.3 * df["y"]
    task = tasks.custom(df, target="y", input_length=24, horizon=3, test_size=60, quantiles="0.1,0.5,0.9")
    torch.manual_seed(0)
    model = task.build_model("gru")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ds = task.dataset("train")
    batch = task.collate([ds[i] for i in range(len(ds))])
    first = float(task.loss(model(batch["x"]), batch).detach())
    for _ in range(60):
        optimizer.zero_grad()
        task.loss(model(batch["x"]), batch).backward()
        optimizer.step()
    assert float(task.loss(model(batch["x"]), batch).detach()) < 0.6 * first
    assert task.loss_metric.name == "pinball"
    predicted = task.predict(model, df)
    assert list(predicted.columns) == ["step", "time", "y", "y_q0.1", "y_q0.5", "y_q0.9"]
    assert len(predicted) == 3
    assert (predicted["y_q0.1"] <= predicted["y_q0.5"]).all() and (predicted["y_q0.5"] <= predicted["y_q0.9"]).all()
    assert np.allclose(predicted["y"], predicted["y_q0.5"])


def test_a_conformal_state_round_trips_and_predicts_its_interval():
    task = tasks.custom(iid_series(500), target="y", input_length=4, test_size=100, conformal=0.8)
    model = Constant(task.output_size)
    task.calibrate(model)
    restored = CustomTask.from_state(task.state())
    assert restored.spec.intervals == task.spec.intervals and restored.spec.to_dict()["version"] == 4
    rows = restored.predict(model, iid_series(500))
    half = float(task.calibration[0]) * task.spec.target_scaler.std[0]
    assert rows["y_q0.9"][0] - rows["y"][0] == pytest.approx(half, rel=1e-5)
    assert rows["y"][0] - rows["y_q0.1"][0] == pytest.approx(half, rel=1e-5)


def test_point_forecasts_keep_their_state_version_and_metrics():
    task = tasks.custom(iid_series(300), target="y", input_length=4, test_size=50)
    assert task.spec.to_dict()["version"] == 3 and "intervals" not in task.spec.to_dict()
    assert [m.name for m in task.metrics] == ["nmse", "rmse", "mae"]
    assert "quantiles" not in task.variant and "conformal" not in task.variant


def test_reference_intervals_from_validation_residuals_cover_on_a_known_distribution():
    rng = np.random.default_rng(1)
    valid_y, test_y = torch.as_tensor(rng.normal(size=(2000, 2))), torch.as_tensor(rng.normal(size=(3000, 2)))
    zeros = {"valid": torch.zeros(2000, 2), "test": torch.zeros(3000, 2)}
    out, half = from_point(Intervals.of("0.1,0.5,0.9"), zeros["valid"], valid_y.float(), zeros)
    q = out["test"].reshape(3000, 2, 3)
    share = float(((test_y >= q[..., 0]) & (test_y <= q[..., 2])).double().mean())
    lo, hi = binomial_band(0.8, 6000, alpha=1e-3)
    assert half is None and lo - 0.02 <= share <= hi + 0.02   # plus the calibration's own sampling error
    _, half = from_point(Intervals.of(conformal=0.9), zeros["valid"], valid_y.float(), zeros)
    assert half.tolist() == pytest.approx([stats.norm.ppf(0.95)] * 2, rel=0.1)


@pytest.mark.parametrize("options, message", [
    (dict(quantiles="0.1,0.9"), "include 0.5"),
    (dict(quantiles="0.1,0.5,1.5"), "in (0, 1)"),
    (dict(conformal=0.9, quantiles="0.1,0.5,0.9"), "leave out"),
    (dict(conformal=1.0), "coverage in (0, 1)"),
    (dict(likelihood="poisson"), "likelihood must be"),
])
def test_malformed_interval_options_are_refused(options, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tasks.custom(iid_series(300), target="y", input_length=4, test_size=50, **options)


def test_intervals_apply_to_forecasts_only():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sequence_id": np.repeat(np.arange(40), 5), "time": np.tile(np.arange(5), 40),
                       "x": rng.normal(size=200), "y": np.repeat(rng.normal(size=40), 5)})
    with pytest.raises(DataError, match="forecast intervals"):
        tasks.custom(df, target="y", task="regress", quantiles="0.1,0.5,0.9")


def test_math_of_level_names():
    assert Intervals.of("0.05,0.25,0.5,0.75,0.95").levels == (0.5, 0.9)
    assert math.isclose(Intervals.of(conformal=0.9).quantiles[0], 0.05)


def test_train_then_predict_a_conformal_forecast_from_the_checkpoint_alone(tmp_path):
    # the training module calibrates after each validation: the checkpoint carries its weights' calibration
    data = tmp_path / "noise.csv"
    iid_series(400).to_csv(data, index=False)
    main_args = ["train", "custom", "--file", str(data), "--target", "y", "--input-length", "8", "--horizon", "2",
                 "--test-size", "80", "--conformal", "0.9", "--model", "gru", "--epochs", "1", "--threads", "1",
                 "--out", str(tmp_path / "runs"), "--name", "r"]
    main(main_args)
    result = json.loads((tmp_path / "runs" / "r" / "result.json").read_text())
    assert {"coverage90", "width90"} <= set(result["metrics"]["test"])
    assert 0.5 < result["metrics"]["test"]["coverage90"] <= 1
    from seqbench.training import evaluate

    again = evaluate(tmp_path / "runs" / "r" / "checkpoints" / "best.ckpt", "test")["metrics"]
    assert again["coverage90"] == pytest.approx(result["metrics"]["test"]["coverage90"])
    assert again["width90"] == pytest.approx(result["metrics"]["test"]["width90"], rel=1e-5)
    out = tmp_path / "preds.csv"
    ckpt = tmp_path / "runs" / "r" / "checkpoints" / "best.ckpt"
    main(["predict", str(ckpt), "--file", str(data), "--out", str(out)])
    rows = pd.read_csv(out)
    assert list(rows.columns) == ["step", "time", "y", "y_q0.05", "y_q0.5", "y_q0.95"]
    assert (rows["y_q0.05"] < rows["y"]).all() and (rows["y"] < rows["y_q0.95"]).all()


def test_cli_refuses_conflicting_interval_options_before_reading(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "custom", "--file", str(tmp_path / "absent.csv"), "--conformal", "0.9",
              "--quantiles", "0.1,0.5,0.9"])
    assert info.value.code == 2 and "leave out --quantiles" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["train", "custom", "--file", str(tmp_path / "absent.csv"), "--quantiles", "0.2,0.8"])
    assert info.value.code == 2 and "0.5" in capsys.readouterr().err
