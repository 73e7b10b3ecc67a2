"""Options shared by ``train`` and ``compare``, and the one function that turns them into a
task: add a task's variant options here (``variant_options``) and they work in both."""

from __future__ import annotations

import math

import click

from .. import tasks
from ..nn import kinds


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``inf`` and ``nan`` (click's range lets both
    through: ``nan`` compares false with every bound), so ``--lr inf`` is a usage error."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class ModelKinds(click.ParamType):
    """One registered model kind (``seqbench.nn.kinds()``), or with ``several=True`` a
    comma-separated list of them. The kinds are read when the command runs, not when this
    module is imported, so a kind registered in Python (``seqbench.nn.register``) is a choice."""

    name = "kind"

    def __init__(self, several: bool = False) -> None:
        self.several = several

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # a default already converted, or a list from Python
            return value
        names = [m.strip() for m in value.split(",") if m.strip()] if self.several else [value]
        known = kinds()
        bad = [m for m in names if m not in known]
        if bad or not names:
            listed = "a comma-separated list of " if self.several else "one of "
            self.fail(f"expected {listed}{', '.join(known)}, got {value!r}", param, ctx)
        return names if self.several else value

    def get_metavar(self, param, ctx=None) -> str:
        return ("KIND,..." if self.several else "[" + "|".join(kinds()) + "]")


# numpy's seeds (Lightning's seed_everything passes the seed on) are unsigned 32-bit integers
SEED = click.IntRange(0, 2**32 - 1)


def _lightning_choice(kind: str):
    """A callback refusing a ``--strategy``/``--accelerator``/``--precision`` that Lightning
    does not know, before any work starts (Lightning itself would say so only when the run
    begins, after its directory is made). Lightning is imported only for a value other than
    the option's default, so ``--help`` and default runs stay fast."""
    def check(ctx, param, value):
        if value is None or value == param.default:
            return value
        known = _lightning_names(kind)
        if value not in known:
            raise click.BadParameter(f"{value!r} is not a Lightning {kind}; choose from {', '.join(known)}")
        return value
    return check


def _lightning_names(kind: str) -> list[str]:
    """The names Lightning's Trainer accepts for ``kind`` (strategy, accelerator, precision)."""
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


def runtime_options(f):
    """Where runs go, seeding, resuming, and Lightning's hardware options."""
    for decorator in reversed([
        click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Where datasets live."),
        click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
                     help="Directory for run directories."),
        click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of data order, init and dropout."),
        click.option("--resume", is_flag=True, help="Continue the run from its newest checkpoint."),
        click.option("--overwrite", is_flag=True, help="Start over even if the run directory holds a run."),
        click.option("--max-time", type=FiniteFloatRange(min=0, min_open=True), default=None,
                     help="Stop training after this many seconds (per model); the best checkpoint is tested."),
        click.option("--test-every-epoch", is_flag=True,
                     help="Also test after every epoch; results add the mean of the last 3 epochs' test metrics."),
        click.option("--val-every", type=click.IntRange(min=1), default=None,
                     help="Validate every N optimizer steps instead of once per epoch."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=100, show_default=True,
                     help="Also checkpoint every N optimizer steps within an epoch."),
        click.option("--devices", default="1", show_default=True, callback=lambda _ctx, _param, v: parse_devices(v),
                     help="Devices per node (Lightning), e.g. 2 or auto."),
        click.option("--num-nodes", type=click.IntRange(min=1), default=1, show_default=True, help="Nodes (DDP)."),
        click.option("--strategy", default="auto", show_default=True, callback=_lightning_choice("strategy"),
                     help="Lightning strategy, e.g. ddp."),
        click.option("--accelerator", default="auto", show_default=True, callback=_lightning_choice("accelerator"),
                     help="cpu, gpu, mps or auto."),
        click.option("--precision", default="32-true", show_default=True, callback=_lightning_choice("precision"),
                     help="Lightning precision: 32-true, bf16-mixed, 16-mixed, ..."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="torch threads (default: torch's, one per core). 1 keeps small models fast "
                          "beside other jobs: two threads on a busy 2-core machine ran up to 20x slower."),
        click.option("--progress/--no-progress", default=True, show_default=True, help="Show the progress bar."),
        click.option("--flush-denormal/--keep-denormal", default=True, show_default=True,
                     help="Flush subnormal floats to zero on the CPU (recurrent backward passes slow down 4-5x without)."),
        click.option("--deterministic/--no-deterministic", default=True, show_default=True,
                     help="Deterministic algorithms: the same command gives the same numbers."),
    ]):
        f = decorator(f)
    return f


def parse_devices(value):
    """``--devices``: ``"auto"`` or a positive count (an int already parsed passes through)."""
    if value == "auto":
        return "auto"
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"expected a number of devices or 'auto', got {value!r}", param_hint="--devices")
    if n < 1:
        raise click.BadParameter(f"expected at least 1 device, got {n}", param_hint="--devices")
    return n


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
