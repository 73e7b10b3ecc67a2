"""Statistics over test items: intervals inside the metric's range, tests that pair what is
paired, and no verdict from a handful of test items."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqbench import stats
from seqbench.stats import Unit, item_interval, paired_test, summarize, summarize_units


def _accuracy_unit(correct, fold="f0"):
    correct = np.asarray(correct, dtype=float)
    return Unit(fold, float(correct.mean()), correct, np.ones_like(correct))


@given(st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=40), min_size=1, max_size=4))
def test_an_accuracys_interval_lies_in_zero_one(seed_items):
    n = min(len(s) for s in seed_items)  # seeds of one fold share its items
    units = [_accuracy_unit(s[:n]) for s in seed_items]
    s = summarize_units(units, "accuracy")
    assert 0.0 <= s.ci[0] <= s.ci[1] <= 1.0


def test_seed_values_alone_get_an_interval_clipped_to_the_range():
    # two seeds of a 4-item test: Student t alone gives [-2.9, 3.9]
    s = summarize([0.25, 0.75], metric="accuracy")
    assert s.ci == (0.0, 1.0)
    assert summarize([0.25, 0.75]).ci[0] < 0  # a metric of unknown range keeps it


def test_an_accuracy_gets_wilsons_interval_on_its_distinct_test_items():
    from statsmodels.stats.proportion import proportion_confint

    unit = _accuracy_unit([1] * 30 + [0] * 10)
    (low, high), method = item_interval([unit], "accuracy")
    assert (low, high) == pytest.approx(proportion_confint(30, 40, method="wilson"))
    assert method == stats.WILSON_METHOD
    # three folds, every item right: not the point [1, 1] a bootstrap collapses to
    folds = [_accuracy_unit([1] * 20, fold=f"f{k}") for k in range(3)]
    (low, high), _ = item_interval(folds, "accuracy")
    assert (low, high) == pytest.approx(proportion_confint(60, 60, method="wilson")) and low < 0.95


def test_the_bootstrap_of_a_loss_repeats_and_covers_the_mean():
    rng = np.random.default_rng(1)
    units = [Unit(f"f{k}", 0.0, rng.exponential(size=50), np.full(50, 3.0)) for k in range(3)]
    units = [Unit(u.fold, u.sums.sum() / u.counts.sum(), u.sums, u.counts) for u in units]
    a, b = item_interval(units, "nll"), item_interval(units, "nll")
    assert a == b and a[1] == stats.BOOTSTRAP_METHOD
    mean = np.mean([u.value for u in units])
    assert 0 <= a[0][0] < mean < a[0][1]


def test_a_handful_of_test_items_gets_no_verdict():
    # the 4-item test set: Welch over seeds said "TCN better (p=0.0078)"
    tcn = [_accuracy_unit([1, 1, 1, 0]), _accuracy_unit([1, 1, 1, 1])]
    lstm = [_accuracy_unit([0, 0, 1, 0]), _accuracy_unit([0, 0, 0, 0])]
    d = paired_test(tcn, lstm)
    assert d.p is None and d.verdict(True, "TCN", "LSTM") == "too few test items to test (4 < 30)"


def test_one_run_each_on_one_test_set_is_mcnemars_test():
    from statsmodels.stats.contingency_tables import mcnemar

    rng = np.random.default_rng(0)
    a = rng.random(80) < 0.8
    b = np.where(rng.random(80) < 0.3, ~a, a)
    d = paired_test([_accuracy_unit(a)], [_accuracy_unit(b)])
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    assert d.method == stats.MCNEMAR_METHOD and d.p == pytest.approx(mcnemar(table, exact=True).pvalue)


def test_the_paired_bootstrap_sees_what_welch_over_seeds_cannot():
    rng = np.random.default_rng(2)
    hard = rng.exponential(size=(2, 60)) * np.linspace(0.1, 10, 60)  # items differ a lot in difficulty
    tcn = [Unit("f0", float(h.mean()), h, np.ones(60)) for h in hard]
    other = [Unit("f0", float(h.mean() + 0.05), h + 0.05, np.ones(60)) for h in hard]  # worse on every item
    paired = paired_test(tcn, other)
    assert paired.method == stats.PAIRED_METHOD and paired.p < 0.01 and paired.items == 60
    assert stats.welch([u.value for u in tcn], [u.value for u in other]).p > 0.5
    assert paired_test(tcn, other) == paired  # seeded: the same p every time


def test_results_without_items_fall_back_to_welch():
    d = paired_test([Unit("f", 0.5), Unit("f", 0.6)], [Unit("f", 0.2), Unit("f", 0.3)])
    assert d.method == stats.TEST_METHOD and d.p == pytest.approx(stats.welch([0.5, 0.6], [0.2, 0.3]).p)


def test_a_forecast_of_one_window_gets_no_interval():
    # the "187/1/1 windows": one test item, a bootstrap of it is a point
    one = Unit("f0", 0.7, np.array([0.7 * 30]), np.array([30.0]))
    s = summarize_units([one], "nmse")
    assert s.ci is None and s.ci_method == "too few test items for an interval (1 < 30)"
    assert paired_test([one], [Unit("f0", 0.9, np.array([27.0]), np.array([30.0]))]).p is None


def _window_unit(errors, block, fold="f0"):
    errors = np.asarray(errors, dtype=float)
    return Unit(fold, float(errors.mean()), errors, np.ones_like(errors), block)


def test_block_draws_are_runs_of_consecutive_items_wrapping_at_the_end():
    draws = stats._draws(np.random.default_rng(0), 23, 5, 50)
    assert draws.shape == (50, 23)
    steps = np.diff(draws, axis=1)[:, :4]  # the first run of each draw
    assert np.all((steps == 1) | (steps == -22))


def test_overlapping_windows_widen_the_interval_as_their_dependence_says():
    # 600 windows whose errors come in runs of 12 equal values (as windows sharing 12 target
    # steps do): 50 independent values, not 600. Resampled one by one, the interval is about
    # sqrt(12) too narrow; the block bootstrap gives the width of 50 independent values.
    rng = np.random.default_rng(1)
    errors = np.repeat(rng.exponential(1.0, 50), 12)
    (lo1, hi1), method1 = item_interval([_window_unit(errors, 1)], "mse")
    (lo12, hi12), method12 = item_interval([_window_unit(errors, 12)], "mse")
    assert (hi12 - lo12) / (hi1 - lo1) > 2.5
    expected = 2 * 1.96 * errors[::12].std(ddof=1) / np.sqrt(50)  # normal width of 50 values
    assert 0.6 < (hi12 - lo12) / expected < 1.4
    assert "moving-block" in method12 and "blocks of 12" in method12 and "moving-block" not in method1


def test_overlapping_windows_count_once_per_block_against_the_minimum():
    rng = np.random.default_rng(2)
    a, b = rng.exponential(1.0, 100), rng.exponential(2.0, 100)
    assert paired_test([_window_unit(a, 1)], [_window_unit(b, 1)]).p is not None
    d = paired_test([_window_unit(a, 12)], [_window_unit(b, 12)])  # 100 windows of horizon 12: 8 stretches
    assert d.p is None and d.reason == "too few test items to test (8 < 30: 100 windows overlapping in runs of 12 count as 8)"
    interval, reason = item_interval([_window_unit(a, 12)], "mse")
    assert interval is None and reason.startswith("too few test items for an interval (8 < 30: 100 windows")


def test_a_forecasts_test_windows_say_their_block_in_the_result(tmp_path):
    import pandas as pd

    from seqbench import tasks
    from seqbench.training.totals import ItemTotals

    path = tmp_path / "s.csv"
    pd.DataFrame({"time": range(300), "v": np.sin(np.arange(300) / 5)}).to_csv(path, index=False)
    stepwise = tasks.custom(path, target="v", input_length=16, horizon=6, test_size=60)
    assert stepwise.item_block == 6  # windows one step apart share 5 of their 6 steps
    assert tasks.custom(path, target="v", input_length=16, horizon=6, backtest=5).item_block == 1
    assert tasks.custom(path, target="v", input_length=16, horizon=6, backtest=5, stride=2).item_block == 3
    import torch

    totals = ItemTotals(stepwise)
    ds = stepwise.dataset("test")
    batch = {k: torch.stack([torch.as_tensor(ds[i][k]) for i in range(4)]) for k in ds[0]}
    totals.add(torch.zeros(4, stepwise.output_size), batch)
    assert all(entry["block"] == 6 for entry in totals.to_dict().values())
