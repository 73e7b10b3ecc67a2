"""The report as a page and as data: ``write_report(runs_dir)`` writes the Markdown page, the
figures and ``summary.json`` for every ``result.json`` under a directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..files import write_json, write_text
from ..results import RunResult, find_results
from ..stats import welch
from .curves import configuration_curves, learning_curves, seed_plot
from .runs import protocol_cells, sort_results
from .tables import (baselines_section, commands_section, every_run_table, headline_table, markdown_text,
                     significance_table)

REPORT_MD, CURVES_PNG, SUMMARY_JSON = "report.md", "curves.png", "summary.json"
CONFIGS_PNG, SEEDS_PNG = "curves_configurations.png", "seeds.png"


def load_results(runs_dir: str | Path, warn: Callable[[str], None] | None = None) -> list[RunResult]:
    """Every run under ``runs_dir``, in the report's order; ``warn``: skip a malformed result
    file with one line naming it (else it raises)."""
    return sort_results(find_results(runs_dir, warn))


def summary(results: list[RunResult]) -> dict:
    """The report as data: each run's headline numbers (no per-epoch history), and per task
    and model the seeds' values, mean, std and confidence interval, with the TCN's test
    against each baseline."""
    keep = ("task", "variant", "model", "preset", "parameters", "receptive_field", "primary_metric",
            "higher_is_better", "metrics", "paper", "baseline", "best_epoch", "epochs", "steps", "stopped_by_time_limit",
            "wall_time_s", "seed", "run_dir")
    models = []
    for title, by_model in protocol_cells(results).items():
        tcn = by_model.get("tcn")
        for m, cell in by_model.items():
            s = cell.summary()
            entry = {"task": title, "model": m, "seeds": cell.seeds, "test": s.to_dict() if s else None,
                     "paper": cell.first.paper_value, "budget_limited": cell.budget_limited}
            if tcn is not None and m != "tcn":
                entry["against_tcn"] = welch(tcn.values, cell.values).to_dict()
            models.append(entry)
    return {"runs": [{k: getattr(r, k) for k in keep} for r in results], "models": models}


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
    md = (f"# {title}\n\n" f"Runs under `{runs_dir}`{where}. Test metric of each run's best-validation "
          "checkpoint, and (runs with `--test-every-epoch`) the mean test metric of its last 3 validations; the "
          "paper's number is for the variant in brackets when it differs.\n\n"
          + headline_table(results) + baselines_section(results) + significance_table(results)
          + "\n## Every run\n\n" + every_run_table(results) + "\n" + commands_section(results))
    md += f"\n![learning curves]({os.path.relpath(figures['curves'], page.parent)})\n"
    if "seeds" in figures:
        md += ("\nEach seed's test metric (dots) and the mean with its 95% confidence interval:\n\n"
               f"![seeds]({os.path.relpath(figures['seeds'], page.parent)})\n")
    if "configurations" in figures:
        md += ("\nEvery configuration of the tasks with ablations (validation metric of each one's best seed):\n\n"
               f"![configurations]({os.path.relpath(figures['configurations'], page.parent)})\n")
    return md
