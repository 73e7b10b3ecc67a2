"""Many series, one model (issue 39): per-series scaling fitted on each series' train part
only, MASE and the error per series, and the done-when comparison's table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from custom_datasets import hourly_sites
from seqbench import tasks
from seqbench.cli import main
from seqbench.tasks.custom import CustomTask, DataError


def sites(weeks: int = 3) -> pd.DataFrame:
    return hourly_sites(weeks=weeks)


def build(df, **options):
    return tasks.custom(df, target="y", id_column="site", task="forecast", input_length=24, horizon=2, test_size=100,
                        **options)


def test_each_series_is_scaled_with_its_own_train_part():
    df = sites()
    task = build(df)
    assert task.variant["scaling"] == "series" and task.variant["task"] == "forecast"
    cut = len(df[df.site == "north"]) - 200          # test 100 steps, valid as many before them
    for site, scaler in task.spec.series_scalers.items():
        train = df[df.site == site][["price", "y"]].to_numpy()[:cut]
        assert scaler.mean == pytest.approx(train.mean(0).tolist())
        assert scaler.std == pytest.approx(train.std(0).tolist())
    # the sites' levels differ tenfold, yet every series' train targets are standardised to about (0, 1)
    ds = task.dataset("train")
    per_site = {}
    for i in range(len(ds)):
        s, _ = ds.starts[i]
        per_site.setdefault(s, []).append(float(ds[i]["y"][0]))
    assert all(abs(np.mean(v)) < 0.2 and 0.8 < np.std(v) < 1.2 for v in per_site.values())


def test_per_series_scaling_never_reads_a_valid_or_test_value():
    df = sites()
    task = build(df)
    changed = df.copy()
    rng = np.random.default_rng(0)
    for site in ("north", "south", "east"):
        rows = np.flatnonzero(changed.site == site)[-200:]       # the valid and test steps of each series
        changed.loc[rows, ["y", "price"]] = rng.normal(1e4, 1e3, size=(len(rows), 2))
    again = build(changed)
    assert again.spec.series_scalers == task.spec.series_scalers
    assert again.spec.input_scaler == task.spec.input_scaler
    items = lambda t: [t.dataset("train")[i] for i in range(len(t.dataset("train")))]  # noqa: E731
    assert all(torch.equal(a["mase_scale"], b["mase_scale"]) and torch.equal(a["scale"], b["scale"])
               for a, b in zip(items(task), items(again)))


def test_mase_and_the_error_per_series_are_what_they_say():
    df = sites()
    task = build(df)
    ds = task.dataset("test")
    batch = task.collate([ds[i] for i in range(len(ds))])
    guess = batch["x"][:, -1, [1]].repeat(1, 2)            # the last value, as a model's output
    metrics = task.metrics_of(guess, batch)
    assert {"mase", "mae@north", "mae@south", "mae@east", "mase@north"} <= set(metrics)
    rows = []
    for site in ("north", "south", "east"):
        y = df[df.site == site]["y"].to_numpy()
        n = len(y)
        train = y[: n - 200]
        naive = np.abs(train[24:] - train[:-24]).mean()     # seasonal period 24: an hourly index
        errors = [abs(y[t + h] - y[t - 1]) for t in range(n - 100, n - 1) for h in range(2)]
        rows.append((site, np.mean(errors), np.mean(errors) / naive, len(errors)))
        assert metrics[f"mae@{site}"] == pytest.approx(np.mean(errors), rel=1e-4)
        assert metrics[f"mase@{site}"] == pytest.approx(np.mean(errors) / naive, rel=1e-4)
    count = sum(r[3] for r in rows)
    assert metrics["mae"] == pytest.approx(sum(r[1] * r[3] for r in rows) / count, rel=1e-4)
    assert metrics["mase"] == pytest.approx(sum(r[2] * r[3] for r in rows) / count, rel=1e-4)
    assert task.spec.season == 24


def test_predict_scales_each_series_with_its_own_statistics():
    df = sites()
    task = build(df, scaling="series")
    model = task.build_model("gru").eval()
    rows = task.predict(model, df)
    assert rows["site"].tolist() == ["north", "north", "south", "south", "east", "east"]
    # a model that outputs 0 (each series' standardised train mean) forecasts each series' own mean
    zero = torch.nn.Linear(1, 1)

    class Zero(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = zero

        def forward(self, x, mask=None):
            return torch.zeros(len(x), 2)

    means = task.predict(Zero(), df).groupby("site", sort=False)["y"].first()
    for site, scaler in task.spec.series_scalers.items():
        assert means[site] == pytest.approx(scaler.mean[1])
    restored = CustomTask.from_state(task.state())
    assert np.allclose(restored.predict(model, df)["y"], rows["y"])
    with pytest.raises(DataError, match="was not in the training data"):
        task.predict(model, df.assign(site=df.site.replace("east", "west")))


def test_global_scaling_keeps_one_scaler_and_the_old_metrics():
    task = build(sites(), scaling="global")
    assert task.spec.series_scalers is None and [m.name for m in task.metrics] == ["nmse", "rmse", "mae"]
    assert "scale" not in task.dataset("train")[0]


def test_done_when_comparison_prints_errors_coverage_width_and_references(tmp_path, capsys):
    data = tmp_path / "sites.csv"
    sites(weeks=4).to_csv(data, index=False)
    main(["compare", "custom", "--file", str(data), "--target", "y", "--id-column", "site", "--calendar",
          "hour,dayofweek", "--quantiles", "0.1,0.5,0.9", "--test-size", "168", "--input-length", "24",
          "--models", "tcn,gru", "--steps", "4", "--threads", "1", "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("model") and "coverage80" in line)
    assert all(word in header for word in ("ours", "coverage80", "width80", "mase", "mae"))
    for row in ("tcn", "gru", "last value", "seasonal naive (period 24)", "autoregressive AR("):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert len(line.split()) > 10
    assert "per series" in out and "mae@north" in out
    report = next((tmp_path / "runs").glob("compare-*/report.md")).read_text()
    section = report[report.index("## Forecast intervals and series"):]
    assert "| model | coverage80 | mase | pinball | width80 | mae@east" in section
    assert "| last value |" in section and "| TCN |" in section


def test_series_embedding_tells_series_apart_for_every_kind():
    df = sites()
    task = build(df, series_embedding=3, scaling="global")
    assert task.dataset("train")[0]["x"].shape == (24, 2 + 1)           # features, then the series index
    parameters = {}
    for kind in ("tcn", "gru", "transformer"):
        torch.manual_seed(0)
        model = task.build_model(kind).eval()
        parameters[kind] = model.num_parameters()
        north = df[df.site == "north"]
        as_south = north.assign(site="south")       # the same history, told it is another series
        a, b = task.predict(model, north)["y"], task.predict(model, as_south)["y"]
        assert not np.allclose(a, b)
    assert max(parameters.values()) / min(parameters.values()) < 1.05
    with pytest.raises(DataError, match="no row"):
        task.predict(model, df[df.site == "east"].assign(site="west"))


def test_train_and_predict_with_a_series_embedding_from_the_checkpoint(tmp_path):
    data = tmp_path / "sites.csv"
    sites().to_csv(data, index=False)
    main(["train", "custom", "--file", str(data), "--target", "y", "--id-column", "site", "--task", "forecast",
          "--test-size", "100", "--input-length", "24", "--series-embedding", "2", "--model", "gru", "--epochs", "1",
          "--threads", "1", "--out", str(tmp_path / "runs"), "--name", "r"])
    out = tmp_path / "preds.csv"
    ckpt = tmp_path / "runs" / "r" / "checkpoints" / "best.ckpt"
    main(["predict", str(ckpt), "--file", str(data), "--out", str(out)])
    assert pd.read_csv(out)["site"].tolist() == ["north", "south", "east"]
