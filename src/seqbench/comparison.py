"""Every model kind on one task over the same folds, seeds and budget: what ``seqbench compare`` runs.

The models are parameter-matched to the task's TCN (the task builds them), every model
trains on the same variants (one per fold, resample or backtest group) with the same seeds
``0 .. seeds-1``, the same preset and the same budget (``epochs``, ``steps``, ``max_time``),
and the comparison reports mean ± std over folds and seeds with an interval and a test of
the TCN against each baseline (``seqbench.stats``). Reference predictors whose results lie in
the comparison's directory are rows beside the models. Folds run in order, and within a fold
seeds, all models of a seed before the next, so a comparison stopped half-way still has whole
folds and seeds, and ``resume=True`` finishes it: finished runs are kept, stopped ones
resumed, the others started.
"""

from __future__ import annotations

from pathlib import Path

from .results import RunResult


def group_dir(out: str | Path, task: str, variant: dict, preset: str, tuned: bool = False,
              what: str = "compare") -> Path:
    """Where a comparison's runs and report go: ``OUT/compare-TASK-VARIANT-PRESET``, with
    ``-tuned`` for the tuned models' comparison; ``what="tune"``: a tuning's directory."""
    from .training.config import variant_parts

    return Path(out) / "-".join([f"{what}-{task}"] + variant_parts(variant) + [preset] + (["tuned"] if tuned else []))


def compare(task: str, models=None, seeds: int = 1, preset: str | None = None, variant: dict | None = None,
            out: str | Path = "runs", resume: bool = False, overwrite: bool = False, task_object=None, announce=None,
            variants: list[dict] | None = None, references: bool = True, season: int | None = None,
            tuned: dict[str, dict] | None = None, notes: str | Path | None = None, **run_options) -> dict:
    """Train each of ``models`` on ``task`` for seeds ``0 .. seeds - 1`` on each of ``variants``; write the report.

    Args:
        task: a task name (``"copy_memory"``), or ``"custom"`` with ``variant={"file": ...}``.
        models: registered model kinds (default: every one, :func:`seqbench.nn.kinds`); each
            one other than the TCN is matched to the TCN's parameter count.
        seeds: seeds per model (3 or more to say anything about spread).
        preset: the task preset every model trains with (``"small"``, ``"paper"``); None: the task's
            quick one (:meth:`~seqbench.tasks.Task.preset_for` with ``compare=True``).
        variant: task variant (``{"seq_len": 100}``): it names the comparison's directory.
        out: the directory that holds the comparison's directory.
        resume: finish a comparison that stopped: keep its finished runs (``result.json``),
            resume those with a checkpoint, start the others.
        overwrite: start every run over. Without ``resume`` or ``overwrite`` a comparison
            whose directory already holds runs is refused (FileExistsError).
        task_object: the task of ``variant``, when the caller built it already (read once for its runs).
        announce: called with a line before each run starts (the CLI's progress).
        variants: the task variants every model and seed trains on, one per fold (or resample,
            or backtest group), each optionally with a ``"label"`` naming it in run names (the
            label is not passed to the task); default ``[variant]``. Their runs share the
            comparison's directory, and the report takes the mean over them.
        references: your own data: also fit the reference predictors that apply
            (``seqbench.references``) on each variant and write them into the group, where the
            report shows them as rows beside the models.
        tuned: each model's tuned settings, ``{kind: {"settings": {...}, "trials": n, "pruned": n, ...}}``
            (:func:`seqbench.tuning.tuned_models`): every model trains its own settings, in
            ``compare-...-tuned``, and each result records the tuning it came from.
        notes: a Markdown file appended to the report (the tuning's section).
        run_options: further :class:`~seqbench.training.RunConfig` fields for every run
            (``epochs``, ``steps``, ``max_time``, ``select``, ``threads``, ``data_dir``, ``progress``, ...).

    Returns:
        The report's summary (``summary.json``): per run its metrics; per model (and reference)
        its folds' and seeds' test values, mean, std, interval and the test against the TCN;
        plus ``"group"`` (the comparison's directory) and ``"paths"`` of the report's files.
    """
    from .nn import kinds
    from .report import load_results, summary, write_report
    from .training import RunConfig, RunDir, build_task, run
    from .training.config import task_class
    from .training.runner import is_launched_child

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    known = kinds()
    models = list(known) if models is None else models
    unknown = [m for m in models if m not in known]
    if unknown or not models:
        raise ValueError(f"models must be some of {', '.join(known)}, got {list(models)!r}")
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other")
    variant = dict(variant or {})
    plan = [dict(v) for v in (variants if variants is not None else [variant])]
    if not plan:
        raise ValueError("variants must hold at least one task variant")
    labels = [str(v.pop("label", "")) or (fold_name(v, variant) if len(plan) > 1 else "") for v in plan]
    if len(set(labels)) < len(labels):
        raise ValueError(f"the variants of a comparison must differ; got labels {labels}")
    preset = task_class(task).preset_for(preset, compare=True)
    group = group_dir(out, task, variant, preset, tuned=tuned is not None)
    if tuned is not None:
        missing = [m for m in models if m not in tuned]
        clash = sorted({k for m in models if m in tuned for k in tuned[m]["settings"]} & set(run_options))
        if missing or clash:
            raise ValueError(f"the tuning has no settings of {', '.join(missing)}" if missing else
                             f"{', '.join(clash)} come from the tuning; leave them out of a tuned comparison")
    planned = [(fold, label, seed, kind,
                RunDir(group / "-".join([kind] + ([_slug(label)] if label else []) + [f"seed{seed}"])))
               for fold, label in zip(plan, labels) for seed in range(seeds) for kind in models]
    held = [run_dir.name for *_, run_dir in planned if run_dir.holds_a_run()]
    if held and not (resume or overwrite) and not is_launched_child():
        names = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise FileExistsError(f"{group} already holds runs of this comparison ({names}); pass --resume "
                              "to finish it or --overwrite to start it over")
    built, built_for = None, None
    for n, (fold, label, seed, kind, run_dir) in enumerate(planned, 1):
        if fold is not built_for:
            # each fold's task is built once, for all its runs (your own data: its file is read once)
            built, built_for = (task_object if task_object is not None and fold == variant else
                                build_task(task, run_options.get("data_dir"), None, **fold)), fold
            built.check_preset(preset)  # before any run directory is made
            if references and task == "custom" and not is_launched_child():
                write_references(built, group, "-" + _slug(label) if label else "", season, announce)
        where = f", {label}" if label else ""
        line = f"== {task} / {kind}{where}, seed {seed} ({n} of {len(planned)}; preset {preset})"
        if resume and run_dir.finished:
            _finished(run_dir.result, kind, seed)
            if announce is not None:
                announce(f"{line}: finished already")
            continue
        if announce is not None:
            announce(line)
        own = tuned[kind]["settings"] if tuned is not None else {}
        cfg = RunConfig(task=task, model=kind, preset=preset, variant=fold, out=str(group), name=run_dir.name,
                        seed=seed, resume=resume and run_dir.has_checkpoint(),
                        overwrite=overwrite, **run_options, **own)
        run(cfg, task=built)
        if tuned is not None and not is_launched_child():
            _record_tuning(run_dir, tuned[kind])
    if is_launched_child():  # DDP's extra processes train; the first one reports
        return {}
    paths = write_report(group, notes=notes)  # every result in the group: the references' too
    return {**summary(load_results(group)), "group": str(group), "paths": {k: str(v) for k, v in paths.items()}}


