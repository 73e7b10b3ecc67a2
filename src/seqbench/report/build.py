"""Build the report from the ``result.json`` files under a runs directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..run_settings import NAMED_SETTINGS
from ..units import bits_per_character, perplexity

MODEL_ORDER = {"tcn": 0, "lstm": 1, "gru": 2, "rnn": 3}
REPORT_MD, CURVES_PNG, SUMMARY_JSON = "report.md", "curves.png", "summary.json"
CONFIGS_PNG = "curves_configurations.png"


def find_results(runs_dir: str | Path) -> list[dict]:
    """Every run's result record under ``runs_dir`` (searched recursively), in a stable order."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no runs directory at {root}")
    results = []
    for path in sorted(root.rglob("result.json")):
        try:
            results.append(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e
    if not results:
        raise FileNotFoundError(f"no result.json under {root}; train something first (seqbench train/compare)")
    return sorted(results, key=lambda r: (r["task"], _variant_label(r), MODEL_ORDER.get(r["model"], 9),
                                          _options_label(r), r["seed"]))


def _variant_label(r: dict) -> str:
    v = r.get("variant", {})
    return f"T={v['seq_len']}" if "seq_len" in v else ""


def schedule_override(r: dict) -> str | None:
    """The ``--lr-schedule`` that reproduces run ``r`` with today's presets: None when the run
    used its preset's schedule, ``"none"`` when it trained at a constant rate while the preset
    now has a schedule (runs from before the preset got its official schedule)."""
    config = r.get("config") or {}
    if config.get("run", {}).get("lr_schedule"):
        return config["run"]["lr_schedule"]
    if "training" not in config:  # a result that does not record its resolved settings
        return None
    trained = config["training"].get("lr_schedule")
    try:
        from .. import tasks

        preset = tasks.get(r["task"]).presets[r.get("preset", "paper")].lr_schedule
    except Exception:  # a task that needs its files to be built (custom): take the run's word
        return None
    return None if trained == preset else (trained or "none")


def _options_label(r: dict) -> str:
    """What sets a run's configuration apart from the protocol's: loss, model size, dropout,
    init, optimiser settings, clipping, schedule."""
    run = (r.get("config") or {}).get("run", {})
    extras = []
    if r.get("variant", {}).get("sequence_loss") == "sum":  # music: the official script's loss
        extras.append("summed loss")
    extras += [f"{word} {run[key]:g}" for key, word in NAMED_SETTINGS if run.get(key) is not None]
    if run.get("optimizer"):
        extras.append(run["optimizer"])
    if run.get("dropout_mode"):
        extras.append(f"{run['dropout_mode']} dropout")
    if run.get("init"):
        extras.append(f"init {run['init']}")
    if run.get("clip") == 0:
        extras.append("no clipping")
    schedule = schedule_override(r)
    if schedule:
        extras.append("constant lr" if schedule == "none" else f"lr schedule {schedule}")
    return ", ".join(extras)


def config_label(r: dict) -> str:
    """The model and its options, without the seed: runs with the same label differ by seed only."""
    options = _options_label(r)
    return r["model"].upper() + (f" ({options})" if options else "")


def run_label(r: dict) -> str:
    """The model, plus what sets this run apart from the protocol run: seed, dropout, init, clipping."""
    extras = ([f"seed {r['seed']}"] if r.get("seed", 0) != 0 else []) + ([_options_label(r)] if _options_label(r) else [])
    return r["model"].upper() + (f" ({', '.join(extras)})" if extras else "")


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):  # two decimals as the paper prints them; small losses in scientific form
        if abs(x) >= 1 or x == 0:
            return f"{x:.2f}"
        return f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.2e}"
    return str(x)


def _test_value(r: dict):
    return r["metrics"].get("test", {}).get(r["primary_metric"])


def _epochs(x) -> str:
    """Epochs done: whole, or to one decimal when validation ran within epochs (--val-every)."""
    if x is None:
        return "-"
    return f"{int(x)}" if float(x).is_integer() else f"{x:.1f}"


