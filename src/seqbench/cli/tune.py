"""``seqbench tune TASK``: the same number of Optuna trials, of the same budget, for every model
kind, each over its kind's declared search space at the matched parameter budget; pruned from
the validation curve; a study that a run again resumes and that workers on several machines
share through ``--storage``."""

from __future__ import annotations

import click

from ..tuning import PRUNERS, SAMPLERS
from ._options import ModelKinds, setting_option, setting_options, variant_options
from .compare import prepared
from .custom_options import custom_options


@click.command()
@click.argument("task")
@click.option("--models", type=ModelKinds(), default=None,
              help="Comma-separated model kinds [default: every registered one]; each is matched to the TCN's "
                   "parameter count in every trial.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished or pruned trials per model, the same for every model (a failed one is run again).")
@setting_option("preset", help="The task's preset every trial starts from (default: the task's quick one).")
@click.option("--sampler", type=click.Choice(SAMPLERS), default="tpe", show_default=True,
              help="Optuna sampler: TPE, random search, or a grid (a range gives 3 points).")
@click.option("--pruner", type=click.Choice(PRUNERS), default="median", show_default=True,
              help="Stop hopeless trials at a validation: below the median of earlier trials at the same step "
                   "(from the third trial), successive halving, or none.")
@click.option("--storage", default=None, metavar="URL",
              help="Optuna database shared by workers on several machines, e.g. postgresql://user@host/db "
                   "[default: OUT/tune-TASK-.../study.db, SQLite].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of every trial's data order and initialisation.")
@setting_options("budget", without=("max_time", "select", "test_every_epoch"))
@setting_option("max_time", help="Seconds of training per trial, the same for every trial of every model.")
@setting_option("select", help="What a trial is scored by, on the validation split: its lowest loss or best "
                               "metric (default: the task's checkpoint rule: loss for your own data, the "
                               "primary metric for a benchmark).")
@variant_options
@custom_options
@setting_options("runtime", without=("seed", "name", "resume", "overwrite", "checkpoint_every", "devices",
                                     "num_nodes", "strategy", "progress"))
def tune(task, models, trials, preset, sampler, pruner, storage, seed, **kw):
    """Tune each model on TASK with the same trials and budget; print each one's best settings.

    Trials score the validation split only (the test split is not read). --max-time is each
    trial's time; validation runs 4 times per epoch unless --val-every says otherwise, and the
    pruner reads those validations. Run the same command again to resume (finished trials are
    kept), or on several machines with one --storage to share the trials. `seqbench compare TASK
    --tuned OUT/tune-...` then trains the best settings over seeds and reports them.
    """
    from ..tuning import tune as run_tuning

    models, variant, probe, preset = prepared(task, models, preset, kw)
    result = run_tuning(task, models, trials=trials, preset=preset, variant=variant, out=kw.pop("out"),
                        storage=storage, sampler=sampler, pruner=pruner, seed=seed,
                        task_object=probe,
                        announce=lambda line: click.echo(line, err=True), **kw)
    click.echo(tuning_table(result))
    paths = result["paths"]
    click.echo(f"report: {paths['markdown']}  plot: {paths['plot']}  summary: {paths['summary']}")


def tuning_table(result: dict) -> str:
    """Per model: trials (finished + pruned), pruned, failed, the best validation value and its settings."""
    from ..tuning.space import settings_text

    models = result["models"]
    objective = models[0]["objective"][len("valid_"):] if models else "value"
    width = max([5] + [len(m["model"]) for m in models])
    lines = [f"\n{'model':{width}s} {'trials':>6s} {'pruned':>6s} {'failed':>6s} {'best ' + objective:>12s}  settings"]
    for m in models:
        value = "-" if m["best_value"] is None else f"{m['best_value']:.4g}"
        lines.append(f"{m['model']:{width}s} {m['trials']:6d} {m['pruned']:6d} {m['failed']:6d} {value:>12s}  "
                     f"{('-' if m['best_settings'] is None else settings_text(m['best_settings']))}")
    return "\n".join(lines)
