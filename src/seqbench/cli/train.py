"""``seqbench train TASK``: train one model, test its best-validation checkpoint, write result.json."""

from __future__ import annotations

import click

from .custom_options import announce_custom, custom_options, pop_custom
from ._options import check_models, check_task, checked_preset, pop_variant, setting_options, variant_options


@click.command()
@click.argument("task")
@setting_options("run")  # --model, --preset
@variant_options
@custom_options
@setting_options("budget")
@setting_options("model", "baseline", "training")
@setting_options("runtime")
def train(task, devices, **kw):
    """Train a model on TASK; writes checkpoints, logs and result.json under --out."""
    from ..report import selection_text
    from ..results import RunResult
    from ..training import RunConfig, RunDir, run
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
        click.echo(f"results: {RunDir(r.run_dir).result}")


def _checked_task(cfg, built=None):
    """The run's task (``built`` when given: its data is read once); a usage error for a bad
    variant, an unknown preset, or model settings the model refuses."""
    from ..training import build_task

    try:
        task = build_task(cfg.task, cfg.data_dir, None, built=built, **cfg.variant)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    checked_preset(task, cfg.preset)
    check_models(task, [cfg.model], cfg.preset, cfg.model_overrides())
    return task