def _record_tuning(run_dir, tuning: dict) -> None:
    """Write into a tuned run's result the tuning its settings came from (the report's rows say
    how many trials and pruned trials each model had)."""
    result = RunResult.load(run_dir.result)
    result.config["tuned"] = {k: v for k, v in tuning.items() if k != "settings"}
    run_dir.write_result(result)


def _slug(label: str) -> str:
    """A fold's label as a word of run names (``"fold 2 of 5"`` -> ``"fold2of5"``)."""
    return label.replace(" ", "")


def _finished(path: Path, model: str, seed: int) -> RunResult:
    """The result a resumed comparison keeps, checked to be of the run it stands for."""
    result = RunResult.load(path)
    if (result.model, result.seed) != (model, seed):
        raise ValueError(f"{path} holds a {result.model} run of seed {result.seed}, not {model} seed {seed}")
    return result


def write_references(task, group: Path, suffix: str, season: int | None = None, announce=None) -> None:
    """Fit and write the references that apply to ``task`` (one variant) into ``group``, with
    ``suffix`` naming the variant; nothing when this seqbench has no references."""
    try:
        from .references import run_references
    except ImportError:  # a seqbench without reference predictors
        return
    run_references(task, group, season=season, suffix=suffix, times=getattr(task, "series_times", None),
                   announce=announce)


def fold_name(variant: dict, base: dict) -> str:
    """Words naming a variant of a comparison by what differs from its base variant (``"seed3"``)."""
    from .training.config import variant_parts

    return "-".join(variant_parts({k: v for k, v in variant.items() if base.get(k) != v})) or "base"
