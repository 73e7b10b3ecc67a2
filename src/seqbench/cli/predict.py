"""``seqbench predict CHECKPOINT --file new.csv [--out preds.csv]``: a model trained on your own
data (``seqbench train custom``), applied to a new file with the training columns.

The checkpoint carries the task's state (columns, classes, the train-split scaling, input
length and horizon), so the training file is not needed. Predictions are written whole or
not at all (a temporary file, then a rename).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def load_predictor(path: str | Path):
    """``(task, model)`` of a checkpoint written by ``seqbench train custom``; the model in eval mode.

    Raises:
        CheckpointError: no such file, not a (safe) seqbench checkpoint, or not one of the custom task.
    """
    from ..training.load import CheckpointError, load_run, read_checkpoint, run_config

    task_name = run_config(read_checkpoint(path), path).task
    if task_name != "custom":
        raise CheckpointError(f"predict applies models trained on your own data (seqbench train custom); "
                              f"{Path(path).name} holds a model of task {task_name!r}: use seqbench evaluate")
    _, task, model = load_run(path, need_data=False)
    return task, model


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--file", "source", required=True, type=click.Path(dir_okay=False),
              help="New data with the training columns (.csv, .tsv, .parquet, or .npz).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the predictions here (.csv, .tsv or .parquet) [default: CSV on standard output].")
@click.option("--future", default=None, type=click.Path(dir_okay=False),
              help="Forecasts with known future inputs (--known-features): a table with the id and time columns "
                   "and those columns' values for the horizon steps after each series' end.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
def predict(checkpoint, source, out, future, batch_size):
    """Predict with a model trained by `seqbench train custom`, on a new file.

    Many sequences: one row per sequence (per step for per-step targets), with the
    predicted class and class probabilities, or the predicted values in the target's
    units. Forecasting: the next horizon steps after the end of each series (with
    intervals: a column per quantile level, e.g. y_q0.1, y_q0.5, y_q0.9).
    """
    from ..tasks.custom import DataError, write_table
    from .custom_options import flags_in_errors

    task, model = load_predictor(checkpoint)
    known = task.spec.known
    if known is not None and known.columns and future is None:
        raise DataError(f"{Path(checkpoint).name} forecasts from the known future inputs {', '.join(known.columns)}: "
                        f"pass --future FILE with their values for the {task.spec.horizon} steps after each "
                        "series' end")
    with flags_in_errors():
        predictions = task.predict(model, source, batch_size=batch_size, future=future)
    if out is None:
        predictions.to_csv(sys.stdout, index=False)
        return
    write_table(predictions, out)
    click.echo(f"wrote {len(predictions)} prediction rows to {out}", err=True)
