"""Plot one series' forecasts with their band over the test period, from a checkpoint of a
forecast with intervals (``--quantiles``, ``--likelihood gaussian`` or ``--conformal``).

Each test window's forecast of its first step (the median or mean) and its central interval
(the outermost quantiles) are drawn against the actual values; the title gives the band's
empirical coverage and mean width on those steps.

Usage: ``python examples/forecasting/plot_band.py CHECKPOINT --series north --out docs/forecast_band.png``
(the run's data file must be where it was trained from).
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seqbench.tasks.custom.predict import run_model  # noqa: E402
from seqbench.training import load_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--series", default=None, help="the series id to draw (default: the first)")
    parser.add_argument("--out", default="forecast_band.png")
    args = parser.parse_args()

    _, task, model = load_run(args.checkpoint)
    spec, intervals = task.spec, task.spec.intervals
    if intervals is None:
        raise SystemExit("the checkpoint's forecast has no intervals (train with --quantiles, --likelihood or "
                         "--conformal)")
    task.calibrate(model)                       # a conformal forecast's half-widths (nothing otherwise)
    ds = task.dataset("test")
    wanted = task.split_ids["test"][0] if args.series is None else args.series
    # the series' position among the file's series (one series: the only one)
    series_index = next((i for i, name in task.series_names.items() if name == str(wanted)), ds.starts[0][0])
    rows = [i for i, (s, _) in enumerate(ds.starts) if s == series_index]
    items = [ds[i] for i in rows]
    out = torch.stack(run_model(model, [item["x"] for item in items]))
    quantiles = intervals.quantile_values(out, task.calibration).numpy()     # (N, D, Q), standardised
    point = intervals.point(out).numpy()
    y = torch.stack([item["y"] for item in items]).numpy()
    scale = items[0]["scale"].numpy() if "scale" in items[0] else np.asarray(spec.target_scaler.std * spec.horizon)
    scaler = spec.series_scalers[wanted] if spec.series_scalers else None
    mean = scaler.select(spec.target_index).mean[0] if scaler else spec.target_scaler.mean[0]
    units = lambda z: z[:, 0] * scale[0] + mean   # noqa: E731  first step, first target, in its units
    lo, hi = units(quantiles[..., 0]), units(quantiles[..., -1])
    actual, median = units(y), units(point)
    times = task.series_times[series_index] if task.series_times else None
    # each forecast's first step: the step after its window
    x = np.arange(len(rows)) if times is None else [times.iloc[ds.starts[i][1] + ds.length] for i in rows]
    inside = float(np.mean((actual >= lo) & (actual <= hi)))
    level = intervals.quantiles[-1] - intervals.quantiles[0]

    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.25, linewidth=0,
                    label=f"{level:.0%} interval (q{intervals.quantiles[0]:g}-q{intervals.quantiles[-1]:g})")
    ax.plot(x, median, color="tab:blue", linewidth=1.2, label="forecast (median)" if intervals.method == "quantile"
            else "forecast")
    ax.plot(x, actual, color="black", linewidth=0.9, label="actual")
    ax.set_title(f"{model_name(args.checkpoint)}: series {wanted}, test period, {spec.horizon}-step-ahead "
                 f"forecasts; coverage {inside:.0%}, mean width {np.mean(hi - lo):.3g}", fontsize=10)
    ax.set_ylabel(", ".join(spec.targets))
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}: coverage {inside:.3f} of {len(rows)} test steps, mean width {np.mean(hi - lo):.4g}")


def model_name(checkpoint: str) -> str:
    from seqbench.training.load import read_checkpoint, run_config

    return run_config(read_checkpoint(checkpoint), checkpoint).model.upper()


if __name__ == "__main__":
    main()
