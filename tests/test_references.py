"""The references beside the models: fitted on train only, scored on exactly the models' test
items, written as results that load and add up; one test per reference family on tiny data
it must get right (MiniRocket's numba compile makes its one test slow)."""

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
import torch

from seqbench import tasks
from seqbench.references import (INSTALL, ReferenceWarning, Season, applicable, resolve_season, result_path,
                                 run_references, season_from_autocorrelation, season_from_times)
from seqbench.references.forecast import autoreg, last_value, seasonal_naive
from seqbench.results import RunResult

from test_custom_tasks import sequences_frame
from test_custom_text import reviews


def periodic_frame(n=240, period=12, times=None):
    """A purely periodic series (no noise): one cycle of ``period`` arbitrary values, repeated."""
    cycle = np.random.default_rng(1).normal(size=period)
    return pd.DataFrame({"time": np.arange(n) if times is None else times, "load": np.tile(cycle, n // period + 1)[:n]})


def ar2_frame(n=400, seed=0):
    """An AR(2) process with complex roots (a damped oscillation driven by noise)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 1.5 * y[t - 1] - 0.75 * y[t - 2] + rng.normal()
    return pd.DataFrame({"time": np.arange(n), "load": y})


def by_model(results):
    return {r.model: r for r in results}


# -- forecasts ----------------------------------------------------------------------------
def test_seasonal_naive_is_exact_on_a_periodic_series_and_infers_its_period(tmp_path):
    # the period (12) is longer than the window (8): the forecast reads the series before the window
    task = tasks.custom(periodic_frame(), target="load", input_length=8, horizon=3)
    notes = []
    results = by_model(run_references(task, tmp_path, announce=notes.append))
    naive = results["seasonal_naive"]
    assert naive.metrics["test"]["nmse"] < 1e-10 and naive.metrics["valid"]["nmse"] < 1e-10
    reference = naive.config["reference"]
    assert reference["label"] == "seasonal naive (period 12)" and reference["settings"]["period"] == 12
    assert "autocorrelation" in reference["settings"]["period_from"]
    assert any("period 12" in n for n in notes)
    assert results["last_value"].metrics["test"]["nmse"] > 0.1   # the series is not constant: the test can fail


def test_seasonal_naive_repeats_the_last_cycle_over_a_horizon_longer_than_the_period():
    task = tasks.custom(periodic_frame(period=4), target="load", input_length=6, horizon=10)
    fitted = seasonal_naive(task, Season(4, "given"))
    batch = task.collate([task.dataset("test")[i] for i in range(len(task.dataset("test")))])
    assert torch.allclose(fitted.outputs["test"], batch["y"].double(), atol=1e-5)
    wrong = seasonal_naive(task, Season(3, "given"))   # another period is not exact: the check can fail
    assert not torch.allclose(wrong.outputs["test"], batch["y"].double(), atol=1e-2)


def test_the_season_comes_from_a_regular_time_index(tmp_path):
    times = pd.date_range("2000-01-01", periods=240, freq="MS")
    # the data repeat every 6 steps; the monthly index says 12 (a multiple, so still exact)
    frame = periodic_frame(period=6, times=times)
    task = tasks.custom(frame, target="load", input_length=8, horizon=2)
    naive = by_model(run_references(task, tmp_path, times=frame["time"], announce=lambda line: None))["seasonal_naive"]
    assert naive.config["reference"]["settings"] == {"period": 12, "period_from": "the monthly time index"}
    assert naive.metrics["test"]["nmse"] < 1e-10
    assert resolve_season(task, times=[None, frame["time"]]).period == 12  # one entry per series
    assert resolve_season(task).period == 6                                # without times: the autocorrelation
    assert resolve_season(task, 9) == Season(9, "given")                   # given wins


@pytest.mark.parametrize("freq, period", [("h", 24), ("D", 7), ("B", 5), ("W", 52), ("ME", 12), ("QS", 4)])
def test_season_from_times_by_frequency(freq, period):
    assert season_from_times(pd.Series(pd.date_range("2001-01-01", periods=30, freq=freq))).period == period


def test_no_season_in_numbers_yearly_times_or_a_random_walk(tmp_path):
    assert season_from_times(pd.Series(np.arange(1700, 1800))) is None
    assert season_from_times(pd.Series(pd.date_range("1700-01-01", periods=50, freq="YS"))) is None
    walk = np.cumsum(np.random.default_rng(0).normal(size=300))
    assert season_from_autocorrelation([walk[:, None]]).period is None
    task = tasks.custom(pd.DataFrame({"time": np.arange(300), "load": walk}), target="load", input_length=8)
    with pytest.warns(ReferenceWarning, match="seasonal_naive skipped: no seasonal period"):
        results = by_model(run_references(task, tmp_path))
    assert set(results) == {"last_value", "autoreg"}
    with pytest.raises(ValueError, match="season must be an integer"):
        run_references(task, tmp_path, season=1)


def test_autoreg_beats_last_value_on_an_ar2_process(tmp_path):
    task = tasks.custom(ar2_frame(), target="load", input_length=16)
    results = by_model(run_references(task, tmp_path, season=None, announce=lambda line: None))
    ar, last = results["autoreg"], results["last_value"]
    # one step ahead the AR's error is the noise alone: about 0.4 of last value's on this process
    assert ar.metrics["test"]["nmse"] < 0.6 * last.metrics["test"]["nmse"]
    assert ar.config["reference"]["settings"]["orders"] == {"0/0": 2}   # AIC finds the order
    assert ar.parameters == 3 and ar.versions["statsmodels"]


def test_forecast_references_never_read_the_test_period_beyond_each_origin():
    frame = ar2_frame(n=300)
    first_test = int(round(300 * 0.85))   # the default split's test period starts here
    changed = first_test + 10
    perturbed = frame.copy()
    perturbed.loc[changed:, "load"] += 50.0
    options = dict(target="load", input_length=16, horizon=3)
    a, b = tasks.custom(frame, **options), tasks.custom(perturbed, **options)
    origins = np.array([start + 16 for _, start in a.dataset("test").starts])
    assert origins.min() == first_test
    before = origins <= changed           # forecasts from data that the perturbation did not touch
    assert before.sum() == 11 and (~before).sum() > 0
    for reference in (last_value, seasonal_naive, autoreg):
        fa, fb = reference(a, Season(12, "given")), reference(b, Season(12, "given"))
        assert torch.equal(fa.outputs["valid"], fb.outputs["valid"]), reference.__name__
        assert torch.equal(fa.outputs["test"][before], fb.outputs["test"][before]), reference.__name__
        # later origins see the change: the check above can fail
        assert not torch.equal(fa.outputs["test"][~before], fb.outputs["test"][~before]), reference.__name__
        assert fa.parameters == fb.parameters and fa.settings == fb.settings


# -- the written result -------------------------------------------------------------------
def test_the_result_loads_and_its_test_items_are_the_test_split_in_order(tmp_path):
    task = tasks.custom(periodic_frame(), target="load", input_length=8, horizon=3)
    run_references(task, tmp_path, season=12, suffix="-fold1")
    path = result_path(tmp_path, "last_value", "-fold1")
    assert path == tmp_path / "reference-last_value-fold1" / "result.json"
    result = RunResult.load(path)
    assert (result.model, result.preset, result.seed, result.epochs, result.steps) == \
        ("last_value", "reference", 0, 0, 0)
    assert result.primary_metric == "nmse" and not result.higher_is_better
    assert result.variant == task.variant and result.task == "custom"
    items = result.test_items["nmse"]
    test = task.dataset("test")
    assert len(items["sum"]) == len(test)
    assert math.isclose(sum(items["sum"]) / sum(items["count"]), result.metrics["test"]["nmse"], rel_tol=1e-9)
    # item i is the test split's item i: its last input value held, against its own targets
    for i in (0, len(test) // 2, len(test) - 1):
        x, y = test[i]["x"].double(), test[i]["y"].double()
        assert math.isclose(items["sum"][i], float(((x[-1, 0] - y) ** 2).sum()), rel_tol=1e-9, abs_tol=1e-12)


def test_a_written_result_is_reused_and_one_of_other_settings_refused(tmp_path):
    task = tasks.custom(periodic_frame(), target="load", input_length=8, horizon=3)
    first = run_references(task, tmp_path, season=12)
    path = result_path(tmp_path, "autoreg")
    stamp = path.stat().st_mtime_ns
    again = run_references(task, tmp_path, season=12)
    assert path.stat().st_mtime_ns == stamp and [r.to_dict() for r in again] == [r.to_dict() for r in first]
    with pytest.raises(ValueError, match="reference-last_value.*other settings"):
        run_references(task, tmp_path, season=6)


def test_a_missing_library_skips_its_reference_with_the_install_line(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "statsmodels" else real(name, *a))
    task = tasks.custom(periodic_frame(), target="load", input_length=8, horizon=3)
    notes = []
    results = by_model(run_references(task, tmp_path, announce=notes.append))
    assert set(results) == {"last_value"}   # no season given, and none inferred without statsmodels
    assert sum(INSTALL in n for n in notes) == 2 and any(n.startswith("reference autoreg skipped") for n in notes)
    assert not result_path(tmp_path, "autoreg").exists()


# -- sequences and texts ------------------------------------------------------------------
def test_applicable_by_problem():
    frame = sequences_frame(n=30)
    assert applicable(tasks.custom(frame.drop(columns=["amount"]), target="label")) == ["minirocket"]
    assert applicable(tasks.custom(frame.drop(columns=["label"]), target="amount", task="regress")) == \
        ["minirocket_ridge"]
    assert applicable(tasks.custom(sequences_frame(n=30, per_step=True).drop(columns=["amount"]),
                                   target="label")) == []
    assert applicable(tasks.custom(reviews(60), target="label", text="review")) == ["tfidf_logreg"]
    assert applicable(tasks.custom(periodic_frame(), target="load", input_length=8)) == \
        ["last_value", "seasonal_naive", "autoreg"]


def test_tfidf_logistic_regression_separates_a_separable_text_set(tmp_path):
    task = tasks.custom(reviews(200), target="label", text="review")
    (result,) = run_references(task, tmp_path)
    assert result.model == "tfidf_logreg" and result.primary_metric == "accuracy" and result.higher_is_better
    assert result.metrics["test"]["accuracy"] == 1.0 and result.metrics["test"]["nll"] < math.log(2) / 2
    assert result.config["reference"]["settings"]["C"] in result.config["reference"]["settings"]["C_grid"]
    items = result.test_items["accuracy"]
    assert len(items["sum"]) == len(task.dataset("test")) and sum(items["sum"]) == len(task.dataset("test"))


def test_tfidf_logistic_regression_never_reads_the_test_texts():
    from seqbench.references.text import tfidf_logreg

    frame = reviews(120, ids=True)
    options = dict(target="label", text="review", id_column="review_id")
    task = tasks.custom(frame, **options)
    flipped = frame.copy()
    rows = flipped["review_id"].isin(task.split_ids["test"])
    texts = flipped.loc[rows, "review"]
    swapped = texts.str.replace("good", "BAD").str.replace("bad", "good").str.replace("BAD", "bad")
    flipped.loc[rows, "review"] = "zebra " + swapped
    other = tasks.custom(flipped, **options)
    a, b = tfidf_logreg(task), tfidf_logreg(other)
    assert a.settings == b.settings and torch.equal(a.outputs["valid"], b.outputs["valid"])
    # the test texts changed (sentiment flipped, an unseen word added), and so did their outputs
    assert not torch.equal(a.outputs["test"], b.outputs["test"])


def test_tfidf_ridge_regresses_a_number_the_words_give(tmp_path):
    frame = reviews(200)
    frame["score"] = np.where(frame["label"] == "positive", 4.0, 1.0) + \
        0.1 * np.random.default_rng(0).normal(size=len(frame))
    task = tasks.custom(frame.drop(columns=["label"]), target="score", task="regress", text="review")
    (result,) = run_references(task, tmp_path)
    # the train mean scores about 1; unit-norm rows dilute the one word in longer texts
    assert result.model == "tfidf_ridge" and result.metrics["test"]["nmse"] < 0.3


@pytest.mark.slow
def test_minirocket_classifies_and_regresses_unequal_multivariate_sequences(tmp_path):
    frame = sequences_frame(n=60)   # lengths 4-11, two features, 3 classes the first feature's level gives
    classes = tasks.custom(frame.drop(columns=["amount"]), target="label")
    (result,) = run_references(classes, tmp_path)
    assert result.model == "minirocket" and result.metrics["test"]["accuracy"] >= 0.8   # chance is 1/3
    settings = result.config["reference"]["settings"]
    assert settings["length"] == 11 and settings["padded"] > 0 and result.versions["aeon"]
    # the NLL scores the probabilities: the items' sums are the NLL of each test sequence
    items = result.test_items["nll"]
    assert math.isclose(sum(items["sum"]) / len(items["sum"]), result.metrics["test"]["nll"], rel_tol=1e-9)
    numbers = tasks.custom(frame.drop(columns=["label"]), target="amount", task="regress")
    (regressed,) = run_references(numbers, tmp_path / "regress")
    assert regressed.model == "minirocket_ridge" and regressed.metrics["test"]["nmse"] < 0.5


def test_several_series_and_targets_keep_the_models_output_layout(tmp_path):
    rng = np.random.default_rng(2)
    frames = []
    for sid in ("north", "south"):
        cycles = rng.normal(size=(12, 2))
        values = np.tile(cycles, (20, 1))
        frames.append(pd.DataFrame({"sequence_id": sid, "time": np.arange(240), "a": values[:, 0], "b": values[:, 1],
                                    "temp": rng.normal(size=240)}))
    task = tasks.custom(pd.concat(frames), target="a,b", task="forecast", id_column="sequence_id",
                        input_length=8, horizon=3)
    results = by_model(run_references(task, tmp_path, season=12))
    # exact only when each window's (horizon, target) forecasts line up with its targets
    assert results["seasonal_naive"].metrics["test"]["nmse"] < 1e-10
    assert len(results["autoreg"].config["reference"]["settings"]["orders"]) == 4   # one AR per series and target
    assert len(results["last_value"].test_items["nmse"]["sum"]) == len(task.dataset("test"))


def test_a_constant_train_period_has_no_season_and_an_exact_ar0(tmp_path):
    frame = pd.DataFrame({"time": np.arange(100), "load": np.r_[np.full(85, 3.0), np.arange(15.0)]})
    task = tasks.custom(frame, target="load", input_length=8)
    notes = []
    results = by_model(run_references(task, tmp_path, announce=notes.append))
    assert notes == ["reference seasonal_naive skipped: no seasonal period: the train period is constant; "
                     "pass --season P"]
    ar = results["autoreg"]
    assert ar.config["reference"]["label"] == "autoregressive AR(0)" and ar.parameters == 1
    assert ar.metrics["valid"]["nmse"] == 0.0   # valid is still the constant stretch
