"""What a run is: one task variant, one model kind, one preset, and the overrides on top.

:class:`RunConfig` is everything :func:`seqbench.training.run` needs; it is stored in every
checkpoint and results JSON, so a run can be evaluated or resumed from its files alone.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

from .. import tasks
from ..choices import DROPOUT_MODES, INITS, MODEL_OVERRIDES, NO_SCHEDULE, OPTIMIZERS, REFERENCE_KIND, SCHEDULES
from ..nn import checks, kinds
from ..run_settings import name_parts
from ..tasks import Task
from ..tasks.base import SELECTIONS

SCHEDULE_NAMES = (None, *SCHEDULES)


def build_task(name: str, data_dir=None, preset: str | None = None, *, built: Task | None = None, **variant) -> Task:
    """The one place a task is constructed (training, compare, evaluate, the CLI).

    When ``preset`` names a preset with its own variant (e.g. ``"small"``: a reduced
    training set), that variant is the default and ``variant`` wins over it. ``built`` is
    a task the caller already made of ``name`` and ``variant`` (a command that read your
    data file to check it): it is used as it is unless the preset needs another variant,
    so a file is read once per command.

    Raises:
        ValueError: unknown task or preset, or a variant the task rejects.
    """
    task = built if built is not None else _get(name, data_dir, variant)
    if preset is None:
        return task
    if preset not in task.presets:
        raise ValueError(f"task {name} has no preset {preset!r}; it has {', '.join(task.presets)}")
    implied = dict(task.presets[preset].variant)
    if implied and any(k not in variant for k in implied):
        task = _get(name, data_dir, {**implied, **variant})
    return task


def _get(name: str, data_dir, variant: dict) -> Task:
    try:
        return tasks.get(name, data_dir=data_dir, **variant)
    except TypeError as e:  # an option the task does not have
        raise ValueError(f"task {name} does not take {sorted(variant)}: {e}") from e


def task_class(name: str) -> type[Task]:
    """The class of task ``name`` (``Task`` for an unknown name), for its declarations (default
    preset, renamed presets) without building it: no data is loaded."""
    return tasks._REGISTRY.get(name) or tasks._USER_TASKS.get(name) or Task


def variant_parts(variant: dict) -> list[str]:
    """File-name-safe ``key+value`` words of a variant (a data file is named by its stem:
    ``file`` by the stem alone, ``test_file`` as ``test_file`` + the stem, not its whole path)."""
    words = []
    for k, v in sorted(variant.items()):
        word = Path(str(v)).stem if k == "file" else f"{k}{Path(str(v)).stem}" if k.endswith("_file") else f"{k}{v}"
        words.append(re.sub(r"[^A-Za-z0-9._=+-]+", "_", word))
    return words


def check_run_name(name) -> str:
    """``name`` if it names one directory inside the runs directory: not empty, no path
    separator, not ``.`` or ``..`` (an overwrite deletes what a run directory holds)."""
    if not isinstance(name, str) or not name.strip() or name in (".", "..") \
            or any(c in name for c in ("/", "\\", "\0")):
        raise ValueError(f"name must be one directory name inside the runs directory (no '/', '\\', "
                         f"'.' or '..'), got {name!r}")
    return name


@dataclass
class RunConfig:
    """One training run. ``None`` means "the preset's value".

    Attributes:
        task, model, preset: what to train (``model`` is ``tcn``, ``lstm``, ``gru`` or ``rnn``;
            ``preset`` None: the task's ``default_preset``, ``"paper"`` for a benchmark).
        variant: task variant, e.g. ``{"seq_len": 200}``; the preset's variant fills the rest.
        epochs, batch_size, lr, optimizer, clip, lr_schedule: training overrides; ``clip=0``
            turns off the preset's gradient clipping (what the official copy-memory and music
            scripts effectively ran: they clip before ``backward()``, so their clip never acts);
            ``lr_schedule="none"`` a constant learning rate instead of the preset's schedule
            (``seqbench.training.schedules``). All but ``epochs`` enter the run's name.
        hidden_size, levels, kernel_size, dropout, num_layers: model overrides; they enter
            the run's name, so a run of another model never resumes from this one's files.
        forget_bias: an LSTM's initial forget-gate bias (torch starts it at 0; a positive one
            helps an LSTM carry memory over long sequences early in training). Enters the name.
        dropout_mode: the TCN's dropout, ``"elementwise"`` (the official code's) or
            ``"channel"`` (the paper's spatial dropout); init: ``"default"``, ``"normal"`` or
            ``"official"`` (see :class:`seqbench.nn.TCN`). Both enter the run's name.
        max_time: stop training after this many seconds (the best checkpoint is still tested).
        steps: stop training after this many optimizer steps (Lightning's ``max_steps``); the
            epochs are then unbounded unless ``epochs`` is given too (the first limit reached
            stops). A budget, like ``epochs`` and ``max_time``: not in the run's name.
        select: which checkpoint the run delivers (and tests): ``"loss"`` the lowest
            validation loss, ``"metric"`` the best validation primary metric, ``"last"`` the last
            validation; ties go to the later validation. None: the task's ``selection``.
        test_every_epoch: also evaluate the test split after every epoch, so the results
            record the mean test metric of the last 3 epochs beside the best-validation one
            (selection still uses the validation split only).
        val_every: validate (and checkpoint the best) every this many optimizer steps
            instead of once per epoch: a learning curve for runs whose budget is a few epochs.
        seed: seeds data order, initialisation and dropout; with ``deterministic`` the same
            config on the same machine gives the same numbers.
        flush_denormal: on the CPU, flush subnormal floats (below 1.2e-38) to zero while
            training. Gradients that vanish through hundreds of recurrent steps pass through
            that range, where x86 arithmetic is 10-100x slower: a GRU step on the adding
            problem (T=600) took 4-5x longer without it. The numbers lost are below float32's
            normal range.
        out, name: the run's files go to ``out/name`` (default name from task, variant,
            model and seed, so ``resume`` finds them again).
        resume: continue from the newest checkpoint in the run directory.
        overwrite: start over even when the run directory holds checkpoints.
        checkpoint_every: also checkpoint every this many optimizer steps (mid-epoch),
            besides the end of every epoch.
        devices, num_nodes, strategy, accelerator, precision: passed to Lightning's Trainer.
        threads: torch's intra-op threads for this process (``torch.set_num_threads``);
            None leaves torch's default.
    """

    task: str
    model: str = REFERENCE_KIND
    preset: str | None = None
    variant: dict = field(default_factory=dict)
    data_dir: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    clip: float | None = None
    lr_schedule: str | None = None
    hidden_size: int | None = None
    levels: int | None = None
    kernel_size: int | None = None
    dropout: float | None = None
    num_layers: int | None = None
    forget_bias: float | None = None
    dropout_mode: str | None = None
    init: str | None = None
    max_time: float | None = None
    steps: int | None = None
    select: str | None = None
    test_every_epoch: bool = False
    val_every: int | None = None
    seed: int = 0
    deterministic: bool = True
    flush_denormal: bool = True
    out: str = "runs"
    name: str | None = None
    resume: bool = False
    overwrite: bool = False
    checkpoint_every: int | None = 100
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    precision: str = "32-true"
    threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        cls = task_class(self.task)
        self.preset = cls.renamed_presets.get(self.preset, self.preset) if self.preset else cls.default_preset
        if self.model not in kinds():
            raise ValueError(f"unknown model {self.model!r}; choose from {', '.join(kinds())}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        for name in ("epochs", "steps", "batch_size", "hidden_size", "levels", "kernel_size", "num_layers",
                     "checkpoint_every", "val_every", "threads"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "max_time"):
            v = getattr(self, name)
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")
        if self.clip is not None and not (self.clip >= 0 and math.isfinite(self.clip)):
            raise ValueError(f"clip must be a finite positive number (or 0 for no clipping), got {self.clip!r}")
        # numpy's seeds (seed_everything passes it on) are unsigned 32-bit integers
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {self.seed!r}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if self.forget_bias is not None:
            if self.model != "lstm":
                raise ValueError(f"forget_bias applies to an LSTM only, not to {self.model!r}")
            checks.finite_number("forget_bias", self.forget_bias)
        if self.dropout_mode is not None and self.dropout_mode not in DROPOUT_MODES:
            raise ValueError(f"unknown dropout_mode {self.dropout_mode!r}; choose from {', '.join(DROPOUT_MODES)}")
        if self.init is not None and self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose from {', '.join(INITS)}")
        if self.lr_schedule is not None and self.lr_schedule not in (NO_SCHEDULE, *SCHEDULES):
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose from {NO_SCHEDULE}, {', '.join(SCHEDULES)}")
        if self.select is not None and self.select not in SELECTIONS:
            raise ValueError(f"unknown select {self.select!r}; choose from {', '.join(SELECTIONS)}")
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other")
        if self.name is not None:
            check_run_name(self.name)

    def model_overrides(self) -> dict:
        return {k: getattr(self, k) for k in MODEL_OVERRIDES if getattr(self, k) is not None}

    def run_name(self) -> str:
        if self.name:
            return self.name
        parts = [self.task] + variant_parts(self.variant) + [self.preset, self.model]
        # settings that change what is trained get their own run directory (a budget, epochs or
        # max_time, does not: `--resume --epochs N` extends a run)
        parts += name_parts(dataclasses.asdict(self))
        return "-".join(parts + [f"seed{self.seed}"])

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Training:
    """The resolved training settings of a run: the preset with the overrides applied.

    ``epochs`` is the preset's, raised to hold the preset's ``min_steps`` optimizer steps on
    the task's training split (unless the run sets ``epochs`` or ``steps`` itself); ``select``
    the checkpoint selection (the run's, else the task's).
    """

    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    clip: float | None
    lr_schedule: str | None
    select: str = "metric"

    @classmethod
    def resolve(cls, task: Task, cfg: RunConfig) -> "Training":
        preset = task.presets[cfg.preset]
        p = preset.training_for(cfg.model)
        pick = lambda name: getattr(cfg, name) if getattr(cfg, name) is not None else p[name]  # noqa: E731
        clip = pick("clip") or None  # 0 turns clipping off
        schedule = pick("lr_schedule")
        batch_size, epochs = int(pick("batch_size")), int(pick("epochs"))
        if preset.min_steps and cfg.epochs is None and cfg.steps is None:
            epochs = max(epochs, epochs_for_steps(preset.min_steps, len(task.dataset("train")), batch_size))
        select = cfg.select or task.selection
        task.selection_metric(select)  # a task without a loss metric cannot select on it
        t = cls(pick("optimizer"), float(pick("lr")), batch_size, epochs,
                clip, None if schedule == NO_SCHEDULE else schedule, select)
        if t.optimizer not in OPTIMIZERS:
            raise ValueError(f"preset {cfg.preset!r} names unknown optimizer {t.optimizer!r}")
        if t.lr_schedule not in SCHEDULE_NAMES:
            raise ValueError(f"unknown lr_schedule {t.lr_schedule!r}; choose from {SCHEDULE_NAMES}")
        return t


def epochs_for_steps(steps: int, train_size: int, batch_size: int) -> int:
    """The epochs that hold at least ``steps`` optimizer steps: an epoch is
    ``ceil(train_size / batch_size)`` steps (the last batch is kept, short or not)."""
    per_epoch = max(math.ceil(train_size / batch_size), 1)
    return math.ceil(steps / per_epoch)
