"""Write the two example files of README's "Your own data" section. The data are SYNTHESISED
here (seeded numpy, no download, no licence to worry about); they imitate what users bring:

* ``sensor.csv`` - one long series: hourly electricity ``load`` of a building for 90 days,
  with a daily and a weekly cycle, a slow drift, noise that lingers (AR(1)), the outdoor
  ``temperature`` as a second column, and a few sensor dropouts (empty cells).
* ``sensor_next_week.csv`` - the same sensor, the 7 days that follow (to predict from).
* ``gestures.csv`` - many sequences: 3-axis accelerometer recordings (``ax``, ``ay``,
  ``az``) of 40-80 steps, one ``gesture`` label each (circle, shake or swipe).

Usage: ``python examples/custom_data/make_data.py [OUT_DIR]`` (default: this folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

DAYS, NEXT_DAYS = 90, 7


def sensor(rng: np.random.Generator, hours: int) -> pd.DataFrame:
    t = np.arange(hours)
    day = 2 * np.pi * t / 24
    temperature = 12 + 6 * np.sin(day - 2.0) + 4 * np.sin(2 * np.pi * t / (24 * 60)) + rng.normal(0, 0.8, hours)
    weekday = ((t // 24) % 7) < 5
    noise = np.zeros(hours)
    for i in range(1, hours):  # AR(1): a disturbance lingers for a few hours
        noise[i] = 0.8 * noise[i - 1] + rng.normal(0, 1.5)
    load = (50 + 12 * np.sin(day - 1.2) + 6 * np.sin(2 * day) + 8 * weekday
            + 0.6 * np.maximum(temperature - 18, 0) ** 1.5 + 0.01 * t + noise)
    time = pd.Timestamp("2024-01-01") + pd.to_timedelta(t, unit="h")
    return pd.DataFrame({"time": time, "load": load.round(2), "temperature": temperature.round(2)})


def gestures(rng: np.random.Generator, n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        label = ("circle", "shake", "swipe")[i % 3]
        steps = int(rng.integers(40, 81))
        s = np.linspace(0, 1, steps)
        if label == "circle":
            turns = rng.uniform(1, 2)
            ax, ay = np.cos(2 * np.pi * turns * s), np.sin(2 * np.pi * turns * s)
        elif label == "shake":
            ax, ay = np.sin(2 * np.pi * rng.uniform(5, 8) * s), 0.2 * np.sin(2 * np.pi * 3 * s)
        else:
            start = rng.uniform(0.2, 0.5)
            ax, ay = np.exp(-((s - start) / 0.08) ** 2) - np.exp(-((s - start - 0.25) / 0.08) ** 2), 0.1 * s
        az = 1.0 + 0.1 * rng.normal(size=steps)  # gravity
        x = np.stack([ax, ay, az], 1) * rng.uniform(0.7, 1.3) + rng.normal(0, 0.15, (steps, 3))
        for t in range(steps):
            rows.append({"sequence_id": f"g{i:03d}", "time": t, "ax": x[t, 0].round(3), "ay": x[t, 1].round(3),
                         "az": x[t, 2].round(3), "gesture": label})
    return pd.DataFrame(rows)


def main(out: Path) -> None:
    rng = np.random.default_rng(2018)
    series = sensor(rng, 24 * (DAYS + NEXT_DAYS))
    past, future = series.iloc[: 24 * DAYS].copy(), series.iloc[24 * DAYS:]
    dropouts = rng.choice(np.arange(24, len(past) - 24), size=6, replace=False)
    past.loc[past.index[dropouts], "load"] = np.nan  # the sensor missed a reading
    out.mkdir(parents=True, exist_ok=True)
    past.to_csv(out / "sensor.csv", index=False)
    future.to_csv(out / "sensor_next_week.csv", index=False)
    gestures(rng, 300).to_csv(out / "gestures.csv", index=False)
    print(f"wrote {out / 'sensor.csv'} ({len(past)} hours), {out / 'sensor_next_week.csv'} ({len(future)} hours), "
          f"{out / 'gestures.csv'} (300 recordings)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
