"""The report as a page and as data: ``write_report(runs_dir)`` writes the Markdown page, the
figures and ``summary.json`` for every ``result.json`` under a directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..choices import REFERENCE_KIND
from ..files import write_json, write_text
from ..results import RunResult, find_results
from .. import stats
from ..stats import paired_test
from .curves import configuration_curves, learning_curves, seed_plot
from .runs import Cell, fold_label, fold_key, protocol_cells, sort_results, tuning_of
from .tables import (baselines_section, commands_section, every_run_table, forecast_section, has_paper,
                     headline_table, markdown_text, significance_table)

REPORT_MD, CURVES_PNG, SUMMARY_JSON = "report.md", "curves.png", "summary.json"
CONFIGS_PNG, SEEDS_PNG = "curves_configurations.png", "seeds.png"


def load_results(runs_dir: str | Path, warn: Callable[[str], None] | None = None) -> list[RunResult]:
    """Every run under ``runs_dir``, in the report's order; ``warn``: skip a malformed result
    file with one line naming it (else it raises)."""
    return sort_results(find_results(runs_dir, warn))


def summary(results: list[RunResult]) -> dict:
    """The report as data: each run's headline numbers (no per-epoch history); per task and
    model (or reference) its folds' and seeds' values, mean, std and confidence interval, the
    budget used, and the TCN's test against it; and ``methods``, what those statistics are.

    Everything comes from the result files (test items included), so ``seqbench report DIR``
    recomputes the same numbers as the comparison printed."""
    keep = ("task", "variant", "model", "preset", "parameters", "receptive_field", "primary_metric",
            "higher_is_better", "metrics", "paper", "baseline", "best_epoch", "selection", "epochs", "steps",
            "stopped_by_time_limit", "wall_time_s", "seed", "run_dir", "primary_statistic", "config")
    models = []
    for title, by_model in protocol_cells(results).items():
        tcn = by_model.get(REFERENCE_KIND)
        for m, cell in by_model.items():
            entry = cell_entry(title, m, cell)
            if tcn is not None and m != REFERENCE_KIND:
                entry["against_tcn"] = paired_test(tcn.units(), cell.units()).to_dict()
            models.append(entry)
    runs = [{k: getattr(r, k) for k in keep if k != "config"} | {"reference": r.config.get("reference")}
            for r in results]
    return {"runs": runs, "models": models, "methods": methods()}


def cell_entry(title: str, model: str, cell: Cell) -> dict:
    """One model's (or reference's) line of the summary."""
    s = cell.summary()
    mean = lambda key: sum(getattr(r, key) or 0 for r in cell.runs) / len(cell.runs)  # noqa: E731
    folds = {}
    for r in cell.runs:
        fold = folds.setdefault(fold_key(r), {"fold": fold_label(r) or fold_key(r), "variant": r.variant, "seeds": [],
                                              "values": []})
        fold["seeds"].append(r.seed)
        fold["values"].append(r.test_value)
    for fold in folds.values():
        known = [v for v in fold["values"] if v is not None]
        fold["mean"] = sum(known) / len(known) if known else None
    return {"task": title, "model": model, "label": cell.label, "reference": cell.is_reference,
            "parameters": cell.first.parameters, "seeds": cell.seeds, "folds": list(folds.values()),
            "runs": len(cell.runs), "epochs": mean("epochs"), "steps": mean("steps"),
            "wall_time_s": mean("wall_time_s"), "test": s.to_dict() if s else None,
            "other_metrics": _other_means(cell), "paper": cell.first.paper_value, "tuning": tuning_of(cell.first),
            "budget_limited": cell.budget_limited,
            "selection": sorted({(r.selection or {}).get("rule") or "metric" for r in cell.runs if not cell.is_reference})}


def _other_means(cell: Cell) -> dict[str, float]:
    """The mean over the cell's runs of each test metric besides the primary one."""
    names = {k for r in cell.runs for k in r.metrics.get("test", {})} - {cell.first.primary_metric}
    out = {}
    for name in sorted(names):
        values = [r.metrics["test"][name] for r in cell.runs if r.metrics.get("test", {}).get(name) is not None]
        if values:
            out[name] = sum(values) / len(values)
    return out


