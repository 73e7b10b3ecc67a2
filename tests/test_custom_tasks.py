"""The custom task on tiny files written here: the three problems, the file formats, splits and scaling."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench import tasks
from seqbench.tasks.custom import ReceptiveFieldWarning


def sequences_frame(n=30, seed=0, per_step=False, labels=("cold", "warm", "hot")):
    """Long format: sequence_id, time, two features, a label that the first feature's level gives away."""
    rng = np.random.default_rng(seed)
    rows = []
    for sid in range(n):
        length, cls = int(rng.integers(4, 12)), sid % len(labels)
        amount = 2.5 * cls + 0.1 * rng.normal()  # one value per sequence
        for t in range(length):
            label = labels[(cls + t) % len(labels)] if per_step else labels[cls]
            rows.append({"sequence_id": f"s{sid:02d}", "time": t, "level": cls + 0.1 * rng.normal(),
                         "noise": rng.normal(), "label": label, "amount": amount})
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # row order must not matter


def series_frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.DataFrame({"time": t, "load": np.sin(t / 5) + 0.05 * rng.normal(size=n), "temp": np.cos(t / 7)})


def batch_of(task, split, n=8):
    ds = task.dataset(split)
    return task.collate([ds[i] for i in range(min(n, len(ds)))])


def test_classify_per_sequence_from_csv(tmp_path):
    path = tmp_path / "runs.csv"
    sequences_frame().drop(columns=["amount"]).to_csv(path, index=False)
    t = tasks.custom(path, target="label")
    # one label per whole sequence: models that see all of it, pooled by a masked mean
    assert t.spec["kind"] == "classify" and not t.spec["per_step"] and t.head == "mean" and not t.causal
    assert tasks.custom(path, target="label", causal=True).head == "last"  # causal: the last valid step
    assert t.spec["classes"] == ["cold", "hot", "warm"] and t.output_size == 3
    assert t.spec["features"] == ["level", "noise"] and t.input_size == 2
    assert sum(len(t.dataset(s)) for s in ("train", "valid", "test")) == 30
    assert any("inferred: classify" in line for line in t.describe())
    b = batch_of(t, "train")
    assert b["x"].shape[0] == 8 and b["x"].shape[2] == 2 and b["y"].dtype == torch.long and "mask" in b
    out = t.build_model("tcn")(b["x"], b["mask"])
    stats = t.statistics(out, b)
    assert set(stats) == {"accuracy", "nll"}
    assert torch.isclose(stats["nll"][0] / stats["nll"][1], t.loss(out, b))
    assert t.primary_metric.name == "accuracy" and t.primary_metric.higher_is_better


def test_regress_from_parquet_reports_original_units(tmp_path):
    path = tmp_path / "runs.parquet"
    sequences_frame().drop(columns=["label"]).to_parquet(path)
    t = tasks.custom(path, target="amount", task="regress")
    assert t.spec["kind"] == "regress" and t.output_size == 1
    b = batch_of(t, "valid", 3)
    out = torch.zeros(len(b["y"]), 1)  # predicting the (scaled) train mean
    stats = t.statistics(out, b)
    std = t.spec["scaling"]["target_std"][0]
    assert torch.isclose(stats["nmse"][0] / stats["nmse"][1], t.loss(out, b))
    metrics = t.compute_metrics({k: (float(a), float(c)) for k, (a, c) in stats.items()})
    assert np.isclose(metrics["rmse"], np.sqrt(metrics["nmse"]) * std, rtol=1e-5)
    assert t.primary_metric.name == "nmse" and not t.primary_metric.higher_is_better


def test_per_step_labelling_masks_padding(tmp_path):
    path = tmp_path / "steps.csv"
    sequences_frame(per_step=True).drop(columns=["amount"]).to_csv(path, index=False)
    t = tasks.custom(path, target="label", task="classify")
    assert t.spec["per_step"] and t.head == "per_step"
    b = batch_of(t, "train")
    out = t.build_model("gru", hidden_size=8)(b["x"], b["mask"])
    assert out.shape == b["x"].shape[:2] + (3,)
    # padded steps are not scored: garbage there changes nothing
    noisy = out.clone()
    noisy[~b["mask"]] = 1e4
    assert t.statistics(out, b)["accuracy"] == t.statistics(noisy, b)["accuracy"]
    assert t.statistics(out, b)["accuracy"][1] == b["mask"].sum()


def test_dataframe_and_get_give_the_same_task(tmp_path):
    frame = sequences_frame().drop(columns=["amount"])
    a = tasks.custom(frame, target="label")
    b = tasks.get("custom", file=frame, target="label")
    assert a.spec == b.spec and "custom" not in tasks.names()
    with pytest.raises(ValueError, match="task custom has no variant seq_len"):
        tasks.get("custom", file=frame, target="label", seq_len=3)


def test_npz_sequences_with_lengths(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 9, 3)).astype(np.float32)
    lengths = rng.integers(3, 10, size=20)
    y = (np.arange(20) % 2).astype(np.int64)
    np.savez(tmp_path / "seqs.npz", x=x, y=y, lengths=lengths)
    t = tasks.custom(tmp_path / "seqs.npz")
    assert t.spec["kind"] == "classify" and t.spec["features"] == ["x0", "x1", "x2"] and t.spec["classes"] == [0, 1]
    items = [t.dataset("train")[i] for i in range(len(t.dataset("train")))]
    assert sorted(len(i["x"]) for i in items) != [9] * len(items)  # lengths were honoured
    np.savez(tmp_path / "steps.npz", x=x, y=rng.normal(size=(20, 9, 2)))
    r = tasks.custom(tmp_path / "steps.npz")
    assert r.spec["kind"] == "regress" and r.spec["per_step"] and r.output_size == 2


