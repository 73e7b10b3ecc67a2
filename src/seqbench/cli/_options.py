"""Options shared by ``train``, ``compare`` and ``reproduce``: the run settings' options, made
from their rows of ``seqbench.run_settings.SETTINGS`` (:func:`setting_options`), and the task
variant's (add a task's variant options here, ``variant_options``, and they work in both)."""

from __future__ import annotations

import math

import click

from .. import tasks
from ..nn import kinds
from ..run_settings import BY_FIELD, SETTINGS, Setting


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``inf`` and ``nan`` (click's range lets both
    through: ``nan`` compares false with every bound), so ``--lr inf`` is a usage error."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self) -> str:  # click's help writes an unbounded range as "x<=None"
        return "" if self.min is None and self.max is None else super()._describe_range()


class ModelKinds(click.ParamType):
    """A comma-separated list of registered model kinds (``seqbench.nn.kinds()``: compare's,
    tune's and reproduce's ``--models``; ``train --model`` is the model setting's row). The kinds
    are read when the command runs, not when this module is imported, so a kind registered in
    Python (``seqbench.nn.register``) is a choice."""

    name = "kinds"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # a default already converted, or a list from Python
            return value
        names = [m.strip() for m in value.split(",") if m.strip()]
        known = kinds()
        if not names or any(m not in known for m in names):
            self.fail(f"expected a comma-separated list of {', '.join(known)}, got {value!r}", param, ctx)
        return names

    def get_metavar(self, param, ctx=None) -> str:
        return "KIND,..."


class SettingType(click.ParamType):
    """A setting's own rule as a click type: a syntax of its own (``--devices auto``) or names
    known only at run time (Lightning's strategies), refused with the row's message."""

    def __init__(self, setting: Setting) -> None:
        self.setting, self.name = setting, setting.field

    def convert(self, value, param, ctx):
        try:
            return self.setting.check(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def click_type(s: Setting) -> click.ParamType:
    """The click type that accepts what row ``s`` of the settings table allows."""
    if s.parse is not None or callable(s.choices):
        return SettingType(s)
    if s.choices:
        return click.Choice(list(s.choices))
    bounds = dict(min=s.low, max=s.high, min_open=s.low_open, max_open=s.high_open)
    return {int: click.IntRange(**bounds), float: FiniteFloatRange(**bounds)}.get(s.kind, click.STRING)


def setting_option(field: str, **changes):
    """The click option of run setting ``field``, from its row of ``seqbench.run_settings.SETTINGS``
    (its type, check, default and help); ``changes`` are click keywords a command sets otherwise
    (``reproduce``'s ``--threads`` defaults to 1)."""
    s = BY_FIELD[field]
    if s.kind is bool:
        decls, kw = [f"{s.flag}/{s.off_flag}" if s.off_flag else s.flag], dict(is_flag=True)
    else:
        decls, kw = [s.flag], dict(type=click_type(s))
    kw = {**kw, "default": s.default, "help": s.help, **changes}
    return click.option(*decls, field, show_default=kw["default"] not in (None, False), **kw)


def setting_options(*parts: str, without: tuple[str, ...] = ()):
    """The options of every run setting of ``parts`` (``"budget"``, ``"runtime"``, ...) in the
    table's order, but those ``without`` and those given otherwise (the TASK argument)."""
    fields = [s.field for s in SETTINGS if s.part in parts and s.flag and s.field not in without]

    def decorate(f):
        for field in reversed(fields):
            f = setting_option(field)(f)
        return f
    return decorate


def variant_options(f):
    """Task variant options (each becomes a keyword of the task's constructor when given)."""
    f = click.option("--variant", "variant_pairs", multiple=True, metavar="KEY=VALUE",
                     help="Any other task variant setting, e.g. --variant train_size=1000 (repeatable).")(f)
    f = click.option("--seq-len", type=click.IntRange(min=2), default=None,
                     help="Sequence length variant (adding, copy_memory).")(f)
    return f


VARIANT_KEYS = ("seq_len",)


def pop_variant(kwargs: dict) -> dict:
    """Remove the variant options from a command's keyword arguments; return those given."""
    variant = {}
    for pair in kwargs.pop("variant_pairs", ()):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--variant")
        variant[key.strip()] = _parse_value(value.strip())
    variant.update({k: v for k in VARIANT_KEYS if (v := kwargs.pop(k, None)) is not None})
    return variant


def _parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def check_task(name: str) -> str:
    if name not in tasks.names() and name != "custom":  # custom: your own file (--file)
        raise click.BadParameter(f"unknown task {name!r}; known: {', '.join(tasks.names())}", param_hint="TASK")
    return name


def check_models(task, kinds, preset: str, overrides: dict | None = None) -> None:
    """Build each model kind of ``task`` under ``preset`` on PyTorch's meta device (shapes,
    no memory, no data), so a setting the model refuses (``ptb --hidden 8``: tied weights
    need the embedding's size) is a usage error before any run directory is made.

    Raises:
        click.UsageError: the model's ValueError, said as one line.
    """
    import torch

    for kind in kinds:
        try:
            with torch.device("meta"):
                task.build_model(kind, preset, **(overrides or {}))
        except ValueError as e:
            raise click.UsageError(f"{kind} on {task.name} ({preset}): {e}") from e


def checked_preset(task, name: str | None, compare: bool = False) -> str:
    """The preset ``task`` (built) trains with: ``name``, else the task's own for ``train`` or
    ``compare`` (:meth:`~seqbench.tasks.Task.preset_for`); a usage error naming ``--preset``
    for one the task does not have."""
    try:
        return task.check_preset(task.preset_for(name, compare))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--preset") from e
