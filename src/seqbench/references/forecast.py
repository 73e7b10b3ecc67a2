"""Forecast references: last value, seasonal naive and an autoregressive model.

Each forecast is made from the data up to its window's origin (the end of the window's
inputs), read from the whole series of the task's :class:`WindowDataset`, so a seasonal
period longer than the window still works. What is fitted (the AR coefficients, the period
inferred from the autocorrelation) sees only each series' **train period**: the steps up to
the last target of its train windows. Forecasts are in the task's standardised units and
layout (``horizon * targets`` per window, step-major), so the task scores them as a model's.

Each target of each series is forecast on its own (univariate references).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .base import Fitted, Skipped, require, version_of

# the seasonal period of a regular time index's frequency (a multiple such as "2h" has none)
SEASON_OF_FREQUENCY = {
    "Hour": (24, "hourly"), "Day": (7, "daily"), "BusinessDay": (5, "business-daily"), "Week": (52, "weekly"),
    "MonthBegin": (12, "monthly"), "MonthEnd": (12, "monthly"), "BusinessMonthBegin": (12, "monthly"),
    "BusinessMonthEnd": (12, "monthly"), "QuarterBegin": (4, "quarterly"), "QuarterEnd": (4, "quarterly"),
    "BQuarterBegin": (4, "quarterly"), "BQuarterEnd": (4, "quarterly"),
}
# An autocorrelation peak is a period when it is significant (above the white-noise 95%
# bound, and at least MIN_PEAK) and stands out from the trough before it by MIN_PROMINENCE:
# a decaying autocorrelation (a trend, AR(1)) has no such peak, only small bumps.
MIN_PEAK, MIN_PROMINENCE = 0.2, 0.1
MIN_CYCLES = 3      # an inferred period fits at least this many times into the train period
MIN_AR_TRAIN = 8    # fewest train-period steps an AR model is fitted on


@dataclass(frozen=True)
class Season:
    """A seasonal period and where it came from (``period`` None: none was found, ``source`` says why)."""

    period: int | None
    source: str


@dataclass
class Origins:
    """The forecast origins of a split: ``targets[s]`` (T, K) is series ``s``'s targets
    (standardised, float64), and window ``i`` forecasts series ``series[i]`` from its
    steps before ``ends[i]``."""

    targets: list[np.ndarray]
    series: np.ndarray
    ends: np.ndarray
    horizon: int

    @classmethod
    def of(cls, task, split: str) -> "Origins":
        ds = task.dataset(split)
        index = [int(i) for i in ds.target_index.reshape(-1)]
        targets = [np.asarray(s[:, index], dtype=np.float64) if len(s) else np.empty((0, len(index)))
                   for s in ds.series]
        pairs = np.asarray(ds.starts, dtype=np.int64).reshape(-1, 2)
        return cls(targets, pairs[:, 0], pairs[:, 1] + ds.length, ds.horizon)

    def output(self, forecasts: np.ndarray) -> torch.Tensor:
        """(N, H, K) forecasts in the task's layout (N, H * K), step-major like its targets."""
        return torch.as_tensor(forecasts.reshape(len(forecasts), -1))


def train_periods(task) -> dict[int, np.ndarray]:
    """``{series: its train-period targets (T, K)}``: each series up to the last target of its
    train windows (the only steps a reference may fit on)."""
    origins = Origins.of(task, "train")
    ends = {}
    for s, e in zip(origins.series, origins.ends):
        ends[int(s)] = max(ends.get(int(s), 0), int(e) + origins.horizon)
    return {s: origins.targets[s][:end] for s, end in sorted(ends.items())}


