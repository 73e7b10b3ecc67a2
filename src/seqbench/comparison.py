"""Every model kind on one task over the same seeds and budget: what ``seqbench compare`` runs.

The models are parameter-matched to the task's TCN (the task builds them), every model
trains the same seeds ``0 .. seeds-1`` with the same preset and the same ``max_time``, and
the comparison reports mean ± std over seeds with Welch's test of the TCN against each
baseline (``seqbench.stats``). Seeds run in order, all models of a seed before the next
seed, so a comparison stopped half-way still has whole seeds.
"""

from __future__ import annotations

from pathlib import Path

from .choices import MODEL_KINDS
from .results import RunResult


def group_dir(out: str | Path, task: str, variant: dict, budget: str) -> Path:
    """Where a comparison's runs and report go: ``OUT/compare-TASK-VARIANT-BUDGET``."""
    from .training.config import variant_parts

    return Path(out) / "-".join([f"compare-{task}"] + variant_parts(variant) + [budget])


def compare(task: str, models=MODEL_KINDS, seeds: int = 1, budget: str = "small", variant: dict | None = None,
            out: str | Path = "runs", resume: bool = False, task_object=None, announce=None, **run_options) -> dict:
    """Train each of ``models`` on ``task`` for seeds ``0 .. seeds - 1``; write the report.

    Args:
        task: a task name (``"copy_memory"``), or ``"custom"`` with ``variant={"file": ...}``.
        models: model kinds; recurrent ones are matched to the TCN's parameter count.
        seeds: seeds per model (3 or more to say anything about spread).
        budget: the task preset every model trains with (``"small"``, ``"paper"``).
        variant: task variant (``{"seq_len": 100}``).
        out: the directory that holds the comparison's directory.
        resume: continue runs that have checkpoints (otherwise a re-run starts over).
        task_object: the task, when the caller built it already (read once for every run).
        announce: called with a line before each run starts (the CLI's progress).
        run_options: further :class:`~seqbench.training.RunConfig` fields for every run
            (``max_time``, ``threads``, ``data_dir``, ``progress``, ...).

    Returns:
        The report's summary (``summary.json``): per run its metrics; per model its seeds'
        test values, mean, std, 95% confidence interval and the test against the TCN;
        plus ``"group"`` (the comparison's directory) and ``"paths"`` of the report's files.
    """
    from .report import summary, write_report
    from .training import RunConfig, run
    from .training.runner import is_launched_child

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    unknown = [m for m in models if m not in MODEL_KINDS]
    if unknown or not models:
        raise ValueError(f"models must be some of {', '.join(MODEL_KINDS)}, got {list(models)!r}")
    variant = dict(variant or {})
    group = group_dir(out, task, variant, budget)
    results, total = [], seeds * len(models)
    for seed in range(seeds):
        for i, kind in enumerate(models):
            if announce is not None:
                announce(f"== {task} / {kind}, seed {seed} ({seed * len(models) + i + 1} of {total}; {budget} budget)")
            cfg = RunConfig(task=task, model=kind, preset=budget, variant=variant, out=str(group),
                            name=f"{kind}-seed{seed}", seed=seed, resume=resume, overwrite=not resume, **run_options)
            results.append(RunResult.from_dict(run(cfg, task=task_object)))
    if is_launched_child():  # DDP's extra processes train; the first one reports
        return {}
    paths = write_report(group)
    return {**summary(results), "group": str(group), "paths": {k: str(v) for k, v in paths.items()}}
