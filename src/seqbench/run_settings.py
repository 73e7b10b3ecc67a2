"""The run settings a user sets, and how each is written: in a run's directory name, in the
report's label of a run, and as a ``seqbench train`` option.

One table for the run name (``RunConfig.run_name``), the report's labels and reproduce
commands, and the reproduction plan. No torch, so the report stays light.

Two kinds of setting:

* :data:`NAMED_SETTINGS` change *what is trained* (model size, optimiser, clipping, ...):
  they enter the run's name, so another configuration never resumes from this one's files;
* :data:`BUDGET_SETTINGS` say *how long and how often* (epochs, a time budget, validation
  frequency): they stay out of the name, so ``--resume --epochs N`` extends a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


def _number(x) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Setting:
    """One ``RunConfig`` field as the three places write it.

    Attributes:
        field: the ``RunConfig`` field (``kernel_size``).
        flag: the ``seqbench train`` option (``--kernel-size``).
        kind: the value's type on a command line (``int``, ``float``, ``str``, ``bool`` for a flag).
        name: its word in a run directory's name (``"k5"``), from the value.
        label: its words in the report (``"k 5"``), from the value.
    """

    field: str
    flag: str
    kind: type
    name: Callable[[Any], str] | None = None
    label: Callable[[Any], str] | None = None

    def argv(self, value) -> list[str]:
        """The command-line words that set ``value``."""
        if self.kind is bool:
            return [self.flag] if value else []
        return [self.flag, _number(value) if isinstance(value, float) else str(value)]


def _numeric(field: str, flag: str, kind: type, word: str) -> Setting:
    return Setting(field, flag, kind, name=lambda v: f"{word}{_number(v)}", label=lambda v: f"{word} {_number(v)}")


def _clip_name(v) -> str:
    return "noclip" if v == 0 else f"clip{_number(v)}"


def _clip_label(v) -> str:
    return "no clipping" if v == 0 else f"clip {_number(v)}"


def _schedule_name(v) -> str:
    return "constant-lr" if v == "none" else f"lr-{v}"


def _schedule_label(v) -> str:
    return "constant lr" if v == "none" else f"lr schedule {v}"


# in the order they appear in a run's name and label
NAMED_SETTINGS: tuple[Setting, ...] = (
    _numeric("hidden_size", "--hidden", int, "hidden"),
    _numeric("levels", "--levels", int, "levels"),
    _numeric("kernel_size", "--kernel-size", int, "k"),
    _numeric("dropout", "--dropout", float, "dropout"),
    _numeric("num_layers", "--layers", int, "layers"),
    _numeric("forget_bias", "--forget-bias", float, "forget-bias"),
    _numeric("lr", "--lr", float, "lr"),
    _numeric("batch_size", "--batch-size", int, "batch"),
    Setting("optimizer", "--optimizer", str, name=str, label=str),
    Setting("dropout_mode", "--dropout-mode", str, name=lambda v: f"{v}-dropout", label=lambda v: f"{v} dropout"),
    Setting("init", "--init", str, name=lambda v: f"init-{v}", label=lambda v: f"init {v}"),
    Setting("clip", "--clip", float, name=_clip_name, label=_clip_label),
    Setting("lr_schedule", "--lr-schedule", str, name=_schedule_name, label=_schedule_label),
)

BUDGET_SETTINGS: tuple[Setting, ...] = (
    Setting("epochs", "--epochs", int),
    Setting("steps", "--steps", int),
    Setting("max_time", "--max-time", float),
    Setting("select", "--select", str),  # which checkpoint is delivered: not what is trained
    Setting("val_every", "--val-every", int),
    Setting("test_every_epoch", "--test-every-epoch", bool),
)

BY_FLAG = {s.flag: s for s in NAMED_SETTINGS + BUDGET_SETTINGS}
BY_FIELD = {s.field: s for s in NAMED_SETTINGS + BUDGET_SETTINGS}


def name_parts(run: dict) -> list[str]:
    """The words the named settings of ``run`` (a ``RunConfig`` as a dict) add to its name."""
    return [s.name(run[s.field]) for s in NAMED_SETTINGS if run.get(s.field) is not None]


def label_parts(run: dict) -> list[str]:
    """The report's words for the named settings of ``run``."""
    return [s.label(run[s.field]) for s in NAMED_SETTINGS if run.get(s.field) is not None]


def settings_from_argv(argv) -> dict:
    """``RunConfig`` fields from ``seqbench train`` options (``["--clip", "0", "--epochs", "5"]``)."""
    argv, out, i = list(argv), {}, 0
    while i < len(argv):
        s = BY_FLAG.get(argv[i])
        if s is None:
            raise ValueError(f"not a run setting: {argv[i]!r}")
        if s.kind is bool:
            out[s.field], i = True, i + 1
        else:
            out[s.field], i = s.kind(argv[i + 1]), i + 2
    return out
