"""Every run setting, declared once.

One row of :data:`SETTINGS` per :class:`~seqbench.training.RunConfig` field gives its type,
default, allowed values, command-line option and help, the word it adds to a run's name and
its label in the report. Everything else is derived from the table:

* RunConfig's fields (:data:`RunSettings`, its base) and their checks (:meth:`Setting.check`);
* the click options of ``train``, ``compare`` and ``reproduce`` (``seqbench.cli._options.setting_options``);
* a run's directory name (:func:`name_parts`), the report's labels (:func:`label_parts`) and
  reproduce commands (:meth:`Setting.argv`, :func:`settings_from_argv`);
* which settings are ``make_model`` arguments (:data:`MODEL_SETTINGS`, :data:`BASELINE_ONLY`).

What a setting sets (its ``part``) decides where it goes:

* ``"run"``: what is trained (task, model kind, preset, task variant);
* ``"model"`` and ``"baseline"``: a ``make_model`` argument (of every kind / of the kinds matched
  to the TCN only), ``"training"``: the optimisation. Both change *what is trained*, so each
  has a ``name`` word: another configuration never resumes from this one's files;
* ``"budget"``: *how long and how often* (epochs, a time budget, validation frequency): not in
  the name, so ``--resume --epochs N`` extends a run;
* ``"runtime"``: where files go and how the run executes (seed, devices, threads, ...).

No torch and no click, so the report stays light.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .choices import DROPOUT_MODES, INITS, NO_SCHEDULE, OPTIMIZERS, REFERENCE_KIND, SCHEDULES, SELECTIONS

REQUIRED = dataclasses.MISSING  # the default of a setting every run must give (the task)
PARTS = ("run", "model", "baseline", "training", "budget", "runtime")


def _number(x) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Setting:
    """One run setting: its value's rules, its option, its word in a run's name and the report.

    Attributes:
        field: the ``RunConfig`` field (``kernel_size``).
        kind: the value's type (``int``, ``float``, ``str``, ``bool`` for a switch, ``dict``;
            ``object`` where ``parse`` decides).
        part: what it sets (see :data:`PARTS` and the module's docstring).
        default: its value when not given; ``None`` for a model or training setting means
            "the preset's value". :data:`REQUIRED` for one every run gives.
        help: the option's help.
        flag: its ``seqbench train`` option; default ``--`` and the field with ``-`` for ``_``;
            ``None`` for a setting given otherwise (the task is an argument, the variant has its
            own options).
        off_flag: a switch's option that turns it off (``--keep-denormal``).
        low, high, low_open, high_open: the bounds of a number (open: the bound itself is refused).
        choices: the allowed words, or a function that gives them (called only when a value
            other than the default is checked: Lightning's names cost an import).
        parse: turns a value or its text into the value, raising ValueError for a malformed one
            (for a syntax of its own: ``--devices auto``, a run directory's name).
        applies_to: the model kinds it applies to (empty: every kind).
        name: its word in a run directory's name (``"k5"``), from the value; only the settings
            that change what is trained have one.
        label: its words in the report (``"k 5"``), from the value.
    """

    field: str
    kind: type
    part: str
    default: Any = None
    help: str = ""
    flag: str | None = ""
    off_flag: str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: Sequence[str] | Callable[[], Sequence[str]] = ()
    parse: Callable[[Any], Any] | None = None
    applies_to: tuple[str, ...] = ()
    name: Callable[[Any], str] | None = None
    label: Callable[[Any], str] | None = None

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(f"{self.field}: part must be one of {', '.join(PARTS)}, got {self.part!r}")
        if self.flag == "":
            object.__setattr__(self, "flag", "--" + self.field.replace("_", "-"))

    def allowed(self) -> tuple[str, ...]:
        """The allowed words (empty: any value of the kind)."""
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def range_text(self) -> str:
        """The bounds as ``">= 1"``, ``"in [0, 1)"``, or ``""`` for none."""
        write = str if self.kind is int else _number
        low, high = self.low, self.high
        if low is not None and high is not None:
            return f"in {'(' if self.low_open else '['}{write(low)}, {write(high)}{')' if self.high_open else ']'}"
        if low is not None:
            return f"{'>' if self.low_open else '>='} {write(low)}"
        if high is not None:
            return f"{'<' if self.high_open else '<='} {write(high)}"
        return ""

    def check(self, value):
        """``value`` if this setting allows it (after ``parse``), else a ValueError naming the field."""
        if self.parse is not None:
            return self.parse(value)
        problem = self._problem(value)
        if problem:
            raise ValueError(f"{self.field} must be {problem}, got {value!r}")
        return value

    def _problem(self, value) -> str:
        """What ``value`` should have been ("" when it is allowed)."""
        number = not isinstance(value, bool) and isinstance(value, int if self.kind is int else (int, float))
        if self.kind is int and not (number and self.in_range(value)):
            return f"an integer {self.range_text()}".rstrip()
        if self.kind is float and not (number and math.isfinite(value) and self.in_range(value)):
            return f"a finite number {self.range_text()}".rstrip()
        if self.kind in (bool, str, dict) and not isinstance(value, self.kind):
            return f"of type {self.kind.__name__}"
        if self.choices and value != self.default and value not in self.allowed():  # the default: no import
            return f"one of {', '.join(self.allowed())}"
        return ""

    def in_range(self, value) -> bool:
        """True when number ``value`` lies within the bounds."""
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def argv(self, value) -> list[str]:
        """The command-line words that set ``value``."""
        if self.kind is bool:
            return [self.flag] if value else [self.off_flag] if self.off_flag else []
        return [self.flag, _number(value) if isinstance(value, float) else str(value)]


def _numeric(field: str, kind: type, part: str, word: str, **rules) -> Setting:
    """A number that enters the run's name as ``word`` and its value (``k5``, ``lr0.002``)."""
    return Setting(field, kind, part, name=lambda v: f"{word}{_number(v)}", label=lambda v: f"{word} {_number(v)}",
                   **rules)


def _clip_name(v) -> str:
    return "noclip" if v == 0 else f"clip{_number(v)}"


def _clip_label(v) -> str:
    return "no clipping" if v == 0 else f"clip {_number(v)}"


def _schedule_name(v) -> str:
    return "constant-lr" if v == NO_SCHEDULE else f"lr-{v}"


def _schedule_label(v) -> str:
    return "constant lr" if v == NO_SCHEDULE else f"lr schedule {v}"


def parse_devices(value):
    """``devices``: ``"auto"``, a positive count (or its text), or a list of device indices (from Python)."""
    if value == "auto":
        return "auto"
    if isinstance(value, (list, tuple)) and value and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                           for i in value):
        return list(value)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of devices or 'auto', got {value!r}") from None
    if isinstance(value, (bool, float)) or n < 1:
        raise ValueError(f"expected at least 1 device, got {value!r}")
    return n


def check_run_name(name) -> str:
    """``name`` if it names one directory inside the runs directory: not empty, no path
    separator, not ``.`` or ``..`` (an overwrite deletes what a run directory holds)."""
    if not isinstance(name, str) or not name.strip() or name in (".", "..") \
            or any(c in name for c in ("/", "\\", "\0")):
        raise ValueError(f"name must be one directory name inside the runs directory (no '/', '\\', "
                         f"'.' or '..'), got {name!r}")
    return name


def directory(path) -> str:
    """``path`` if it can be a directory: not empty, not an existing file."""
    if not isinstance(path, str) or not path or os.path.isfile(path):
        raise ValueError(f"expected a directory, got {path!r}" + (" (a file)" if path and os.path.isfile(path) else ""))
    return path


def _model_kinds() -> list[str]:
    """The registered model kinds, read when a run names one (``seqbench.nn`` imports torch,
    which this table's readers, the report among them, do without)."""
    from .nn import kinds

    return list(kinds())


def _kind_label(name: str) -> str:
    from .nn.registry import label

    return label(name)


def _lightning_names(kind: str) -> Callable[[], list[str]]:
    """The names Lightning's Trainer accepts for ``kind`` (strategy, accelerator, precision), as a
    function: Lightning is imported only to check a value other than the default, so ``--help``
    and default runs stay fast."""
    def names() -> list[str]:
        if kind == "strategy":
            from lightning.pytorch.strategies import StrategyRegistry
            return ["auto", *StrategyRegistry.available_strategies()]
        if kind == "accelerator":
            from lightning.pytorch.accelerators import AcceleratorRegistry
            return ["auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators())]
        import typing
        from lightning.fabric.connector import _PRECISION_INPUT_STR
        # and the short forms Lightning still accepts (with a note that it maps them)
        return [*typing.get_args(_PRECISION_INPUT_STR), "64", "32", "16", "bf16"]
    return names


POSITIVE = dict(low=1)  # an integer >= 1

# The table. Its order is the order of the settings' words in a run's name and the report's label.
SETTINGS: tuple[Setting, ...] = (
    # what is trained
    Setting("task", str, "run", REQUIRED, flag=None),  # the command's TASK argument
    Setting("model", str, "run", REFERENCE_KIND, choices=_model_kinds,
            help="A registered model kind: the TCN, or another matched to the TCN's parameter count."),
    Setting("preset", str, "run", None,  # None: the task's own (Task.default_preset, compare: compare_preset)
            help="The task's preset (default: the task's own); `seqbench models TASK` lists them."),
    Setting("variant", dict, "run", {}, flag=None),  # the task variant: --seq-len, --variant KEY=VALUE
    # the model and its training (None: the preset's); each adds its word to the run's name
    _numeric("hidden_size", int, "model", "hidden", flag="--hidden", **POSITIVE,
             help="Hidden channels (TCN) or units (baselines; default: matched to the TCN)."),
    _numeric("levels", int, "model", "levels", **POSITIVE, help="TCN levels."),
    _numeric("kernel_size", int, "model", "k", **POSITIVE, help="TCN kernel size."),
    _numeric("dropout", float, "model", "dropout", low=0, high=1, high_open=True, help="Dropout rate."),
    _numeric("num_layers", int, "baseline", "layers", flag="--layers", **POSITIVE, help="Recurrent layers."),
    _numeric("num_heads", int, "baseline", "heads", flag="--heads", **POSITIVE, applies_to=("transformer",),
             help="Transformer: attention heads (its width is matched in multiples of them)."),
    _numeric("forget_bias", float, "baseline", "forget-bias", applies_to=("lstm",),
             help="LSTM: initial forget-gate bias (torch's is 0; the paper's MNIST LSTMs 1 and 10)."),
    _numeric("lr", float, "training", "lr", low=0, low_open=True, help="Learning rate."),
    _numeric("batch_size", int, "training", "batch", **POSITIVE, help="Sequences per optimizer step."),
    Setting("optimizer", str, "training", choices=OPTIMIZERS, name=str, label=str, help="Optimizer."),
    Setting("dropout_mode", str, "model", choices=DROPOUT_MODES,
            name=lambda v: f"{v}-dropout", label=lambda v: f"{v} dropout",
            help="TCN dropout: elementwise (the official code's) or channel (the paper's spatial dropout)."),
    Setting("init", str, "model", choices=INITS, name=lambda v: f"init-{v}", label=lambda v: f"init {v}",
            help="TCN initialisation: PyTorch's, N(0, 0.01) convolutions, or the official code's."),
    # clip 0: no clipping, what the official copy-memory and music scripts effectively ran (they
    # clip before backward(), so their clip never acts)
    Setting("clip", float, "training", low=0, name=_clip_name, label=_clip_label,
            help="Gradient norm clip; 0 turns off the preset's clipping."),
    Setting("lr_schedule", str, "training", choices=(NO_SCHEDULE, *SCHEDULES), name=_schedule_name,
            label=_schedule_label, help="Learning-rate schedule instead of the preset's (none: constant)."),
    # how long and how often: not in the name
    Setting("epochs", int, "budget", **POSITIVE,
            help="Train this many epochs (instead of the preset's, and of its step floor)."),
    Setting("steps", int, "budget", **POSITIVE,  # Lightning's max_steps; the first limit reached stops
            help="Stop after this many optimizer steps (with --epochs too: whichever comes first). "
                 "Validation runs at the end of each epoch (or --val-every)."),
    Setting("max_time", float, "budget", low=0, low_open=True,
            help="Stop training after this many seconds (per model); the best checkpoint is tested."),
    # which checkpoint is delivered, not what is trained (None: the task's ``selection``)
    Setting("select", str, "budget", choices=SELECTIONS,
            help="The checkpoint delivered and tested: lowest validation loss, best validation metric, or "
                 "the last; ties go to the later one (default: the task's: loss for your own data, the "
                 "primary metric for a benchmark, as the paper did)."),
    Setting("test_every_epoch", bool, "budget", False,
            help="Also test after every epoch; results add the mean of the last 3 epochs' test metrics."),
    Setting("val_every", int, "budget", **POSITIVE,
            help="Validate every N optimizer steps instead of once per epoch."),
    # where files go and how the run executes
    # numpy's seeds (Lightning's seed_everything passes the seed on) are unsigned 32-bit integers
    Setting("seed", int, "runtime", 0, low=0, high=2**32 - 1, help="Seed of data order, init and dropout."),
    Setting("deterministic", bool, "runtime", True, off_flag="--no-deterministic",
            help="Deterministic algorithms: the same command gives the same numbers."),
    # gradients that vanish through hundreds of recurrent steps pass through the subnormal range,
    # where x86 arithmetic is 10-100x slower (a GRU step on the adding problem, T=600: 4-5x)
    Setting("flush_denormal", bool, "runtime", True, off_flag="--keep-denormal",
            help="Flush subnormal floats to zero on the CPU (recurrent backward passes slow down 4-5x without)."),
    Setting("data_dir", str, "runtime", parse=directory, help="Where datasets live."),
    Setting("out", str, "runtime", "runs", parse=directory, help="Directory for run directories."),
    Setting("name", str, "runtime", parse=check_run_name,
            help="Run directory name (default: from task, variant, preset, model, seed)."),
    Setting("resume", bool, "runtime", False, help="Continue the run from its newest checkpoint."),
    Setting("overwrite", bool, "runtime", False, help="Start over even if the run directory holds a run."),
    Setting("checkpoint_every", int, "runtime", 100, **POSITIVE,
            help="Also checkpoint every N optimizer steps within an epoch."),
    Setting("devices", object, "runtime", 1, parse=parse_devices, help="Devices per node (Lightning), e.g. 2 or auto."),
    Setting("num_nodes", int, "runtime", 1, **POSITIVE, help="Nodes (DDP)."),
    Setting("strategy", str, "runtime", "auto", choices=_lightning_names("strategy"),
            help="Lightning strategy, e.g. ddp."),
    Setting("accelerator", str, "runtime", "auto", choices=_lightning_names("accelerator"),
            help="cpu, gpu, mps or auto."),
    Setting("precision", str, "runtime", "32-true", choices=_lightning_names("precision"),
            help="Lightning precision: 32-true, bf16-mixed, 16-mixed, ..."),
    Setting("threads", int, "runtime", **POSITIVE,
            help="torch threads (default: torch's, one per core). 1 keeps small models fast "
                 "beside other jobs: two threads on a busy 2-core machine ran up to 20x slower."),
    Setting("progress", bool, "runtime", True, off_flag="--no-progress", help="Show the progress bar."),
)

BY_FIELD = {s.field: s for s in SETTINGS}
BY_FLAG = {flag: s for s in SETTINGS for flag in (s.flag, s.off_flag) if flag}
NAMED_SETTINGS = tuple(s for s in SETTINGS if s.name is not None)
BUDGET_SETTINGS = tuple(s for s in SETTINGS if s.part == "budget")
MODEL_SETTINGS = tuple(s.field for s in SETTINGS if s.part in ("model", "baseline"))  # make_model's overrides
BASELINE_ONLY = tuple(s.field for s in SETTINGS if s.part == "baseline")  # the TCN has none of them


def _dataclass_field(s: Setting) -> tuple:
    if s.default is REQUIRED:
        return s.field, s.kind
    if isinstance(s.default, (dict, list)):  # a fresh one per run
        return s.field, s.kind, dataclasses.field(default_factory=lambda d=s.default: type(d)(d))
    return s.field, s.kind if s.default is not None else s.kind | None, dataclasses.field(default=s.default)


# The settings as a dataclass: the fields of ``RunConfig`` (its subclass adds the checks)
RunSettings = dataclasses.make_dataclass("RunSettings", [_dataclass_field(s) for s in SETTINGS])
RunSettings.__module__ = __name__


def check_settings(run) -> None:
    """Raise ValueError for the first setting of ``run`` (a ``RunSettings``) its row refuses."""
    for s in SETTINGS:
        value = getattr(run, s.field)
        if value is None:
            continue
        s.check(value)
        if s.applies_to and run.model not in s.applies_to:
            kinds = " and ".join(_kind_label(k) for k in s.applies_to)
            raise ValueError(f"{s.field} applies to {kinds} models only, not to {run.model!r}")


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
            out[s.field], i = argv[i] == s.flag, i + 1
        else:
            text = argv[i + 1]
            out[s.field], i = (s.parse(text) if s.parse else s.kind(text)), i + 2
    return out