# -- the seasonal period ----------------------------------------------------------------
def season_from_times(times) -> Season | None:
    """The season of a regular datetime index (hourly 24, daily 7, business-daily 5, weekly 52,
    monthly 12, quarterly 4), or None (numbers, irregular times, or another frequency)."""
    import pandas as pd

    times = pd.Series(times)
    if len(times) < 3 or not pd.api.types.is_datetime64_any_dtype(times):
        return None
    freq = pd.infer_freq(pd.DatetimeIndex(times))
    if freq is None:
        return None
    offset = pd.tseries.frequencies.to_offset(freq)
    found = SEASON_OF_FREQUENCY.get(type(offset).__name__) if offset.n == 1 else None
    return None if found is None else Season(found[0], f"the {found[1]} time index")


def season_from_autocorrelation(periods: Sequence[np.ndarray]) -> Season:
    """The lag of the highest autocorrelation peak of the train-period targets (averaged over
    series and targets), between 2 and a third of the shortest train period; ``period`` None
    when no peak is significant and prominent (:data:`MIN_PEAK`, :data:`MIN_PROMINENCE`)."""
    from scipy.signal import find_peaks
    from statsmodels.tsa.stattools import acf

    columns = [p[:, k] for p in periods for k in range(p.shape[1])]
    n = min(len(c) for c in columns)
    columns = [c for c in columns if np.ptp(c) > 0]   # a constant has no autocorrelation
    if not columns:
        return Season(None, "the train period is constant")
    top = n // MIN_CYCLES
    if top < 3:
        return Season(None, f"the train period ({n} steps) is too short to infer a seasonal period")
    mean = np.mean([acf(c, nlags=top, fft=True) for c in columns], axis=0)
    height = max(MIN_PEAK, 1.96 / math.sqrt(n))
    peaks, _ = find_peaks(mean, height=height, prominence=MIN_PROMINENCE)
    peaks = peaks[peaks >= 2]
    if not len(peaks):
        return Season(None, f"no autocorrelation peak above {height:.2f} at lags 2-{top} of the train period")
    lag = int(peaks[np.argmax(mean[peaks])])
    return Season(lag, f"the autocorrelation of the train period (peak {mean[lag]:.2f} at lag {lag})")


def resolve_season(task, season: int | None = None, times=None) -> Season:
    """The seasonal period the forecast references use: ``season`` when given, else that of a
    regular time index (``times``: one series' times, or a list with one per series), else
    the train period's autocorrelation."""
    if season is not None:
        if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 2:
            raise ValueError(f"season must be an integer of at least 2 (steps per cycle), got {season!r}")
        return Season(int(season), "given")
    if times is not None:
        import pandas as pd

        one_series = isinstance(times, (pd.Series, pd.Index, np.ndarray))
        for each in [times] if one_series else times:
            found = None if each is None else season_from_times(each)
            if found is not None:
                return found
    try:
        require("statsmodels")
    except Skipped as e:
        return Season(None, f"no season given (--season) and inferring one {e}")
    return season_from_autocorrelation(list(train_periods(task).values()))


# -- the references ---------------------------------------------------------------------
def _forecast(task, method) -> dict[str, torch.Tensor]:
    """``{split: outputs}`` for valid and test; ``method(targets, ends, horizon)`` gives the
    (N, H, K) forecasts of one series' windows from its steps before each end."""
    outputs = {}
    for split in ("valid", "test"):
        o = Origins.of(task, split)
        forecasts = np.empty((len(o.ends), o.horizon, o.targets[0].shape[1] if o.targets else 0))
        for s in np.unique(o.series):
            rows = np.flatnonzero(o.series == s)
            forecasts[rows] = method(int(s), o.targets[s], o.ends[rows], o.horizon)
        outputs[split] = o.output(forecasts)
    return outputs


def last_value(task, season: Season) -> Fitted:
    """Each target's last value before the origin, held for the whole horizon."""
    def method(s, y, ends, horizon):
        return np.repeat(y[ends - 1][:, None, :], horizon, axis=1)

    return Fitted("last value", _forecast(task, method))


