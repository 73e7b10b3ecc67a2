"""Every model kind on one task over the same seeds and budget: what ``seqbench compare`` runs.

The models are parameter-matched to the task's TCN (the task builds them), every model
trains the same seeds ``0 .. seeds-1`` with the same preset and the same ``max_time``, and
the comparison reports mean ± std over seeds with Welch's test of the TCN against each
baseline (``seqbench.stats``). Seeds run in order, all models of a seed before the next
seed, so a comparison stopped half-way still has whole seeds, and ``resume=True`` finishes it:
finished runs are kept, stopped ones resumed, the others started.
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
            out: str | Path = "runs", resume: bool = False, overwrite: bool = False, task_object=None, announce=None,
            **run_options) -> dict:
    """Train each of ``models`` on ``task`` for seeds ``0 .. seeds - 1``; write the report.

    Args:
        task: a task name (``"copy_memory"``), or ``"custom"`` with ``variant={"file": ...}``.
        models: model kinds; recurrent ones are matched to the TCN's parameter count.
        seeds: seeds per model (3 or more to say anything about spread).
        budget: the task preset every model trains with (``"small"``, ``"paper"``).
        variant: task variant (``{"seq_len": 100}``).
        out: the directory that holds the comparison's directory.
        resume: finish a comparison that stopped: keep its finished runs (``result.json``),
            resume those with a checkpoint, start the others.
        overwrite: start every run over. Without ``resume`` or ``overwrite`` a comparison
            whose directory already holds runs is refused (FileExistsError).
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
    from .training import RESULT, RunConfig, run
    from .training.checkpoints import newest_checkpoint
    from .training.runner import holds_a_run, is_launched_child

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    unknown = [m for m in models if m not in MODEL_KINDS]
    if unknown or not models:
        raise ValueError(f"models must be some of {', '.join(MODEL_KINDS)}, got {list(models)!r}")
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other")
    variant = dict(variant or {})
    group = group_dir(out, task, variant, budget)
    planned = [(seed, kind, group / f"{kind}-seed{seed}") for seed in range(seeds) for kind in models]
    held = [run_dir.name for _, _, run_dir in planned if holds_a_run(run_dir)]
    if held and not (resume or overwrite) and not is_launched_child():
        names = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise FileExistsError(f"{group} already holds runs of this comparison ({names}); pass --resume "
                              "to finish it or --overwrite to start it over")
    results = []
    for n, (seed, kind, run_dir) in enumerate(planned, 1):
        line = f"== {task} / {kind}, seed {seed} ({n} of {len(planned)}; {budget} budget)"
        if resume and (run_dir / RESULT).is_file():
            results.append(_finished(run_dir / RESULT, kind, seed))
            if announce is not None:
                announce(f"{line}: finished already")
            continue
        if announce is not None:
            announce(line)
        cfg = RunConfig(task=task, model=kind, preset=budget, variant=variant, out=str(group), name=run_dir.name,
                        seed=seed, resume=resume and newest_checkpoint(run_dir / "checkpoints") is not None,
                        overwrite=overwrite, **run_options)
        results.append(RunResult.from_dict(run(cfg, task=task_object)))
    if is_launched_child():  # DDP's extra processes train; the first one reports
        return {}
    paths = write_report(group)
    return {**summary(results), "group": str(group), "paths": {k: str(v) for k, v in paths.items()}}


def _finished(path: Path, model: str, seed: int) -> RunResult:
    """The result a resumed comparison keeps, checked to be of the run it stands for."""
    result = RunResult.load(path)
    if (result.model, result.seed) != (model, seed):
        raise ValueError(f"{path} holds a {result.model} run of seed {result.seed}, not {model} seed {seed}")
    return result