def markdown_table(results: list[dict]) -> str:
    """One row per run: our test metric beside the paper's number for the same model."""
    head = ("| task | model | parameters | receptive field | metric | ours (test) | ours (mean of last 3) | paper | "
            "best epoch / epochs | train time |")
    lines = [head, "|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        task = r["task"] + (f" ({_variant_label(r)})" if _variant_label(r) else "")
        paper = r.get("paper", {}) or {}
        paper_txt = _fmt(paper.get("value"))
        if paper.get("value") is not None and paper.get("variant"):
            paper_txt += f" ({paper['variant']})"
        rf = r.get("receptive_field")
        lines.append(
            f"| {task} | {run_label(r)} | {r['parameters']:,} | {'unbounded' if rf is None else f'{rf:,}'} | "
            f"{r['primary_metric']} {'(higher better)' if r.get('higher_is_better') else ''}".rstrip()
            + f" | {_fmt(_test_value(r))} | {_fmt((r.get('test_last3_mean') or {}).get(r['primary_metric']))}"
            f" | {paper_txt} | {_epochs(r.get('best_epoch'))} / {_epochs(r['epochs'])} | "
            f"{r['wall_time_s']:.0f} s{' (budget-limited)' if r.get('stopped_by_time_limit') else ''} |")
    return "\n".join(lines) + "\n"


def headline_table(results: list[dict]) -> str:
    """Task x model: our test metric and the paper's in brackets.

    A cell is the protocol run (the preset's model; runs with other dropout or init options
    are left out). Where several seeds of it ran, the cell is the seed with the best
    *validation* metric, marked with the number of seeds; a dagger marks a run stopped by
    its time budget.
    """
    models = ["tcn", "lstm", "gru", "rnn"]
    chosen: dict[str, dict[str, list[dict]]] = {}
    for r in results:
        if _has_model_options(r) or r["model"] not in models:
            continue
        task = r["task"] + (f" ({_variant_label(r)})" if _variant_label(r) else "")
        better = "higher" if r.get("higher_is_better") else "lower"
        chosen.setdefault(f"{task}: {r['primary_metric']}, {better} is better", {}).setdefault(r["model"], []).append(r)
    lines = ["| task | " + " | ".join(m.upper() for m in models) + " |", "|---|" + "---:|" * len(models)]
    for task, by_model in chosen.items():
        cells = []
        for m in models:
            runs = by_model.get(m)
            if not runs:
                cells.append("not run")
                continue
            r = min(runs, key=_validation_rank)
            seeds = f" ‡{len(runs)}" if len(runs) > 1 else ""
            paper = (r.get("paper") or {}).get("value")
            cells.append(f"{_fmt(_test_value(r))}{' †' if r.get('stopped_by_time_limit') else ''}{seeds} ({_fmt(paper)})")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return ("\n".join(lines) + "\n\nOurs (paper); † stopped by its time budget before the protocol's epochs; "
            "‡n the best of n seeds by validation metric (every seed is in the table below).\n")


def _has_model_options(r: dict) -> bool:
    """Runs that change the protocol's model, clipping or schedule (shown per run, not in the headline)."""
    return bool(_options_label(r))


def _validation_rank(r: dict) -> float:
    """Sort key: better validation primary metric first (missing last)."""
    v = r["metrics"].get("valid", {}).get(r["primary_metric"])
    if v is None:
        return float("inf")
    return -v if r.get("higher_is_better") else v


def _save_figure(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _panels(groups: dict[str, list[dict]]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    return fig, axes.flat


# The training loss (mean NLL in nats, or the task's loss) in the units of the validation
# metric beside it; metrics of another kind (accuracy) get no training curve.
TRAIN_LOSS_AS_METRIC = {
    "nll": lambda v: v, "loss": lambda v: v, "mse": lambda v: v,
    "perplexity": perplexity, "bpc": bits_per_character,
}


def _curve(r: dict, key: str) -> tuple[list, list]:
    hist = r.get("history", [])
    return [h["epoch"] for h in hist], [h.get(key) for h in hist]


def _baseline(runs: list[dict]) -> dict | None:
    """The task's model-free reference, from the first of ``runs`` that recorded one."""
    return next((r["baseline"] for r in runs if r.get("baseline")), None)


def _finish_axis(ax, title: str, runs: list[dict], values: list, legend_size: int = 7) -> None:
    metric = runs[0]["primary_metric"]
    ref = _baseline(runs)
    if ref is not None and ref["valid"].get(metric) is not None:  # where "learned nothing" lies
        level = ref["valid"][metric]
        values = values + [level]
        ax.axhline(level, color="0.4", linestyle=":", linewidth=1.2, label=f"{ref['name']} (valid {metric})")
    if values and all(v is not None and v > 0 for v in values) and not runs[0].get("higher_is_better"):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=legend_size)


def _by_task(results: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(f"{r['task']} {_variant_label(r)}".strip(), []).append(r)
    return groups


def learning_curves(results: list[dict], path: str | Path) -> Path:
    """The protocol's runs, one panel per task variant: validation primary metric (solid) and
    training loss (dashed) per epoch, one colour per model. The seed the headline reports (best
    validation metric) is drawn with its training loss; further seeds are thin lines of its
    colour. Runs with other options are drawn only where a task has no protocol run (see
    :func:`configuration_curves`). A dotted grey line marks the task's model-free baseline on
    validation, where there is one. Saved as a PNG at ``path``."""
    groups = {}
    for title, runs in _by_task(results).items():
        protocol = [r for r in runs if not _has_model_options(r)]
        groups[title] = protocol or runs
    fig, axes = _panels(groups)
    for ax, (title, runs) in zip(axes, groups.items()):
        metric = runs[0]["primary_metric"]
        configs: dict[str, list[dict]] = {}  # runs that differ by seed only share a colour
        for r in runs:
            configs.setdefault(config_label(r), []).append(r)
        values, extra_colour = [], 4
        for label, seeds in configs.items():
            model = seeds[0]["model"]
            if label == model.upper():  # the protocol's configuration: the model's own colour
                color = f"C{MODEL_ORDER.get(model, 9)}"
            else:
                color, extra_colour = f"C{extra_colour}", extra_colour + 1
            best = min(seeds, key=_validation_rank)
            for r in seeds:
                epochs, valid = _curve(r, f"valid_{metric}")
                values += valid
                if r is best:
                    more = f", best of {len(seeds)} seeds" if len(seeds) > 1 else ""
                    ax.plot(epochs, valid, "-o", color=color, label=f"{label} valid {metric}{more}", markersize=3)
                    to_metric = TRAIN_LOSS_AS_METRIC.get(metric)
                    if to_metric is not None:  # the training loss on the metric's own scale
                        epochs, train = _curve(r, "train_loss")
                        train = [None if v is None else to_metric(v) for v in train]
                        values += train
                        ax.plot(epochs, train, "--", color=color, alpha=0.6, label=f"{label} train {metric}")
                else:
                    ax.plot(epochs, valid, "-", color=color, alpha=0.45, linewidth=1)
        _finish_axis(ax, title, runs, values)
    fig.tight_layout()
    return _save_figure(fig, path)


def configuration_curves(results: list[dict], path: str | Path) -> Path | None:
    """Every configuration of the tasks that ran more than the protocol (ablations): the
    validation metric of each configuration's best-validation seed, the protocol's thick.
    None (and no file) when no run has options."""
    groups = {t: runs for t, runs in _by_task(results).items() if any(_has_model_options(r) for r in runs)}
    if not groups:
        return None
    fig, axes = _panels(groups)
    import matplotlib

    palette = matplotlib.colormaps["tab20"]  # up to 20 configurations per panel without a repeat
    for ax, (title, runs) in zip(axes, groups.items()):
        metric = runs[0]["primary_metric"]
        configs: dict[str, list[dict]] = {}
        for r in runs:
            configs.setdefault(config_label(r), []).append(r)
        values = []
        for i, (label, seeds) in enumerate(configs.items()):
            best = min(seeds, key=_validation_rank)
            epochs, valid = _curve(best, f"valid_{metric}")
            values += valid
            protocol = not _has_model_options(best)
            more = f" ({len(seeds)} seeds)" if len(seeds) > 1 else ""
            ax.plot(epochs, valid, "-", color=palette(i % 20), linewidth=2.2 if protocol else 1.1,
                    label=f"{label}{more}" + (" - protocol" if protocol else ""))
        _finish_axis(ax, title, runs, values, legend_size=6)
    fig.tight_layout()
    return _save_figure(fig, path)


# run settings that are command-line options of `seqbench train`, in the order printed
_OPTIONS = ("epochs", "batch_size", "lr", "optimizer", "clip", "hidden_size", "levels", "kernel_size",
            "dropout", "num_layers", "dropout_mode", "init", "max_time", "val_every", "test_every_epoch")
_FLAG = {"hidden_size": "hidden", "num_layers": "layers"}


def reproduce_command(r: dict) -> str:
    """The ``seqbench train`` command line that reproduces run ``r`` (data under ``$SEQBENCH_DATA``)."""
    run = (r.get("config") or {}).get("run", {})
    parts = ["seqbench train", r["task"], "--model", r["model"], "--preset", r.get("preset", "paper"),
             "--seed", str(r["seed"])]
    for k, v in (run.get("variant") or {}).items():
        parts += ["--variant", f"{k}={v}"]
    for k in _OPTIONS:
        if run.get(k) is True:
            parts.append(f"--{k.replace('_', '-')}")
        elif run.get(k) is not None and run.get(k) is not False:
            parts += [f"--{_FLAG.get(k, k).replace('_', '-')}", f"{run[k]:g}" if isinstance(run[k], float) else str(run[k])]
    if schedule_override(r):
        parts += ["--lr-schedule", schedule_override(r)]
    return " ".join(parts)


def commands_section(results: list[dict]) -> str:
    lines = ["## Reproduce", "", "Each row, with the datasets under `$SEQBENCH_DATA` (or add `--data-dir`):", "", "```bash"]
    lines += [reproduce_command(r) for r in results]
    return "\n".join(lines + ["```", ""])


def baselines_section(results: list[dict]) -> str:
    """One line per task variant with a model-free reference: what learning nothing scores."""
    lines = []
    for title, runs in _by_task(results).items():
        ref = _baseline(runs)
        if ref is not None:
            lines.append(f"- {title}: {ref['name']}, " + ", ".join(f"{m} {_fmt(v)}" for m, v in ref["test"].items()))
    if not lines:
        return ""
    return "\nModel-free baselines on test (a model that learned nothing scores about this):\n\n" + "\n".join(lines) + "\n"


def summary(results: list[dict]) -> dict:
    """The report as data: per run the headline numbers (no per-epoch history)."""
    keep = ("task", "variant", "model", "preset", "parameters", "receptive_field", "primary_metric",
            "higher_is_better", "metrics", "paper", "baseline", "best_epoch", "epochs", "wall_time_s", "seed", "run_dir")
    return {"runs": [{k: r.get(k) for k in keep} for r in results]}


def write_report(runs_dir: str | Path, out_dir: str | Path | None = None, page: str | Path | None = None,
                 title: str = "seqbench report", notes: str | Path | None = None) -> dict[str, Path]:
    """Write the Markdown page, ``curves.png`` and ``summary.json`` for the runs under ``runs_dir``.

    ``page`` is the Markdown file (default ``out_dir/report.md``); ``notes`` a Markdown file
    whose text (the discussion a person writes) is appended, so the page is regenerated
    whole from the result files and the notes.
    """
    results = find_results(runs_dir)
    out = Path(out_dir) if out_dir is not None else Path(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    curves = learning_curves(results, out / CURVES_PNG)
    configurations = configuration_curves(results, out / CONFIGS_PNG)
    page = Path(page) if page is not None else out / REPORT_MD
    machines = sorted({f"{r['machine']['cpus']} CPU cores"
                       + (f" ({r['machine']['cpu']})" if r["machine"].get("cpu") else "")
                       + f", torch {r.get('versions', {}).get('torch', '?')}"
                       for r in results if r.get("machine")})
    where = f" ({'; '.join(machines)})" if machines else ""
    md = (f"# {title}\n\n" f"Runs under `{runs_dir}`{where}. Test metric of the "
          "best-validation checkpoint, and (runs with `--test-every-epoch`) the mean test metric of the last 3 "
          "validations; the paper's number is for the variant in brackets when it differs.\n\n"
          + headline_table(results) + baselines_section(results) + "\n## Every run\n\n" + markdown_table(results) + "\n" + commands_section(results)
          + f"\n![learning curves]({os.path.relpath(curves, page.parent)})\n")
    if configurations is not None:
        md += ("\nEvery configuration of the tasks with ablations (validation metric of each one's best seed):\n\n"
               f"![configurations]({os.path.relpath(configurations, page.parent)})\n")
    if notes is not None:
        md += "\n" + Path(notes).read_text()
    paths = {"markdown": page, "curves": curves, "summary": out / SUMMARY_JSON}
    if configurations is not None:
        paths["configurations"] = configurations
    for key, text in (("markdown", md), ("summary", json.dumps(summary(results), indent=2) + "\n")):
        tmp = paths[key].with_name(f".{paths[key].name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, paths[key])
    return paths
