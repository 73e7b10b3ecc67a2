"""``seqbench models TASK``: the preset's models, parameter counts and receptive fields."""

from __future__ import annotations

import click
import torch

from .. import tasks
from ..nn import kinds
from ._options import checked_preset


@click.command()
@click.argument("task")
@click.option("--preset", default=None, help="Which preset of the task [default: the task's own, paper for a benchmark].")
@click.option("--seq-len", type=int, default=None, help="Sequence length variant (adding, copy_memory).")
def models(task, preset, seq_len):
    """List TASK's models under a preset: the TCN and every other kind matched to its parameters."""
    if task not in tasks.names():
        raise click.BadParameter(f"unknown task {task!r}; known: {', '.join(tasks.names())}", param_hint="TASK")
    variant = {"seq_len": seq_len} if seq_len is not None else {}
    t = tasks.get(task, **variant)
    preset = checked_preset(t, preset)
    click.echo(f"{t!r}, preset {preset!r}")
    click.echo(f"{'model':11s} {'parameters':>12s} {'receptive field':>16s}  encoder")
    for kind in kinds():
        with torch.device("meta"):
            m = t.build_model(kind, preset)
        rf = m.receptive_field
        click.echo(f"{kind:11s} {m.num_parameters():12,d} {('unbounded' if rf == float('inf') else f'{rf:,d}'):>16s}  "
                   f"{m.encoder.describe()}")
