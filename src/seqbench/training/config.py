"""What a run is: one task variant, one model kind, one preset, and the overrides on top.

:class:`RunConfig` is everything :func:`seqbench.training.run` needs; it is stored in every
checkpoint and results JSON, so a run can be evaluated or resumed from its files alone.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from dataclasses import dataclass

from .. import tasks
from ..choices import NO_SCHEDULE, OPTIMIZERS, SCHEDULES
from ..run_settings import MODEL_SETTINGS, RunSettings, check_settings, name_parts
from ..tasks import Task

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
    task.check_preset(preset)
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


@dataclass
class RunConfig(RunSettings):
    """One training run: task, model kind, preset, variant and the settings on top.

    Its fields are the rows of :data:`seqbench.run_settings.SETTINGS` (each row's type, default,
    allowed values and help; ``seqbench train --help`` lists them); ``None`` for a model or
    training setting means "the preset's value", and ``preset`` None the task's own
    (:meth:`~seqbench.tasks.Task.preset_for`). Each value is checked by its row.

    Raises:
        ValueError: a value its row refuses, a setting of another model kind (``forget_bias``
            of a GRU), or ``resume`` with ``overwrite``.
    """

    def __post_init__(self) -> None:
        self.preset = task_class(self.task).preset_for(self.preset)
        check_settings(self)
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other")

    def model_overrides(self) -> dict:
        """The ``make_model`` arguments this run sets (``hidden_size``, ``dropout``, ...)."""
        return {k: getattr(self, k) for k in MODEL_SETTINGS if getattr(self, k) is not None}

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
