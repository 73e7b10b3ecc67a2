"""The own-data sets of issue 34's "Done when", made here for any test to share
(``from custom_datasets import ...``): small, seeded, and learnable.

* :func:`official_split`: a labelled multivariate set with unequal lengths, 4 classes, an
  official train file and test file of 40 sequences each (two CSVs).
* :func:`sixty_sequences`: 60 labelled sequences with unbalanced classes (30/20/10).
* :func:`yearly_series`: a yearly series (integer years) with a trend and a 10-year cycle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = ("walk", "run", "sit", "stand")


def labelled_sequences(n: int, seed: int = 0, classes=CLASSES, counts=None, prefix: str = "s") -> pd.DataFrame:
    """Long format (sequence_id, time, ax, ay, az, label): each class a sine of its own frequency
    on ``ax`` and level on ``ay``, with noise; lengths 12 to 30 steps. ``counts``: members per
    class (default: as equal as ``n`` allows, in turn)."""
    rng = np.random.default_rng(seed)
    labels = [classes[i % len(classes)] for i in range(n)] if counts is None else \
        [c for c, k in zip(classes, counts) for _ in range(k)]
    rows = []
    for sid, label in enumerate(labels):
        k = classes.index(label)
        length = int(rng.integers(12, 31))
        t = np.arange(length)
        phase = rng.uniform(0, 2 * np.pi)
        ax = np.sin(2 * np.pi * (k + 1) * t / 24 + phase) + 0.3 * rng.normal(size=length)
        ay = 0.5 * k + 0.3 * rng.normal(size=length)
        az = rng.normal(size=length)
        rows += [{"sequence_id": f"{prefix}{sid:03d}", "time": int(i), "ax": ax[i], "ay": ay[i], "az": az[i],
                  "label": label} for i in range(length)]
    return pd.DataFrame(rows)


def official_split(directory: Path) -> tuple[Path, Path]:
    """``(train.csv, test.csv)``: 40 + 40 sequences of 4 classes (10 each), unequal lengths,
    three features; the two files reuse sequence ids, as archives do."""
    train, test = Path(directory) / "train.csv", Path(directory) / "test.csv"
    labelled_sequences(40, seed=1).to_csv(train, index=False)
    labelled_sequences(40, seed=2).to_csv(test, index=False)
    return train, test


def sixty_sequences(seed: int = 3) -> pd.DataFrame:
    """60 sequences of 3 classes, 30/20/10 of them."""
    return labelled_sequences(60, seed=seed, classes=CLASSES[:3], counts=(30, 20, 10))


def yearly_series(start: int = 1900, years: int = 120, seed: int = 4) -> pd.DataFrame:
    """``year`` (integers) and ``value``: a trend, a 10-year cycle and noise."""
    rng = np.random.default_rng(seed)
    year = np.arange(start, start + years)
    t = year - start
    value = 50 + 0.2 * t + 10 * np.sin(2 * np.pi * t / 10) + rng.normal(size=years)
    return pd.DataFrame({"year": year, "value": value})


def hourly_sites(sites=("north", "south", "east"), weeks: int = 6, seed: int = 5) -> pd.DataFrame:
    """Hourly load of several sites (``time``, ``site``, ``price``, ``y``): each site's own
    level and scale times a daily profile (a peak in the working day) and a weekday/weekend
    factor, plus AR(1) noise; ``price`` is planned ahead (a known future input) and lowers
    the load. The calendar drives the target: a forecast that knows the hour and weekday of
    the steps it forecasts can do much better than one that does not."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2026-01-05", periods=weeks * 168, freq="h")   # a Monday
    hour, weekday = times.hour.to_numpy(), times.dayofweek.to_numpy()
    profile = 1 + 0.8 * np.exp(-((hour - 13) ** 2) / 18) - 0.3 * (hour < 6)
    week = np.where(weekday < 5, 1.0, 0.6)
    frames = []
    for k, site in enumerate(sites):
        level, scale = 100 * (k + 1), 10 * (k + 1)
        price = np.round(rng.uniform(0, 1, len(times)), 2)
        noise = np.zeros(len(times))
        for t in range(1, len(times)):
            noise[t] = 0.5 * noise[t - 1] + rng.normal(scale=0.15)
        y = level + scale * (3 * profile * week - 1.5 * price + noise)
        frames.append(pd.DataFrame({"time": times, "site": site, "price": price, "y": y}))
    return pd.concat(frames, ignore_index=True)
