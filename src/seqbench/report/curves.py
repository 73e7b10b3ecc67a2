"""The report's figures (matplotlib, PNG): learning curves of the protocol runs with a band over
seeds, every configuration of tasks with ablations, and each seed's test metric per model."""

from __future__ import annotations

from pathlib import Path

from ..nn import kinds
from ..nn import label as model_label
from ..files import atomic_path
from ..results import RunResult
from ..units import bits_per_character, perplexity
from .runs import baseline_of, by_task, config_label, is_protocol, is_reference, model_order, protocol_cells

# The training loss (mean NLL in nats, or the task's loss) in the units of the validation
# metric beside it; metrics of another kind (accuracy) get no training curve.
TRAIN_LOSS_AS_METRIC = {
    "nll": lambda v: v, "loss": lambda v: v, "mse": lambda v: v,
    "perplexity": perplexity, "bpc": bits_per_character,
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    _pyplot().close(fig)
    return path


def _panels(n: int):
    plt = _pyplot()
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _curve(r: RunResult, key: str) -> tuple[list, list]:
    return [h["epoch"] for h in r.history], [h.get(key) for h in r.history]


def _across_seeds(runs: list[RunResult], key: str) -> tuple[list, list, list]:
    """Per epoch that any seed reached: the mean of ``key`` over the seeds that have it, and the
    sample standard deviation (0 where one seed has it)."""
    by_epoch: dict[float, list[float]] = {}
    for r in runs:
        for epoch, v in zip(*_curve(r, key)):
            if v is not None:
                by_epoch.setdefault(epoch, []).append(v)
    epochs = sorted(by_epoch)
    means = [sum(by_epoch[e]) / len(by_epoch[e]) for e in epochs]
    stds = [(sum((v - m) ** 2 for v in by_epoch[e]) / (len(by_epoch[e]) - 1)) ** 0.5 if len(by_epoch[e]) > 1 else 0.0
            for e, m in zip(epochs, means)]
    return epochs, means, stds


def _finish_axis(ax, title: str, runs: list[RunResult], values: list, legend_size: int = 7) -> None:
    metric = runs[0].primary_metric
    ref = baseline_of(runs)
    if ref is not None and ref["valid"].get(metric) is not None:  # where "learned nothing" lies
        level = ref["valid"][metric]
        values = values + [level]
        ax.axhline(level, color="0.4", linestyle=":", linewidth=1.2, label=f"{ref['name']} (valid {metric})")
    if values and all(v is not None and v > 0 for v in values) and not runs[0].higher_is_better:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=legend_size)


def learning_curves(results: list[RunResult], path: str | Path) -> Path:
    """One panel per task variant: each configuration's validation primary metric (solid) and
    training loss (dashed, in the metric's units) per epoch, the mean over its seeds with a
    ±1 std band. Only the protocol's runs, where a task has any (ablations:
    :func:`configuration_curves`). A dotted grey line marks the task's model-free baseline."""
    groups = {}
    for title, runs in by_task([r for r in results if not is_reference(r)]).items():  # references: no curve
        groups[title] = [r for r in runs if is_protocol(r)] or runs
    fig, axes = _panels(max(len(groups), 1))  # a directory of reference results only: an empty figure
    for ax, (title, runs) in zip(axes, groups.items()):
        metric = runs[0].primary_metric
        configs: dict[str, list[RunResult]] = {}
        for r in runs:
            configs.setdefault(config_label(r), []).append(r)
        values, extra_colour = [], len(kinds())
        for label, seeds in configs.items():
            model = seeds[0].model
            if label == model_label(model):  # the protocol's configuration: the model's own colour
                color = f"C{model_order(model)}"
            else:
                color, extra_colour = f"C{extra_colour}", extra_colour + 1
            more = f", mean ± std of {len(seeds)} seeds" if len(seeds) > 1 else ""
            epochs, mean, std = _across_seeds(seeds, f"valid_{metric}")
            values += mean
            ax.plot(epochs, mean, "-o", color=color, label=f"{label} valid {metric}{more}", markersize=3)
            if len(seeds) > 1:
                ax.fill_between(epochs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                                color=color, alpha=0.2, linewidth=0)
            to_metric = TRAIN_LOSS_AS_METRIC.get(metric)
            if to_metric is not None:  # the training loss on the metric's own scale
                epochs, train, _ = _across_seeds(seeds, "train_loss")
                train = [to_metric(v) for v in train]
                values += train
                ax.plot(epochs, train, "--", color=color, alpha=0.6, label=f"{label} train {metric}")
        _finish_axis(ax, title, runs, values)
    fig.tight_layout()
    return _save(fig, path)


