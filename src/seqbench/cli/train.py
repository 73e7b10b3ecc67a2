"""``seqbench train TASK``: train one model, test its best-validation checkpoint, write result.json."""

from __future__ import annotations

import click

from ..choices import DROPOUT_MODES, INITS, NO_SCHEDULE, OPTIMIZERS, REFERENCE_KIND, SCHEDULES
from .custom_options import announce_custom, custom_options, pop_custom
from ._options import (FiniteFloatRange, ModelKinds, check_models, check_task, pop_variant, runtime_options,
                       variant_options)
from .compare import budget_options


@click.command()
@click.argument("task")
@click.option("--model", type=ModelKinds(), default=REFERENCE_KIND, show_default=True,
              help="A registered model kind: the TCN, or another matched to the TCN's parameter count.")
@click.option("--preset", default=None,
              help="The task's preset (default: the task's own; benchmarks: paper, small, ...; your own data: "
                   "default, small); `seqbench models TASK` lists them.")
@variant_options
@custom_options
@budget_options
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--lr", type=FiniteFloatRange(min=0, min_open=True), default=None)
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=None)
@click.option("--hidden", "hidden_size", type=click.IntRange(min=1), default=None,
              help="Hidden channels (TCN) or units (recurrent; default: matched to the TCN).")
@click.option("--levels", type=click.IntRange(min=1), default=None, help="TCN levels.")
@click.option("--kernel-size", type=click.IntRange(min=1), default=None, help="TCN kernel size.")
@click.option("--layers", "num_layers", type=click.IntRange(min=1), default=None, help="Recurrent layers.")
@click.option("--forget-bias", type=FiniteFloatRange(), default=None,
              help="LSTM: initial forget-gate bias (torch's is 0; the paper's MNIST LSTMs 1 and 10).")
@click.option("--dropout", type=FiniteFloatRange(min=0, max=1, max_open=True), default=None)
@click.option("--dropout-mode", type=click.Choice(DROPOUT_MODES), default=None,
              help="TCN dropout: elementwise (the official code's) or channel (the paper's spatial dropout).")
@click.option("--init", type=click.Choice(INITS), default=None,
              help="TCN initialisation: PyTorch's, N(0, 0.01) convolutions, or the official code's.")
@click.option("--lr-schedule", default=None,
              type=click.Choice([NO_SCHEDULE, *SCHEDULES]),
              help="Learning-rate schedule instead of the preset's (none: constant).")
@click.option("--clip", type=FiniteFloatRange(min=0), default=None,
              help="Gradient norm clip; 0 turns off the preset's clipping.")
@click.option("--name", default=None, help="Run directory name (default: from task, variant, preset, model, seed).")
@runtime_options
def train(task, devices, **kw):
    """Train a model on TASK; writes checkpoints, logs and result.json under --out."""
    from ..report import selection_text
    from ..results import RESULT, RunResult
    from ..training import RunConfig, run
    from ..training.runner import is_launched_child

    check_task(task)
    variant = pop_variant(kw)
    variant.update(pop_custom(task, kw))
    built = announce_custom(task, variant)
    try:
        cfg = RunConfig(task=task, variant=variant, devices=devices, **kw)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    built = _checked_task(cfg, built)
    record = run(cfg, task=built)
    if record is not None and not is_launched_child():
        r = RunResult.from_dict(record)
        click.echo(f"{r.task} {r.model}: test {r.primary_metric} {r.test_value} (valid {r.valid_value}; "
                   f"{selection_text(r.selection)}; {r.epochs} epochs, {r.steps} steps; {r.parameters:,} parameters, "
                   f"{r.wall_time_s:.0f} s)")
        click.echo(f"results: {r.run_dir}/{RESULT}")


def _checked_task(cfg, built=None):
    """The run's task (``built`` when given: its data is read once); a usage error for a bad
    variant, an unknown preset, or model settings the model refuses."""
    from ..training import build_task

    try:
        task = build_task(cfg.task, cfg.data_dir, None, built=built, **cfg.variant)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    if cfg.preset not in task.presets:
        raise click.BadParameter(f"task {cfg.task} has no preset {cfg.preset!r}; it has {', '.join(task.presets)}",
                                 param_hint="--preset")
    check_models(task, [cfg.model], cfg.preset, cfg.model_overrides())
    return task
