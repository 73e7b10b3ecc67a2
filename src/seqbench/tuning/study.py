"""``seqbench.tune``: every model kind gets the same number of Optuna trials of the same
per-trial budget, in one study per kind held in a database that several workers can share.

Each worker (a ``seqbench tune`` process, on this machine or another one reaching the same
``storage``) loops: it counts the kind's finished and pruned trials, and while they are fewer
than ``trials`` it runs the next one. A trial is numbered by the database when it starts, so
no two workers run the same trial; one that would start past the total (two workers asked at
once) fails at once, before training, and is not counted. A worker stopped mid-trial (a crash,
``kill -9``) stops beating its heartbeat: the next worker to look marks that trial failed and
enqueues its settings again (Optuna's ``RetryHeartbeatStaleTrialCallback``), so its budget is re-spent.
Finished trials are never run again.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from pathlib import Path

from ..choices import REFERENCE_KIND
from .space import describe, distributions, run_settings, settings_text
from .trial import objective_key, train_trial

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
STUDY_DB = "study.db"
# seconds between a running trial's heartbeats, and how long one may be silent before it counts as stopped
HEARTBEAT_S, GRACE_S = 5, 20
# run settings a trial takes from the command rather than from its own choices
# (not ``test_every_epoch``: a trial never reads the test split)
TRIAL_OPTIONS = ("epochs", "steps", "max_time", "select", "val_every", "deterministic", "flush_denormal",
                 "threads", "accelerator", "precision", "data_dir")
# validations per epoch when --val-every is not given: the pruner needs a curve, not one point
VALIDATIONS_PER_EPOCH = 4
# a study's first trial trains the preset's own settings (nothing overridden), so a tuned model
# is never chosen over its untuned configuration without beating it on validation
PRESET_TRIAL = "preset_settings"


def worker_id() -> str:
    """Which process runs a trial (host and process id), recorded on the trial."""
    return f"{socket.gethostname()}:{os.getpid()}"


NOT_RUN = "not_run"  # the user attribute of a trial refused before training (OverBudget)


class OverBudget(Exception):
    """A trial that started after the kind's total was reached (several workers asked at once)."""


def optuna_or_hint():
    """The ``optuna`` module, or an ImportError naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise ImportError("seqbench tune needs Optuna: pip install 'seqbench[tune]'") from None
    return optuna


def tune_dir(out: str | Path, task: str, variant: dict, preset: str) -> Path:
    """Where a tuning's study and report go: ``OUT/tune-TASK-VARIANT-PRESET``."""
    from ..comparison import group_dir

    return group_dir(out, task, variant, preset, what="tune")


def default_storage(directory: Path) -> str:
    """The SQLite file in the tuning's directory (nothing to install; one machine)."""
    return f"sqlite:///{(directory / STUDY_DB).resolve()}"


def open_storage(url: str, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S):
    """Optuna's database storage at ``url`` with heartbeats, and stale trials retried once."""
    optuna = optuna_or_hint()
    import sqlalchemy

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    # Optuna 4.9 renamed the callback and its argument; earlier 4.x know the old names only
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's words since 2.9
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        callback = {"heartbeat_stale_trial_callback": retry(max_retry=1)} if retry is not None else \
            {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=1)}
        for attempt in range(3):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat_s,
                                                  grace_period=grace_s, **callback)
            except sqlalchemy.exc.SQLAlchemyError:
                # workers starting together on a new database race to create Optuna's tables;
                # the loser finds them made a moment later
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)


def make_sampler(name: str, kind: str, seed: int | None = None):
    """TPE (Optuna's default), random search, or a grid over :func:`~seqbench.tuning.space.distributions`."""
    optuna = optuna_or_hint()
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(distributions(kind, grid=True), seed=seed)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


def make_pruner(name: str):
    """The median rule (stop a trial whose best value so far is worse than the median of earlier
    trials at the same step; from the third trial on), successive halving, or none."""
    optuna = optuna_or_hint()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner must be one of {', '.join(PRUNERS)}, got {name!r}")


def counts(study) -> dict[str, int]:
    """The kind's trials by state: ``complete``, ``pruned``, ``failed``, ``running``, ``waiting``, and
    ``not_run`` (started past the total by a worker that asked at the same moment as another)."""
    from optuna.trial import TrialState

    names = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
             TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}
    out = dict.fromkeys([*names.values(), "not_run"], 0)
    for t in study.get_trials(deepcopy=False):
        out["not_run" if NOT_RUN in t.user_attrs else names[t.state]] += 1
    return out