def methods() -> dict:
    """What the summary's intervals and tests are (:mod:`seqbench.stats`)."""
    return {"confidence": stats.CONFIDENCE, "alpha": stats.ALPHA, "min_test_items": stats.MIN_TEST_ITEMS,
            "bootstrap_resamples": stats.BOOTSTRAP_RESAMPLES, "bootstrap_seed": stats.BOOTSTRAP_SEED,
            "intervals": [stats.WILSON_METHOD, stats.BOOTSTRAP_METHOD, stats.CI_METHOD + " (results without items)"],
            "tests": [stats.MCNEMAR_METHOD, stats.PAIRED_METHOD, stats.TEST_METHOD + " (results without items)"]}


def write_report(runs_dir: str | Path, out_dir: str | Path | None = None, page: str | Path | None = None,
                 title: str = "seqbench report", notes: str | Path | None = None,
                 results: list[RunResult] | None = None) -> dict[str, Path]:
    """Write the Markdown page, ``curves.png``, ``seeds.png`` and ``summary.json`` for the runs
    under ``runs_dir`` (or ``results``, read from there already).

    ``page`` is the Markdown file (default ``out_dir/report.md``); ``notes`` a Markdown file
    whose text (the discussion a person writes) is appended, so the page is regenerated
    whole from the result files and the notes. Everything is made before anything is written
    (the figures in a temporary directory beside them), so an error leaves the previous
    report as it was, not half of a new one.
    """
    results = load_results(runs_dir) if results is None else results
    out = Path(out_dir) if out_dir is not None else Path(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    page = Path(page) if page is not None else out / REPORT_MD
    data = summary(results)
    extra = "" if notes is None else "\n" + Path(notes).read_text()
    with tempfile.TemporaryDirectory(dir=out, prefix=".report-") as staging:
        staged = {"curves": learning_curves(results, Path(staging) / CURVES_PNG),
                  "configurations": configuration_curves(results, Path(staging) / CONFIGS_PNG),
                  "seeds": seed_plot(results, Path(staging) / SEEDS_PNG)}
        figures = {k: out / v.name for k, v in staged.items() if v is not None}
        md = _markdown(results, runs_dir, title, figures, page) + extra
        for name, path in staged.items():
            if path is not None:
                os.replace(path, figures[name])
    write_text(page, md)
    write_json(out / SUMMARY_JSON, data)
    return {"markdown": page, "summary": out / SUMMARY_JSON, **figures}


def _markdown(results: list[RunResult], runs_dir, title: str, figures: dict[str, Path], page: Path) -> str:
    """The page's Markdown: the tables, the commands, and links to ``figures``."""
    machines = sorted({f"{r.machine.get('cpus', '?')} CPU cores"
                       + (f" ({r.machine['cpu']})" if r.machine.get("cpu") else "")
                       + f", torch {r.versions.get('torch', '?')}" for r in results if r.machine})
    where = f" ({markdown_text('; '.join(machines))})" if machines else ""
    paper = ("; the paper's number is for the variant in brackets when it differs" if has_paper(results) else "")
    md = (f"# {title}\n\n" f"Runs under `{runs_dir}`{where}. Test metric of each run's delivered checkpoint "
          "(chosen on the validation split, as the tables say), and (runs with `--test-every-epoch`) the mean test "
          f"metric of its last 3 validations{paper}.\n\n"
          + headline_table(results) + baselines_section(results) + significance_table(results)
          + forecast_section(results)
          + "\n## Every run\n\n" + every_run_table(results) + "\n" + commands_section(results))
    md += f"\n![learning curves]({os.path.relpath(figures['curves'], page.parent)})\n"
    if "seeds" in figures:
        md += ("\nEach seed's test metric (dots) and the mean with its 95% confidence interval:\n\n"
               f"![seeds]({os.path.relpath(figures['seeds'], page.parent)})\n")
    if "configurations" in figures:
        md += ("\nEvery configuration of the tasks with ablations (validation metric of each one's best seed):\n\n"
               f"![configurations]({os.path.relpath(figures['configurations'], page.parent)})\n")
    return md
