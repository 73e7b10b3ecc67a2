"""Statistics of a comparison: mean ± spread over folds and seeds, a confidence interval that
respects the metric's range, and a test of whether a model differs from the TCN.

Over seeds alone (results without per-item test statistics, the benchmark files):

* :func:`summarize`: mean, sample standard deviation (n - 1) and a Student-t confidence
  interval of the mean (mean ± t_{n-1, (1+c)/2} · std / sqrt(n)), clipped to the metric's range.
* :func:`welch`: Welch's unequal-variance t-test of two models' seed values. A difference is
  called significant at p < 0.05, two-sided.

Over test items (results that record ``test_items``; each run is a *unit*, one fold's test
set scored by one seed's model, and a model's value is the mean over its units):

* :func:`item_interval`: a percentile bootstrap over test items, each fold's items resampled
  within that fold (seeds of a fold see the same resampled items), the mean over units taken
  per resample. It measures how much the score depends on which test items were drawn, for
  these trained models; the seeds' spread is the std beside it. A proportion (accuracy with
  one item per sequence) gets the Wilson score interval on the distinct test items instead
  (every fold's test set together, at the mean over seeds): a bootstrap of a model right on
  every item collapses to a point. Both stay within the metric's range.
* :func:`paired_test`: the TCN against another model scored on the same test items: a paired
  bootstrap over items (the same resampled items for both models, folds and seeds as the
  outer level: the statistic is the difference of the means over units), two-sided, or the
  exact McNemar test for one run each of a proportion on one test set. Below
  :data:`MIN_TEST_ITEMS` items in all no test is made ("too few test items to test").

Dependent items: a forecast's test windows start one step apart, so neighbours share target
steps and their errors move together; resampling them one by one would claim a precision the
series does not hold. A unit's ``block`` (the task's ``item_block``: the horizon over the
windows' stride) says how many consecutive items are dependent: such items are resampled by a
circular moving-block bootstrap with blocks of that length (Politis and Romano), and count as
``n // block`` items against :data:`MIN_TEST_ITEMS`. McNemar's test (independent items) is not
used for them.

A unit's metric on resampled items is the ratio of the resampled item sums (sum of the
statistic / sum of its counts): what the primary metric is when the result's
``primary_statistic`` names it (accuracy, NLL, MSE; checked when the run wrote it).
Resampling is seeded (:data:`BOOTSTRAP_SEED`), so a report recomputes the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
ALPHA = 0.05
CI_METHOD = "Student t interval of the mean over seeds"
TEST_METHOD = "Welch's t-test over seeds (two-sided)"
BOOTSTRAP_METHOD = "percentile bootstrap over test items (resampled within each fold; mean over folds and seeds)"
WILSON_METHOD = "Wilson score interval over the distinct test items (all folds together, at the mean over seeds)"
PAIRED_METHOD = "paired bootstrap over test items (two-sided; folds and seeds as the outer level)"
MCNEMAR_METHOD = "exact McNemar test over test items (two-sided)"
MIN_TEST_ITEMS = 30  # below this many test items (all folds together) no test is made
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
# the values a metric can take; an interval never leaves them
METRIC_RANGES = {"accuracy": (0.0, 1.0), "nll": (0.0, math.inf), "nmse": (0.0, math.inf), "mse": (0.0, math.inf),
                 "loss": (0.0, math.inf), "rmse": (0.0, math.inf), "mae": (0.0, math.inf), "bpc": (0.0, math.inf),
                 "perplexity": (1.0, math.inf)}


@dataclass(frozen=True)
class Summary:
    """Seeds' values of one metric: ``n``, ``mean``, ``std`` (None for one seed) and the
    confidence interval ``ci`` (None for one seed)."""

    n: int
    mean: float
    std: float | None
    ci: tuple[float, float] | None
    values: tuple[float, ...]
    confidence: float = CONFIDENCE
    ci_method: str = CI_METHOD

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        d["values"] = list(self.values)
        return d


@dataclass(frozen=True)
class Difference:
    """Welch's t-test of ``a`` against ``b``: ``t``, degrees of freedom ``df``, two-sided ``p``;
    ``p`` is None when it cannot be computed (fewer than two values on a side, or no spread)."""

    mean_a: float
    mean_b: float
    t: float | None
    df: float | None
    p: float | None
    method: str = TEST_METHOD
    reason: str | None = None  # why there is no p-value
    items: int | None = None   # test items the test paired (all folds together)

    @property
    def significant(self) -> bool | None:
        return None if self.p is None else self.p < ALPHA

    def verdict(self, higher_is_better: bool, a: str = "a", b: str = "b") -> str:
        """``"a better (p=0.004)"``, ``"no significant difference (p=0.31)"`` or why there is no test."""
        if self.p is None:
            return self.reason or "not testable (needs 2+ seeds each, with spread)"
        if not self.significant:
            return f"no significant difference (p={self.p:.2g})"
        a_better = (self.mean_a > self.mean_b) == higher_is_better
        return f"{a if a_better else b} better (p={self.p:.2g})"

    def to_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant, "alpha": ALPHA}

    @classmethod
    def from_dict(cls, d: dict) -> "Difference":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def _clean(values: Sequence[float]) -> tuple[float, ...]:
    vals = tuple(float(v) for v in values if v is not None)
    if not vals:
        raise ValueError("no values to summarise")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"values must be finite, got {vals}")
    return vals


def clip(interval: tuple[float, float], metric: str | None) -> tuple[float, float]:
    """``interval`` cut to the values ``metric`` can take (:data:`METRIC_RANGES`; unknown: as is)."""
    low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
    return min(max(interval[0], low), high), max(min(interval[1], high), low)


def summarize(values: Sequence[float], confidence: float = CONFIDENCE, metric: str | None = None) -> Summary:
    """Mean, standard deviation and Student-t confidence interval of ``values`` (None ignored),
    the interval clipped to ``metric``'s range."""
    vals = _clean(values)
    n = len(vals)
    mean = math.fsum(vals) / n
    if n == 1:
        return Summary(1, mean, None, None, vals, confidence)
    from scipy import stats

    std = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, clip((mean - half, mean + half), metric), vals, confidence)