def _suggest(trial, field: str, dist):
    """The trial's value of ``field`` from its Optuna distribution."""
    import optuna.distributions as d

    if isinstance(dist, list):  # a grid's points: the grid sampler picks among them
        return trial.suggest_categorical(field, dist)
    if isinstance(dist, d.CategoricalDistribution):
        return trial.suggest_categorical(field, list(dist.choices))
    if isinstance(dist, d.IntDistribution):
        return trial.suggest_int(field, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(field, dist.low, dist.high, log=dist.log)


def _check_before_training(study, trial, total: int) -> None:
    """Raise :class:`OverBudget` when ``total`` trials started before this one are finished,
    pruned or still running: the total is a ceiling even when workers ask at the same moment."""
    from optuna.trial import TrialState

    earlier = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING))
    if sum(t.number < trial.number for t in earlier) >= total:
        trial.set_user_attr(NOT_RUN, f"the study had its {total} trials when it started")
        raise OverBudget(f"trial {trial.number} not run: the study has its {total} trials")


def study_name(directory: Path, kind: str) -> str:
    """A kind's study in the storage: the tuning's directory name and the kind (several tunings share a database)."""
    return f"{directory.name}-{kind}"


def tune_kind(task, kind: str, preset: str, trials: int, directory: Path, storage, sampler: str = "tpe",
              pruner: str = "median", seed: int = 0, announce=None, **options) -> dict:
    """Run this worker's share of kind ``kind``'s ``trials`` trials (see the module's docstring);
    return the kind's counts and best trial."""
    optuna = optuna_or_hint()
    from ..training.config import RunConfig

    key, higher = objective_key(task, RunConfig(task=task.name, model=kind, preset=preset, **options))
    dists = distributions(kind, grid=sampler == "grid")
    study = optuna.create_study(storage=storage, study_name=study_name(directory, kind), load_if_exists=True,
                                direction="maximize" if higher else "minimize",
                                sampler=make_sampler(sampler, kind), pruner=make_pruner(pruner))
    _check_same_setup(study, {"space": describe(kind), "objective": key, "budget": _budget(options)})
    say = announce or (lambda line: None)

    def objective(trial):
        _check_before_training(study, trial, trials)
        if trial.user_attrs.get(PRESET_TRIAL):  # the untuned configuration: no setting overridden
            settings = {}
        else:
            params = {field: _suggest(trial, field, dist) for field, dist in dists.items()}
            settings = run_settings(task, kind, preset, params)
        trial.set_user_attr("settings", settings)
        trial.set_user_attr("worker", worker_id())
        say(f"-- {kind} trial {trial.number}: {settings_text(settings)}")
        cfg = RunConfig(task=task.name, model=kind, preset=preset, variant=dict(task.variant), seed=seed,
                        progress=False, **options, **settings)
        return train_trial(task, cfg, trial)

    def finished(study, frozen) -> None:
        where = f"pruned ({frozen.user_attrs.get('steps', '?')} steps)" if frozen.state.name == "PRUNED" \
            else f"{key[len('valid_'):]} {frozen.value:.4g}" if frozen.value is not None else frozen.state.name.lower()
        say(f"   {kind} trial {frozen.number}: {where}")

    if sampler != "grid":  # a grid holds its own points; the other samplers start from the preset
        # skip_if_exists: an empty set of params matches any trial, so once a study has a trial
        # (this worker's or another's) no second preset trial is queued
        study.enqueue_trial({}, user_attrs={PRESET_TRIAL: True}, skip_if_exists=True)
    before = counts(study)
    if before["complete"] + before["pruned"]:
        say(f"   {kind}: {before['complete'] + before['pruned']} of {trials} trials in the study already (kept)")
    waiting = False
    while True:
        optuna.storages.fail_stale_trials(study)
        c = counts(study)
        done = c["complete"] + c["pruned"]
        if done >= trials:
            break
        if done + c["running"] >= trials:  # others' trials: wait for them to finish or fall silent
            if not waiting:
                say(f"   {kind}: waiting for {c['running']} running trial(s) of another worker (one whose worker "
                    "stopped fails after its heartbeat's grace period and is run again)")
            waiting = True
            time.sleep(getattr(storage, "heartbeat_interval", None) or HEARTBEAT_S)
            continue
        waiting = False
        try:
            study.optimize(objective, n_trials=1, callbacks=[finished], gc_after_trial=True)
        except OverBudget:
            continue
    best = _best(study)  # c: the counts the loop ended on
    return {"model": kind, "study": study.study_name, "trials": c["complete"] + c["pruned"], **c,
            "objective": key, "higher_is_better": higher, **best}