def test_scaling_is_fitted_on_the_train_split_only(tmp_path):
    frame = sequences_frame(n=40).drop(columns=["amount"])
    t = tasks.custom(frame, target="label")
    train = frame[frame.sequence_id.isin(t.split_ids["train"])]
    assert np.allclose(t.spec["scaling"]["mean"], train[["level", "noise"]].mean().to_numpy())
    assert np.allclose(t.spec["scaling"]["std"], train[["level", "noise"]].std(ddof=0).to_numpy())
    assert not np.allclose(t.spec["scaling"]["mean"], frame[["level", "noise"]].mean().to_numpy())
    everything = torch.cat([t.dataset("train")[i]["x"] for i in range(len(t.dataset("train")))])
    assert torch.allclose(everything.mean(0), torch.zeros(2), atol=1e-5)
    assert set(t.split_ids["train"]).isdisjoint(t.split_ids["test"])
    json.dumps(t.state())  # what a checkpoint carries is plain JSON


def test_forecast_windows_and_default_tcn_covers_input(tmp_path):
    path = tmp_path / "load.csv"
    series_frame().to_csv(path, index=False)
    t = tasks.custom(path, target="load", input_length=20, horizon=3)
    assert t.spec["kind"] == "forecast" and t.spec["features"] == ["load", "temp"]
    assert t.output_size == 3 and t.head == "last"
    item = t.dataset("test")[0]
    assert item["x"].shape == (20, 2) and item["y"].shape == (3,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default TCN must not warn
        model = t.build_model("tcn")
    assert model.receptive_field >= 20
    with pytest.warns(ReceptiveFieldWarning, match=r"receptive field \(7 steps\).*plan_tcn\(20\) suggests"):
        t.build_model("tcn", levels=2, kernel_size=2)
    lstm = t.build_model("lstm")
    assert abs(lstm.num_parameters() - model.num_parameters()) / model.num_parameters() < 0.05


@given(n=st.integers(40, 160), length=st.integers(1, 12), horizon=st.integers(1, 5),
       train=st.floats(0.5, 0.8), valid=st.floats(0.1, 0.19))
def test_forecast_targets_never_cross_the_split_boundaries(n, length, horizon, train, valid):
    """The value is the row number, so every target shows where it came from."""
    frame = pd.DataFrame({"row": np.arange(n, dtype=float)})
    split = (train, valid, 1 - train - valid)  # test >= 0.01: a zero or negative fraction is a bad split
    b1, b2 = int(round(n * split[0])), int(round(n * (split[0] + split[1])))
    try:
        t = tasks.custom(frame, target="row", task="forecast", input_length=length, horizon=horizon, split=split)
    except ValueError as e:
        assert "split is empty" in str(e)
        return
    s = t.spec["scaling"]
    assert np.isclose(s["mean"][0], (b1 - 1) / 2)  # fitted on rows 0..b1-1 only
    bounds = {"train": (0, b1), "valid": (b1, b2), "test": (b2, n)}
    for split_name, (lo, hi) in bounds.items():
        ds = t.dataset(split_name)
        rows = np.array([(ds[i]["y"].numpy() * s["std"][0] + s["mean"][0]) for i in range(len(ds))])
        assert rows.min() >= lo - 1e-3 and rows.max() <= hi - 1 + 1e-3
        assert len(ds) == hi - max(lo, length) - horizon + 1  # every window that fits, once
        last_input = np.array([ds[i]["x"][-1, 0].item() * s["std"][0] + s["mean"][0] for i in range(len(ds))])
        assert np.allclose(rows.reshape(len(ds), -1)[:, 0], last_input + 1, atol=1e-3)  # targets follow inputs


def test_a_few_steps_of_training_learn_the_labels(tmp_path):
    t = tasks.custom(sequences_frame(n=60).drop(columns=["amount"]), target="label", hidden_size=16)
    model = t.build_model("tcn")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    ds = t.dataset("train")
    batch = t.collate([ds[i] for i in range(len(ds))])
    first = t.loss(model(batch["x"], batch["mask"]), batch).item()
    for _ in range(20):
        opt.zero_grad()
        loss = t.loss(model(batch["x"], batch["mask"]), batch)
        loss.backward()
        opt.step()
    model.eval()
    valid = t.collate([t.dataset("valid")[i] for i in range(len(t.dataset("valid")))])
    totals = t.statistics(model(valid["x"], valid.get("mask")), valid)
    assert loss.item() < first / 3
    assert t.compute_metrics(totals)["accuracy"] >= 0.8


def test_baselines_are_what_they_say():
    frame = sequences_frame(n=40).drop(columns=["amount"])
    t = tasks.custom(frame, target="label")
    name, metrics = t.baseline("test")
    train_labels = [int(t.dataset("train")[i]["y"]) for i in range(len(t.dataset("train")))]
    majority = max(set(train_labels), key=train_labels.count)
    test_labels = [int(t.dataset("test")[i]["y"]) for i in range(len(t.dataset("test")))]
    assert name.startswith(f"always {t.spec['classes'][majority]!r}")
    assert np.isclose(metrics["accuracy"], test_labels.count(majority) / len(test_labels))
    series = pd.DataFrame({"v": np.arange(100.0)})  # a ramp: the last value is off by 1..horizon
    f = tasks.custom(series, target="v", task="forecast", input_length=5, horizon=2)
    name, metrics = f.baseline("valid")
    assert name == "last value" and np.isclose(metrics["mae"], 1.5) and np.isclose(metrics["rmse"], np.sqrt(2.5))
    assert any(line.startswith("baseline on test (last value): nmse") for line in f.describe())