def seasonal_naive(task, season: Season) -> Fitted:
    """The value one period before each forecast step: step ``h`` (1..H) of the window ending
    at ``e`` is ``y[e - P + (h - 1) mod P]`` (the last observed cycle, repeated)."""
    p = season.period
    if p is None:
        raise Skipped(f"no seasonal period: {season.source}; pass --season P")
    first = min(int(Origins.of(task, split).ends.min()) for split in ("valid", "test"))
    if p > first:
        raise Skipped(f"the period {p} is longer than the {first} steps before the first forecast origin")

    def method(s, y, ends, horizon):
        steps = ends[:, None] - p + np.arange(horizon)[None, :] % p        # (N, H)
        return y[steps]

    return Fitted(f"seasonal naive (period {p})", _forecast(task, method),
                  settings={"period": p, "period_from": season.source})


def max_lag(n: int, period: int | None) -> int:
    """The largest AR order tried on ``n`` train steps: R's ``ar()`` rule 10 log10(n), raised
    to reach one period back when there is one, and never above a quarter of the steps."""
    lag = math.ceil(10 * math.log10(n))
    if period is not None:
        lag = max(lag, period + 1)
    return max(1, min(lag, n // 4))


def autoreg(task, season: Season) -> Fitted:
    """An AR(p) model with a constant per series and target (statsmodels ``AutoReg``), fitted
    on the train period with the order chosen by AIC up to :func:`max_lag`; forecasts over the
    horizon are recursive (each forecast step feeds the next)."""
    require("statsmodels")
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning
    from statsmodels.tsa.ar_model import ar_select_order

    periods = train_periods(task)
    models: dict[tuple[int, int], tuple[float, np.ndarray]] = {}   # (series, target) -> const, coefficients
    for s, y in periods.items():
        if len(y) < MIN_AR_TRAIN:
            raise Skipped(f"a train period of {len(y)} steps is too short to fit an AR model (needs {MIN_AR_TRAIN})")
        for k in range(y.shape[1]):
            if np.ptp(y[:, k]) == 0:   # constant: AR(0) fits it exactly (and AIC is undefined)
                models[s, k] = y[0, k], np.empty(0)
                continue
            with warnings.catch_warnings():
                # orders beyond what a (nearly) periodic series needs make a rank-deficient design;
                # the least-squares fit is still a valid predictor, and AIC rarely picks such an order
                warnings.simplefilter("ignore", SingularMatrixWarning)
                chosen = ar_select_order(y[:, k], maxlag=max_lag(len(y), season.period), ic="aic", trend="c")
                params = np.asarray(chosen.model.fit().params, dtype=np.float64)
            models[s, k] = params[0], params[1:]   # lags 1..p in order (glob=False selects a prefix)

    def method(s, y, ends, horizon):
        if any((s, k) not in models for k in range(y.shape[1])):
            raise Skipped("a series with forecast windows has no train windows to fit an AR model on")
        out = np.empty((len(ends), horizon, y.shape[1]))
        for k in range(y.shape[1]):
            const, phi = models[s, k]
            p = len(phi)
            # the last p values before each origin, most recent first
            recent = y[ends[:, None] - 1 - np.arange(p)[None, :], k] if p else np.empty((len(ends), 0))
            for h in range(horizon):
                step = const + recent @ phi
                out[:, h, k] = step
                recent = np.concatenate([step[:, None], recent[:, :-1]], axis=1) if p else recent
        return out

    outputs = _forecast(task, method)
    orders = sorted({len(phi) for _, phi in models.values()})
    order = str(orders[0]) if len(orders) == 1 else f"{orders[0]}-{orders[-1]}"
    return Fitted(f"autoregressive AR({order})", outputs, parameters=sum(1 + len(phi) for _, phi in models.values()),
                  settings={"orders": {f"{s}/{k}": len(phi) for (s, k), (_, phi) in models.items()},
                            "max_lag": {str(s): max_lag(len(y), season.period) for s, y in periods.items()},
                            "criterion": "aic", "trend": "constant", "multi_step": "recursive"},
                  library={"statsmodels": version_of("statsmodels")})
