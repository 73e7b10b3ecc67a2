"""The report's tables: the headline (mean ± std over folds and seeds per model and reference,
the paper's figure beside it where there is one), the TCN against each baseline and reference
(paired over test items where recorded: :mod:`seqbench.stats`), every run, the model-free
baselines, and the command that reproduces each run."""

from __future__ import annotations

import re
import shlex

from ..choices import REFERENCE_KIND
from ..nn import label as model_label
from ..published import best_published
from ..results import RunResult
from ..run_settings import BY_FIELD
from ..stats import ALPHA, MIN_TEST_ITEMS, paired_test
from .runs import (Cell, baseline_of, by_task, is_reference, model_name, model_order, protocol_cells, run_label,
                   schedule_override, tuning_of)


# Characters that would make a name from a result file Markdown or HTML: emphasis, code, links,
# images, table cells, strikethrough, tags and entities. An underscore inside a word (ptb_char,
# seq_len) is plain text in CommonMark, so only one at a word's edge is escaped.
_MARKDOWN = re.compile(r"[\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text) -> str:
    """``text`` as plain text inside Markdown (a table cell, a list item): HTML and Markdown
    metacharacters escaped, line breaks made spaces. Our own cells ("8.21 ± 0.03 (3)") are
    unchanged; a task named ``<img src=x>`` or ``*x*|y`` shows as written."""
    text = " ".join(str(text).splitlines())
    text = re.sub("[&<>]", lambda m: _HTML[m.group()], text)
    return _MARKDOWN.sub(lambda m: "\\" + m.group(), text)


def table_row(cells) -> str:
    """One Markdown table row of ``cells``, each :func:`markdown_text`."""
    return "| " + " | ".join(markdown_text(c) for c in cells) + " |"


def fmt(x) -> str:
    """A metric as the paper prints it: two decimals, small losses in scientific form."""
    if x is None:
        return "-"
    if isinstance(x, float):
        if abs(x) >= 1 or x == 0:
            return f"{x:.2f}"
        return f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.2e}"
    return str(x)


def fmt_spread(mean: float, std: float | None) -> str:
    """``"8.21 ± 0.03"``: the spread to the mean's decimals (two above 1, else significant digits)."""
    if std is None:
        return fmt(mean)
    if abs(mean) >= 1:
        return f"{mean:.2f} ± {std:.2f}"
    return f"{fmt(mean)} ± {fmt(std)}"


def format_epochs(x) -> str:
    """Epochs done: whole, or to one decimal when validation ran within epochs (--val-every)."""
    if x is None:
        return "-"
    return f"{int(x)}" if float(x).is_integer() else f"{x:.1f}"


def cell_text(cell: Cell, most_seeds: int) -> str:
    """``"8.21 ± 0.03 (3)"``: mean ± sample std over the cell's seeds, and how many; a dagger when
    a seed stopped at its time budget, § when the cell has fewer seeds than another of its row."""
    s = cell.summary()
    if s is None:
        return "-"
    text = fmt_spread(s.mean, s.std)
    return text + f" ({s.n}){' †' if cell.budget_limited else ''}{' §' if s.n < most_seeds else ''}"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def budget_text(by_model: dict[str, Cell], paper: bool = True) -> str:
    """A row's training budget: ``"protocol (100 epochs)"`` (your own data: the preset's name and
    its steps), or each wall-clock budget and the models it held, e.g. ``"protocol (20 epochs);
    LSTM, GRU, RNN: 2 h each"``."""
    by_model = {m: c for m, c in by_model.items() if not c.is_reference}
    if not by_model:
        return "-"
    runs = [r for c in by_model.values() for r in c.runs]
    planned = next((r.epochs_planned for r in runs if r.epochs_planned), None)
    if paper:
        protocol = f"protocol ({planned} epochs)" if planned else "protocol"
    else:
        steps = sorted({r.steps for r in runs})
        spent = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,}-{steps[-1]:,}"
        protocol = f"{runs[0].preset} preset ({spent} steps)"
    budgets: dict[str, list[str]] = {}  # budget -> the models it held
    for m, cell in by_model.items():
        limits = sorted({r.run.get("max_time") for r in cell.runs if r.stopped_by_time_limit and r.run.get("max_time")})
        key = " / ".join(_hours(t) for t in limits) if limits else protocol
        budgets.setdefault(key, []).append(m)
    if list(budgets) == [protocol]:
        return protocol

    def group(key: str, models: list[str]) -> str:
        several = sum(len(by_model[m].runs) for m in models) > 1
        return f"{', '.join(map(model_label, models))}: {key}{' each' if key != protocol and several else ''}"
    return "; ".join(group(key, ms) for key, ms in budgets.items())


