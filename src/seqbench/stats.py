"""Statistics of a comparison over seeds: mean ± spread, a confidence interval, and a test of
whether two models differ by more than their seeds do.

* :func:`summarize`: mean, sample standard deviation (n - 1) and a Student-t confidence
  interval of the mean (mean ± t_{n-1, (1+c)/2} · std / sqrt(n)). With 3 seeds the interval
  is wide (t = 4.30 at 95%): that is what 3 seeds can say.
* :func:`welch`: Welch's unequal-variance t-test of two models' seed values. It needs no
  pairing of seeds and no equal spread, which different architectures rarely have. A
  difference is called significant at p < 0.05, two-sided.

The distributions come from scipy.stats (imported when first needed).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

CONFIDENCE = 0.95
ALPHA = 0.05
CI_METHOD = "Student t interval of the mean"
TEST_METHOD = "Welch's t-test (two-sided)"


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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        d["values"], d["ci_method"] = list(self.values), CI_METHOD
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

    @property
    def significant(self) -> bool | None:
        return None if self.p is None else self.p < ALPHA

    def verdict(self, higher_is_better: bool, a: str = "a", b: str = "b") -> str:
        """``"a better (p=0.004)"``, ``"no significant difference (p=0.31)"`` or why there is no test."""
        if self.p is None:
            return "not testable (needs 2+ seeds each, with spread)"
        if not self.significant:
            return f"no significant difference (p={self.p:.2g})"
        a_better = (self.mean_a > self.mean_b) == higher_is_better
        return f"{a if a_better else b} better (p={self.p:.2g})"

    def to_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant, "method": TEST_METHOD, "alpha": ALPHA}


def _clean(values: Sequence[float]) -> tuple[float, ...]:
    vals = tuple(float(v) for v in values if v is not None)
    if not vals:
        raise ValueError("no values to summarise")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"values must be finite, got {vals}")
    return vals


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """Mean, standard deviation and Student-t confidence interval of ``values`` (None ignored)."""
    vals = _clean(values)
    n = len(vals)
    mean = math.fsum(vals) / n
    if n == 1:
        return Summary(1, mean, None, None, vals, confidence)
    from scipy import stats

    std = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, (mean - half, mean + half), vals, confidence)


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
