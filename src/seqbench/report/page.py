"""The report as a page and as data: ``write_report(runs_dir)`` writes the Markdown page, the
figures and ``summary.json`` for every ``result.json`` under a directory."""

from __future__ import annotations

import os
from pathlib import Path

from ..files import write_json, write_text
from ..results import RunResult, find_results
from ..stats import welch
from .curves import configuration_curves, learning_curves, seed_plot
from .runs import protocol_cells, sort_results
from .tables import baselines_section, commands_section, every_run_table, headline_table, significance_table

REPORT_MD, CURVES_PNG, SUMMARY_JSON = "report.md", "curves.png", "summary.json"
CONFIGS_PNG, SEEDS_PNG = "curves_configurations.png", "seeds.png"


def load_results(runs_dir: str | Path) -> list[RunResult]:
    """Every run under ``runs_dir``, in the report's order."""
    return sort_results(find_results(runs_dir))


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
                 title: str = "seqbench report", notes: str | Path | None = None) -> dict[str, Path]:
    """Write the Markdown page, ``curves.png``, ``seeds.png`` and ``summary.json`` for the runs
    under ``runs_dir``.

    ``page`` is the Markdown file (default ``out_dir/report.md``); ``notes`` a Markdown file
    whose text (the discussion a person writes) is appended, so the page is regenerated
    whole from the result files and the notes.
    """
    results = load_results(runs_dir)
    out = Path(out_dir) if out_dir is not None else Path(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    page = Path(page) if page is not None else out / REPORT_MD
    figures = {"curves": learning_curves(results, out / CURVES_PNG),
               "configurations": configuration_curves(results, out / CONFIGS_PNG),
               "seeds": seed_plot(results, out / SEEDS_PNG)}
    machines = sorted({f"{r.machine['cpus']} CPU cores" + (f" ({r.machine['cpu']})" if r.machine.get("cpu") else "")
                       + f", torch {r.versions.get('torch', '?')}" for r in results if r.machine})
    where = f" ({'; '.join(machines)})" if machines else ""
    md = (f"# {title}\n\n" f"Runs under `{runs_dir}`{where}. Test metric of each run's best-validation "
          "checkpoint, and (runs with `--test-every-epoch`) the mean test metric of its last 3 validations; the "
          "paper's number is for the variant in brackets when it differs.\n\n"
          + headline_table(results) + baselines_section(results) + significance_table(results)
          + "\n## Every run\n\n" + every_run_table(results) + "\n" + commands_section(results))
    md += f"\n![learning curves]({os.path.relpath(figures['curves'], page.parent)})\n"
    if figures["seeds"] is not None:
        md += ("\nEach seed's test metric (dots) and the mean with its 95% confidence interval:\n\n"
               f"![seeds]({os.path.relpath(figures['seeds'], page.parent)})\n")
    if figures["configurations"] is not None:
        md += ("\nEvery configuration of the tasks with ablations (validation metric of each one's best seed):\n\n"
               f"![configurations]({os.path.relpath(figures['configurations'], page.parent)})\n")
    if notes is not None:
        md += "\n" + Path(notes).read_text()
    write_text(page, md)
    write_json(out / SUMMARY_JSON, summary(results))
    return {"markdown": page, "summary": out / SUMMARY_JSON, **{k: v for k, v in figures.items() if v is not None}}