def has_paper(results: list[RunResult]) -> bool:
    """Whether any run has a paper's figure (benchmarks); your own data's tables have no such column."""
    return any(r.paper_value is not None for r in results)


def headline_table(results: list[RunResult]) -> str:
    """Task x model (and reference): mean ± std of the test metric over the folds and seeds of the
    protocol runs, the paper's in brackets where any run has one, and the row's training
    budget. Runs with other options (ablations) are left out; every seed counts."""
    models = sorted({r.model for r in results if not is_reference(r)}, key=lambda m: (model_order(m), m))
    references = list(dict.fromkeys(r.model for r in results if is_reference(r)))
    tuned = {r.model for r in results if tuning_of(r)}
    labels = {m: model_label(m) + (" (tuned)" if m in tuned else "") for m in models}
    labels.update({m: model_name(next(r for r in results if r.model == m and is_reference(r))) for m in references})
    paper = has_paper(results)
    rows = protocol_cells(results)
    # each row's best published result (none for your own data, or at a length no paper reports)
    best = {title: _best_published(by_model) if paper else None for title, by_model in rows.items()}
    published = []  # numbered in the order the rows appear, each once
    for p in best.values():
        if p is not None and p not in published:
            published.append(p)
    lines = [table_row(["task", *(labels[m] for m in models + references), *(["best published"] if published else []),
                        "budget"]),
             "|---|" + "---:|" * (len(models) + len(references) + bool(published)) + "---|"]
    for title, by_model in rows.items():
        most = max(len(c.values) for c in by_model.values())
        cells = []
        for m in models + references:
            cell = by_model.get(m)
            if cell is None:
                cells.append("not run")
                continue
            text = cell_text(cell, most)
            cells.append(f"{text} ({fmt(cell.first.paper_value)})" if paper and not cell.is_reference else text)
        if published:
            p = best[title]
            cells.append(f"{p.value:g} ({p.model}) [{published.index(p) + 1}]" if p else "-")  # as printed
        lines.append(table_row([title, *cells, budget_text(by_model, paper)]))
    rule = "; ".join(sorted({selection_text({**(r.selection or {"rule": "metric", "metric": r.primary_metric}),
                                             "epoch": None})
                             for r in results if not is_reference(r)}))
    return ("\n".join(lines) + "\n\nMean ± sample standard deviation over folds and seeds, the number of runs in "
            "brackets" + (", then the paper's figure" if paper else "")
            + ("; best published: the best result sourced for the task, numbered as below" if published else "")
            + "; † a run stopped by its time budget "
            "before its planned epochs; § fewer runs than another model of the row. Each run's test metric is that "
            f"of its delivered checkpoint ({rule}; every run is in the table of every run below).\n"
            + (("\nBest published: the best test result we could source for the task at this setting "
                "(seqbench/published.py says how each was chosen and what was left out):\n\n"
                + "".join(f"{i}. {markdown_text(p.citation())}\n" for i, p in enumerate(published, 1)))
               if published else ""))


def _best_published(by_model: dict[str, Cell]):
    """The best published result for a row's task and variant (any of its runs tells them), or None."""
    run = next(iter(by_model.values())).first
    return best_published(run.task, run.variant)


def selection_text(selection: dict | None) -> str:
    """How a run chose its delivered checkpoint, in words: ``"lowest validation nll (epoch 12)"``."""
    selection = selection or {}
    rule, metric, epoch = selection.get("rule"), selection.get("metric"), selection.get("epoch")
    where = f" (epoch {format_epochs(epoch)})" if epoch is not None else ""
    if rule == "last":
        return "last validation" + where
    if rule == "loss":
        return f"lowest validation {metric or 'loss'}" + where
    return f"best validation {metric or 'metric'}" + where