def _best(study) -> dict:
    """The best finished trial's number, value and settings (None when every trial was pruned)."""
    try:
        trial = study.best_trial
    except ValueError:
        return {"best_trial": None, "best_value": None, "best_settings": None}
    return {"best_trial": trial.number, "best_value": trial.value, "best_settings": trial.user_attrs.get("settings")}


def _budget(options: dict) -> dict:
    return {k: options.get(k) for k in ("epochs", "steps", "max_time", "val_every")}


def _check_same_setup(study, setup: dict) -> None:
    """Record the search space, objective and per-trial budget on a new study; refuse to go on
    with a study begun under others (its trials would not be comparable to the new ones)."""
    stored = study.user_attrs.get("setup")
    if stored is None:
        study.set_user_attr("setup", setup)
    elif stored != setup:
        changed = ", ".join(k for k in setup if stored.get(k) != setup[k])
        raise ValueError(f"study {study.study_name} was begun with another {changed} ({stored}); give the same "
                         "options, or another --out or --storage for a new study")


def tune(task: str, models=None, trials: int = 20, preset: str | None = None, variant: dict | None = None,
         out: str | Path = "runs", storage: str | None = None, sampler: str = "tpe", pruner: str = "median",
         seed: int = 0, task_object=None, announce=None, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S,
         **run_options) -> dict:
    """Tune each of ``models`` on ``task`` with the same number of trials and the same per-trial budget.

    Args:
        task: a task name, or ``"custom"`` with ``variant={"file": ...}``.
        models: registered model kinds (default: every one); each is tuned over its kind's
            ``SEARCH_SPACE`` (:func:`~seqbench.tuning.space.describe`), every trial at the
            parameter budget of the preset's TCN.
        trials: finished or pruned trials per model (failed ones are run again).
        preset: the task's preset every trial starts from (None: the task's quick one).
        out: the directory that holds the tuning's (``tune-TASK-VARIANT-PRESET``: study and report).
        storage: an Optuna database URL (``postgresql://user@host/db``) that several workers
            share; default a SQLite file in the tuning's directory.
        sampler, pruner: see :data:`SAMPLERS` and :data:`PRUNERS`.
        seed: the seed of every trial's data order and initialisation.
        task_object: the task of ``variant`` when the caller built it already (used when the
            trials train on that variant; your own data read once).
        announce: called with a line per trial (the CLI's progress).
        run_options: the per-trial budget (``max_time``, ``steps``, ``epochs``, ``val_every``) and
            how trials run (``threads``, ``data_dir``, ...); see :data:`TRIAL_OPTIONS`.

    Returns:
        The tuning's summary (also ``tuning.json``): per model its counts and best trial, and the
        report's paths. Selection reads the validation split only; the test split is never read.
    """
    from ..nn import kinds
    from ..training import build_task
    from ..training.config import task_class
    from .report import write_tuning_report

    optuna = optuna_or_hint()
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    known = kinds()
    models = list(known) if models is None else list(models)
    unknown = [m for m in models if m not in known]
    if unknown or not models:
        raise ValueError(f"models must be some of {', '.join(known)}, got {models!r}")
    extra = sorted(set(run_options) - set(TRIAL_OPTIONS))
    if extra:
        raise ValueError(f"tune takes the per-trial budget and runtime options {', '.join(TRIAL_OPTIONS)}; "
                         f"not {', '.join(extra)} (the search space sets the model and training)")
    for name, value, allowed in (("sampler", sampler, SAMPLERS), ("pruner", pruner, PRUNERS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    if sampler == "grid":
        check_grid_holds(models, trials)
    preset = task_class(task).preset_for(preset, compare=True)
    first = first_fold(task, variant)
    # the caller's task serves when the trials train on its variant (not one fold of several)
    built = build_task(task, run_options.get("data_dir"), preset,
                       built=task_object if first == dict(variant or {}) else None, **first)
    if run_options.get("val_every") is None:
        run_options["val_every"] = default_val_every(built, preset)
    directory = tune_dir(out, task, dict(variant or {}), preset)
    directory.mkdir(parents=True, exist_ok=True)
    url = storage or default_storage(directory)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own line per trial says what matters
    say = announce or (lambda line: None)
    for kind in models:
        say(f"search space of {describe(kind)}")
    with warnings.catch_warnings():  # heartbeats and retries are "experimental" in Optuna's words since 2.9
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        db = open_storage(url, heartbeat_s, grace_s)
        results = [tune_kind(built, kind, preset, trials, directory, db, sampler, pruner, seed, say, **run_options)
                   for kind in models]
        setup = {"task": task, "variant": dict(variant or {}), "preset": preset, "trials": trials,
                 "sampler": sampler, "pruner": pruner, "seed": seed, "storage": _without_password(url),
                 "budget": _budget(run_options), "spaces": {kind: describe(kind) for kind in models}}
        return write_tuning_report(directory, setup, results, db)


def check_grid_holds(models, trials: int) -> None:
    """A grid search gives every model ``trials`` distinct points only when each grid has that many;
    a ValueError naming the smallest grid otherwise (repeated points would not be equal budgets)."""
    import math

    sizes = {kind: math.prod(len(v) for v in distributions(kind, grid=True).values()) for kind in models}
    smallest = min(sizes, key=sizes.get)
    if sizes[smallest] < trials:
        raise ValueError(f"--sampler grid: {smallest}'s grid has {sizes[smallest]} points, fewer than {trials} "
                         "trials; ask for at most that many")


def first_fold(task: str, variant: dict | None) -> dict:
    """The variant trials train on: your own data's first fold (or resample, or backtest) when
    the variant asks for several, as ``compare`` would train them; else the variant itself."""
    variant = dict(variant or {})
    if task != "custom":
        return variant
    from ..tasks.custom import resampling_plan

    first = resampling_plan(variant)[0]
    first.pop("label", None)
    return first


def default_val_every(task, preset: str) -> int:
    """Optimizer steps between validations: :data:`VALIDATIONS_PER_EPOCH` per epoch of the preset's TCN."""
    import math

    batch = task.presets[preset].training_for(REFERENCE_KIND)["batch_size"]
    return max(1, math.ceil(len(task.dataset("train")) / batch) // VALIDATIONS_PER_EPOCH)


def _without_password(url: str) -> str:
    """A database URL as it may be written into a report (``postgresql://user:***@host/db``)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def load_tuning(directory: str | Path) -> dict:
    """The summary of the tuning in ``directory`` (its ``tuning.json``), for ``compare --tuned``."""
    import json

    path = Path(directory) / "tuning.json"
    if not path.is_file():
        raise FileNotFoundError(f"{directory} holds no tuning (no tuning.json): run seqbench tune first")
    return json.loads(path.read_text())


def tuned_models(tuning: dict, models, task: str, variant: dict, preset: str) -> dict[str, dict]:
    """What ``compare --tuned`` trains: each of ``models``'s best settings in ``tuning`` with its
    trial counts (``{kind: {"settings", "trials", "pruned", "failed", "best_trial", "best_value",
    "study"}}``). A ValueError for a tuning of another task, variant or preset, or a model it did
    not tune or whose trials were all pruned."""
    setup = tuning["setup"]
    if (setup["task"], setup["variant"], setup["preset"]) != (task, variant, preset):
        raise ValueError(f"the tuning is of {setup['task']} {setup['variant']} ({setup['preset']} preset), not of "
                         f"{task} {variant} ({preset} preset)")
    by_model = {m["model"]: m for m in tuning["models"]}
    missing = [m for m in models if m not in by_model or by_model[m].get("best_settings") is None]
    if missing:
        raise ValueError(f"the tuning has no finished trial of {', '.join(missing)}; tune them first")
    keep = ("trials", "pruned", "failed", "best_trial", "best_value", "study")
    return {m: {"settings": dict(by_model[m]["best_settings"]), **{k: by_model[m][k] for k in keep},
                "sampler": setup["sampler"], "pruner": setup["pruner"], "budget": setup["budget"]} for m in models}


__all__ = ["tune", "tune_kind", "tune_dir", "load_tuning", "tuned_models", "SAMPLERS", "PRUNERS"]
