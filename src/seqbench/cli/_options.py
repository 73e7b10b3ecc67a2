"""Options shared by ``train`` and ``compare``, and the one function that turns them into a
task: add a task's variant options here (``variant_options``) and they work in both."""

from __future__ import annotations

import click

from .. import tasks
from ..choices import MODEL_KINDS as MODELS


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
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of data order, init and dropout."),
        click.option("--resume", is_flag=True, help="Continue the run from its newest checkpoint."),
        click.option("--overwrite", is_flag=True, help="Start over even if the run directory holds a run."),
        click.option("--max-time", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Stop training after this many seconds (per model); the best checkpoint is tested."),
        click.option("--test-every-epoch", is_flag=True,
                     help="Also test after every epoch; results add the mean of the last 3 epochs' test metrics."),
        click.option("--val-every", type=click.IntRange(min=1), default=None,
                     help="Validate every N optimizer steps instead of once per epoch."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=100, show_default=True,
                     help="Also checkpoint every N optimizer steps within an epoch."),
        click.option("--devices", default="1", show_default=True, help="Devices per node (Lightning), e.g. 2 or auto."),
        click.option("--num-nodes", type=click.IntRange(min=1), default=1, show_default=True, help="Nodes (DDP)."),
        click.option("--strategy", default="auto", show_default=True, help="Lightning strategy, e.g. ddp."),
        click.option("--accelerator", default="auto", show_default=True, help="cpu, gpu, mps or auto."),
        click.option("--precision", default="32-true", show_default=True,
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


def parse_devices(value: str):
    if value == "auto":
        return "auto"
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"expected a number of devices or 'auto', got {value!r}", param_hint="--devices")
    if n < 1:
        raise click.BadParameter(f"expected at least 1 device, got {n}", param_hint="--devices")
    return n