def significance_table(results: list[RunResult]) -> str:
    """Each baseline and reference against the TCN on each task: means with their interval, and
    the test (paired over test items where recorded, Welch over seeds otherwise); pairs that
    cannot be tested are listed after the table with the reason."""
    rows, untested = [], []
    for title, by_model in protocol_cells(results).items():
        tcn = by_model.get(REFERENCE_KIND)
        if tcn is None:
            continue
        task = title.split(":")[0]
        for m, cell in by_model.items():
            if m == REFERENCE_KIND:
                continue
            d = paired_test(tcn.units(), cell.units())
            if d.p is None:
                untested.append(f"{task} {cell.label} ({len(tcn.values)} vs {len(cell.values)} runs): {d.verdict(True)}")
                continue
            verdict = d.verdict(tcn.first.higher_is_better, model_label(REFERENCE_KIND), cell.label)
            rows.append(table_row([task, cell.label, _with_ci(tcn), _with_ci(cell), f"{d.p:.2g}", verdict, d.method]))
    if not rows and not untested:
        return ""
    return ("\n## TCN against each baseline\n\n"
            "Means over folds and seeds with their 95% interval: from the test items where the runs recorded them "
            "(an accuracy: the Wilson score interval on the distinct test items of all folds, at the mean over "
            "seeds; other metrics: a percentile bootstrap over test items resampled within each fold, 2000 seeded "
            "resamples), else a Student-t interval over seeds; "
            "every interval is clipped to the metric's range. Models scored on the same test items are compared "
            "item for item (exact McNemar test for one run each of an accuracy on one test set, else a paired "
            f"bootstrap with folds and seeds as the outer level); results without items get Welch's t-test over "
            f"seeds. Significant at p < {ALPHA}; no test below {MIN_TEST_ITEMS} test items.\n\n"
            + ("| task | against | TCN | against | p | verdict | test |\n|---|---|---:|---:|---:|---|---|\n"
               + "\n".join(rows) + "\n" if rows else "")
            + (f"\nNot tested: {markdown_text('; '.join(untested))}.\n" if untested else ""))


def _with_ci(cell: Cell) -> str:
    s = cell.summary()
    if s is None:
        return "-"
    if s.ci is None:
        return f"{fmt(s.mean)} (1 run)"
    return f"{fmt(s.mean)} [{fmt(s.ci[0])}, {fmt(s.ci[1])}] ({s.n})"


def every_run_table(results: list[RunResult]) -> str:
    """One row per run (and reference): its test metric, the checkpoint it comes from, its budget,
    and the paper's number for the same model where any run has one."""
    paper = has_paper(results)
    head = ("| task | model | parameters | receptive field | metric | ours (test) | ours (mean of last 3) | "
            + ("paper | " if paper else "") + "checkpoint / epochs | steps | train time |")
    lines = [head, "|---|---|---:|---:|---|---:|---:|" + ("---:|" if paper else "") + "---|---:|---:|"]
    for r in results:
        paper_txt = fmt(r.paper_value)
        if r.paper_value is not None and r.paper.get("variant"):
            paper_txt += f" ({r.paper['variant']})"
        last3 = (r.test_last3_mean or {}).get(r.primary_metric)
        metric = f"{r.primary_metric} {'(higher better)' if r.higher_is_better else ''}".rstrip()
        chosen = "reference (no training)" if is_reference(r) else \
            f"{selection_text(r.selection or {'rule': 'metric', 'metric': r.primary_metric, 'epoch': r.best_epoch})}" \
            f" / {format_epochs(r.epochs)}"
        lines.append(table_row([
            r.task_label, run_label(r), f"{r.parameters:,}", _receptive_field(r), metric, fmt(r.test_value), fmt(last3),
            *([paper_txt] if paper else []), chosen, f"{r.steps:,}",
            f"{r.wall_time_s:.0f} s{' (budget-limited)' if r.stopped_by_time_limit else ''}"]))
    return "\n".join(lines) + "\n"