def welch(a: Sequence[float], b: Sequence[float]) -> Difference:
    """Welch's t-test of two samples (``a`` minus ``b``)."""
    a, b = _clean(a), _clean(b)
    sa, sb = summarize(a), summarize(b)
    if sa.n < 2 or sb.n < 2:
        return Difference(sa.mean, sb.mean, None, None, None)
    va, vb = sa.std ** 2 / sa.n, sb.std ** 2 / sb.n
    if va + vb == 0:
        return Difference(sa.mean, sb.mean, None, None, None)
    from scipy import stats

    t = (sa.mean - sb.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1))  # Welch-Satterthwaite
    p = 2.0 * float(stats.t.sf(abs(t), df))
    return Difference(sa.mean, sb.mean, t, df, p)


# -- over test items ------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One run's test: its ``value`` of the metric and, when recorded, each test item's statistic
    (``sums``, ``counts``; the metric is ``sums.sum() / counts.sum()``). ``fold`` names its test
    set: units of the same fold (seeds) were scored on the same items, in the same order.
    ``block`` > 1: runs of that many consecutive items are dependent (see the module)."""

    fold: str
    value: float
    sums: np.ndarray | None = field(default=None, compare=False)
    counts: np.ndarray | None = field(default=None, compare=False)
    block: int = 1  # consecutive items that are dependent (overlapping forecast windows)

    @property
    def has_items(self) -> bool:
        return self.sums is not None and len(self.sums) > 0


def ratio_statistic(metric: str, test_metrics: dict, items: dict | None) -> str | None:
    """``metric`` when its test value is the ratio of its item statistic's sums (sum over items /
    count over items: accuracy, NLL, MSE), else None (a perplexity, an RMSE, no items).

    Checked on the whole test split, whatever the task: it is what lets a report resample test
    items and recompute the metric from a result file alone.
    """
    if not items or metric not in items or test_metrics.get(metric) is None:
        return None
    total, count = math.fsum(items[metric]["sum"]), math.fsum(items[metric]["count"])
    value = test_metrics[metric]
    return metric if count > 0 and math.isclose(total / count, value, rel_tol=1e-6, abs_tol=1e-9) else None


def _folds(units: Sequence[Unit]) -> dict[str, tuple[int, int]] | None:
    """``{fold: (items, block)}`` when every unit has items and the units of a fold agree on
    their count and block."""
    if not units or not all(u.has_items for u in units):
        return None
    sizes: dict[str, tuple[int, int]] = {}
    for u in units:
        if sizes.setdefault(u.fold, (len(u.sums), u.block)) != (len(u.sums), u.block):
            return None
    return sizes


def effective_items(sizes: dict[str, tuple[int, int]]) -> int:
    """How many independent test items the folds hold: a block of dependent items counts once
    (13 forecast windows of horizon 12, one step apart, are one stretch of the series)."""
    return sum(max(1, n // block) for n, block in sizes.values())


def _draws(rng: np.random.Generator, n: int, block: int, count: int) -> np.ndarray:
    """``count`` bootstrap draws of ``n`` item indices: items drawn independently, or, for
    dependent items, a circular moving-block bootstrap (runs of ``block`` consecutive items,
    wrapping at the end so every item is drawn equally often) cut to ``n``."""
    if block <= 1:
        return rng.integers(0, n, size=(count, n))
    starts = rng.integers(0, n, size=(count, -(-n // block)))
    return ((starts[..., None] + np.arange(block)) % n).reshape(count, -1)[:, :n]


def _is_proportion(u: Unit) -> bool:
    """Each item one trial, right or wrong (accuracy of one label per sequence)."""
    return bool(np.all(u.counts == 1) and np.all((u.sums == 0) | (u.sums == 1)))


def _resampled_means(groups: Sequence[Sequence[Unit]], sizes: dict[str, tuple[int, int]], resamples: int,
                     seed: int) -> list[np.ndarray]:
    """For each group of units (a model's runs), the mean over its units of the metric on
    ``resamples`` bootstrap draws of test items: the same draws of a fold for every group and
    unit, so groups compare item for item."""
    rng = np.random.default_rng(seed)
    totals = [np.zeros(resamples) for _ in groups]
    for fold, (n, dependent) in sorted(sizes.items()):
        block = max(1, 2_000_000 // n)  # draws at a time: memory stays ~16 MB for any test size
        for start in range(0, resamples, block):
            idx = _draws(rng, n, dependent, min(block, resamples - start))
            for total, units in zip(totals, groups):
                for u in units:
                    if u.fold == fold:
                        counts = u.counts[idx].sum(1)
                        total[start:start + len(idx)] += u.sums[idx].sum(1) / np.where(counts > 0, counts, np.nan)
    return [total / len(units) for total, units in zip(totals, groups)]


def item_interval(units: Sequence[Unit], metric: str | None = None, confidence: float = CONFIDENCE,
                  resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                  min_items: int = MIN_TEST_ITEMS) -> tuple[tuple[float, float] | None, str] | None:
    """The ``confidence`` interval of the mean over ``units`` from their test items, and its
    method (Wilson for a proportion, else the bootstrap; see the module); None when some unit
    has no item statistics. The interval is None (and the method says why) when a bootstrap
    would resample fewer than ``min_items`` items: a percentile bootstrap of a few items (one
    forecast window) is a point or nearly one, and claims a precision the test set lacks."""
    sizes = _folds(units)
    if sizes is None:
        return None
    items = effective_items(sizes)
    if all(_is_proportion(u) for u in units):
        mean = math.fsum(float(u.sums.sum() / len(u.sums)) for u in units) / len(units)
        return wilson(mean, items, confidence), WILSON_METHOD
    if items < min_items:
        return None, _too_few("for an interval", sizes, min_items)
    means = _resampled_means([units], sizes, resamples, seed)[0]
    low, high = np.nanpercentile(means, [50 * (1 - confidence), 50 * (1 + confidence)])
    return clip((float(low), float(high)), metric), _bootstrap_method(BOOTSTRAP_METHOD, sizes)


def _too_few(what: str, sizes: dict[str, tuple[int, int]], min_items: int) -> str:
    """Why no interval or test is given, saying how dependent items were counted."""
    items, blocks = effective_items(sizes), sorted({block for _, block in sizes.values()})
    why = f"too few test items {what} ({items} < {min_items}"
    windows = sum(n for n, _ in sizes.values())
    if blocks == [1] or windows == items:  # nothing counted together
        return why + ")"
    return why + f": {windows} windows overlapping in runs of {'/'.join(map(str, blocks))} count as {items})"


def _bootstrap_method(method: str, sizes: dict[str, tuple[int, int]]) -> str:
    blocks = sorted({block for _, block in sizes.values() if block > 1})
    if not blocks:
        return method
    return (method.replace("bootstrap over test items", "moving-block bootstrap over test windows")
            + f"; blocks of {'/'.join(map(str, blocks))} consecutive windows, which share target steps")


def wilson(proportion: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a ``proportion`` observed on ``n`` trials (inside [0, 1], and
    not of zero width at 0 or 1, where a bootstrap of all-correct items collapses to a point)."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    centre = (proportion + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(proportion * (1 - proportion) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def summarize_units(units: Sequence[Unit], metric: str | None = None, confidence: float = CONFIDENCE) -> Summary:
    """Mean and std over ``units`` (folds and seeds) and the interval :func:`item_interval` gives
    (None with a reason for too few items), or, without item statistics, the Student-t interval
    over the units' values."""
    s = summarize([u.value for u in units], confidence, metric)
    interval = item_interval(units, metric, confidence)
    return s if interval is None else replace(s, ci=interval[0], ci_method=interval[1])


def paired_test(a: Sequence[Unit], b: Sequence[Unit], resamples: int = BOOTSTRAP_RESAMPLES,
                seed: int = BOOTSTRAP_SEED, min_items: int = MIN_TEST_ITEMS) -> Difference:
    """Model ``a`` against model ``b`` (``a`` minus ``b``), paired over test items when both were
    scored on the same items (same folds, same item counts), else Welch's test over their values.

    Paired: McNemar (exact) for one run each of a proportion on one test set, else a paired
    bootstrap: p = (1 + #{|d* - d| >= |d|}) / (B + 1), d the observed difference of the means
    over units and d* its resampled values (the bootstrap distribution shifted to the null).
    Fewer than ``min_items`` test items in all: no p-value, and ``reason`` says so.
    """
    mean_a = math.fsum(u.value for u in a) / len(a)
    mean_b = math.fsum(u.value for u in b) / len(b)
    sizes_a, sizes_b = _folds(a), _folds(b)
    if sizes_a is None or sizes_a != sizes_b:
        return welch([u.value for u in a], [u.value for u in b])
    items = effective_items(sizes_a)
    method = _bootstrap_method(PAIRED_METHOD, sizes_a)
    if items < min_items:
        return Difference(mean_a, mean_b, None, None, None, method,
                          _too_few("to test", sizes_a, min_items), items)
    if len(a) == len(b) == 1 and len(sizes_a) == 1 and a[0].block == 1 and _is_proportion(a[0]) \
            and _is_proportion(b[0]):
        from scipy.stats import binomtest

        only_a = int(np.sum((a[0].sums == 1) & (b[0].sums == 0)))
        only_b = int(np.sum((a[0].sums == 0) & (b[0].sums == 1)))
        p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
        return Difference(mean_a, mean_b, None, None, p, MCNEMAR_METHOD, None, items)
    ra, rb = _resampled_means([a, b], sizes_a, resamples, seed)
    d, resampled = mean_a - mean_b, ra - rb
    extreme = int(np.sum(np.abs(resampled - d) >= abs(d)))
    return Difference(mean_a, mean_b, None, None, (1 + extreme) / (resamples + 1), method, None, items)