def configuration_curves(results: list[RunResult], path: str | Path) -> Path | None:
    """Every configuration of the tasks that ran more than the protocol (ablations): the
    validation metric of each configuration's best-validation seed, the protocol's thick.
    None (and no file) when no run has options."""
    groups = {t: runs for t, runs in by_task([r for r in results if not is_reference(r)]).items()
              if not all(is_protocol(r) for r in runs)}
    if not groups:
        return None
    fig, axes = _panels(len(groups))
    import matplotlib

    palette = matplotlib.colormaps["tab20"]  # up to 20 configurations per panel without a repeat
    for ax, (title, runs) in zip(axes, groups.items()):
        metric = runs[0].primary_metric
        configs: dict[str, list[RunResult]] = {}
        for r in runs:
            configs.setdefault(config_label(r), []).append(r)
        values = []
        for i, (label, seeds) in enumerate(configs.items()):
            best = min(seeds, key=RunResult.validation_rank)
            epochs, valid = _curve(best, f"valid_{metric}")
            values += valid
            protocol = is_protocol(best)
            more = f" ({len(seeds)} seeds)" if len(seeds) > 1 else ""
            ax.plot(epochs, valid, "-", color=palette(i % 20), linewidth=2.2 if protocol else 1.1,
                    label=f"{label}{more}" + (" - protocol" if protocol else ""))
        _finish_axis(ax, title, runs, values, legend_size=6)
    fig.tight_layout()
    return _save(fig, path)


def _spans_decades(values: list[float], decades: float = 2.0) -> bool:
    """Positive values whose largest is more than ``10 ** decades`` times their smallest."""
    return bool(values) and min(values) > 0 and max(values) > 10 ** decades * min(values)


def seed_plot(results: list[RunResult], path: str | Path) -> Path | None:
    """One panel per task: each seed's test metric as a dot per model, and the mean with its 95%
    confidence interval as an error bar. None (and no file) when no task has a model with 2+ seeds."""
    cells = {t: by_model for t, by_model in protocol_cells(results).items()
             if any(len(c.values) > 1 for c in by_model.values())}
    if not cells:
        return None
    fig, axes = _panels(len(cells))
    for ax, (title, by_model) in zip(axes, cells.items()):
        models = sorted(by_model, key=model_order)
        summaries = {m: by_model[m].summary() for m in models}
        seen = [v for c in by_model.values() for v in c.values]
        if _spans_decades(seen):
            # a linear axis would flatten every seed but the worst onto zero; an interval that
            # reaches below zero is drawn down to the bottom of the panel
            ax.set_yscale("log", nonpositive="clip")
            highs = [s.ci[1] for s in summaries.values() if s is not None and s.ci is not None]
            ax.set_ylim(min(seen) / 3, max(seen + highs) * 3)
        for x, m in enumerate(models):
            cell, color, s = by_model[m], f"C{model_order(m)}", summaries[m]
            if s is None:
                continue
            jitter = [x - 0.08 + 0.16 * i / max(len(cell.values) - 1, 1) for i in range(len(cell.values))]
            ax.scatter(jitter, cell.values, color=color, s=18, alpha=0.8, zorder=3)
            if s.ci is not None:
                ax.errorbar([x + 0.25], [s.mean], yerr=[[max(s.mean - s.ci[0], 0)], [max(s.ci[1] - s.mean, 0)]], fmt="s",
                            color=color, capsize=4, markersize=5)
            else:
                ax.plot([x + 0.25], [s.mean], "s", color=color, markersize=5)
        ax.set_xticks(range(len(models)), [f"{by_model[m].label} ({len(by_model[m].values)})" for m in models])
        metric = next(iter(by_model.values())).first.primary_metric
        ax.set_title(title)
        ax.set_ylabel(f"test {metric}")
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("each run (dots: folds and seeds), mean and 95% interval (squares)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