def _receptive_field(r: RunResult) -> str:
    if is_reference(r):
        return "-"
    return "unbounded" if r.receptive_field is None else f"{r.receptive_field:,}"


# the settings a reproduce command spells out, in its order (the schedule last: see schedule_override)
COMMAND_ORDER = ("epochs", "steps", "select", "batch_size", "lr", "optimizer", "clip", "hidden_size", "levels", "kernel_size", "dropout",
                 "num_layers", "num_heads", "forget_bias", "dropout_mode", "init", "max_time", "val_every", "test_every_epoch")


def reproduce_command(r: RunResult) -> str:
    """The ``seqbench train`` command line that reproduces run ``r`` (data under ``$SEQBENCH_DATA``),
    each word shell-quoted: a task or variant value from a result file is an argument, never shell."""
    run = r.run
    parts = ["seqbench", "train", r.task, "--model", r.model, "--preset", r.preset, "--seed", str(r.seed)]
    for k, v in (run.get("variant") or {}).items():
        parts += ["--variant", f"{k}={v}"]
    for field in COMMAND_ORDER:
        value = run.get(field)
        if value is not None and value is not False:
            parts += BY_FIELD[field].argv(value)
    if schedule_override(r):
        parts += BY_FIELD["lr_schedule"].argv(schedule_override(r))
    return shlex.join(str(p) for p in parts)


def commands_section(results: list[RunResult]) -> str:
    """The reproduce commands as a fenced block, its fence longer than any run of backticks
    in them (a quoted argument cannot close it)."""
    commands = [reproduce_command(r) for r in results if not is_reference(r)]
    longest = max((len(run) for c in commands for run in re.findall("`+", c)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = ["## Reproduce", "", "Each row, with the datasets under `$SEQBENCH_DATA` (or add `--data-dir`):", "",
             fence + "bash", *commands, fence, ""]
    return "\n".join(lines)


# the test metrics of a forecast's intervals and series, beside the primary one (seqbench.tasks.custom)
FORECAST_METRICS = re.compile(r"^(coverage|width)[0-9.]+$|^(mase|pinball)$|@")


def forecast_section(results: list[RunResult]) -> str:
    """Per task variant, model and reference: the mean over runs of each interval's coverage
    and width, MASE, the pinball loss and the errors per series (``mae@north``), where a
    forecast recorded them; empty otherwise (and for every result written before them)."""
    sections = []
    for title, by_model in protocol_cells(results).items():
        names = sorted({k for c in by_model.values() for r in c.runs for k in r.metrics.get("test", {})
                        if FORECAST_METRICS.search(k)}, key=lambda k: ("@" in k, k))
        if not names:
            continue
        rows = [table_row(["model", *names]), "|---|" + "---:|" * len(names)]
        for cell in by_model.values():
            means = []
            for name in names:
                values = [r.metrics["test"][name] for r in cell.runs if r.metrics.get("test", {}).get(name) is not None]
                means.append(fmt(sum(values) / len(values)) if values else "-")
            rows.append(table_row([cell.label, *means]))
        sections.append(f"### {markdown_text(title)}\n\n" + "\n".join(rows) + "\n")
    if not sections:
        return ""
    return ("\n## Forecast intervals and series\n\nMean over runs of the test metrics: coverageL is the share of test "
            "values inside the central L% interval and widthL its mean width in the target's units (a reference's "
            "interval comes from its residuals on the validation windows); mase is the MAE over each series' "
            "in-sample seasonal-naive MAE on its train part; name@series is that series' own.\n\n"
            + "\n".join(sections))


def baselines_section(results: list[RunResult]) -> str:
    """One line per task variant with a model-free reference: what learning nothing scores."""
    lines = []
    for title, runs in by_task(results).items():
        ref = baseline_of(runs)
        if ref is not None:
            lines.append("- " + markdown_text(f"{title}: {ref['name']}, "
                                              + ", ".join(f"{m} {fmt(v)}" for m, v in ref["test"].items()
                                                          if "@" not in m)))
    if not lines:
        return ""
    return "\nModel-free baselines on test (a model that learned nothing scores about this):\n\n" + "\n".join(lines) + "\n"
