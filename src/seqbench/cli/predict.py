"""``seqbench predict CHECKPOINT --file new.csv [--out preds.csv]``: a model trained on your own
data (``seqbench train custom``), applied to a new file with the training columns.

The checkpoint carries the task's state (columns, classes, the train-split scaling, input
length and horizon), so the training file is not needed. Predictions are written whole or
not at all (a temporary file, then a rename).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

# make_model arguments a run may override (seqbench.training.config.MODEL_OVERRIDES; repeated
# here so that predicting does not import Lightning)
MODEL_OVERRIDES = ("hidden_size", "levels", "kernel_size", "dropout", "num_layers", "dropout_mode", "init")


def load_checkpoint(path: str | Path):
    """``(task, model)`` of a checkpoint written by ``seqbench train custom``; the model in eval mode.

    Raises:
        ValueError: no such file, not a seqbench checkpoint, or not one of the custom task.
    """
    import torch

    from ..tasks import CustomTask, get
    from ..tasks.custom import ReceptiveFieldWarning

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        run = ckpt["hyper_parameters"]["run_config"]
        task_name = run["task"]
    except Exception:  # unreadable, or some other program's file
        raise ValueError(f"{path} is not a seqbench checkpoint (no run configuration inside)") from None
    if task_name != "custom":
        raise ValueError(f"predict applies models trained on your own data (seqbench train custom); "
                         f"{path.name} holds a model of task {task_name!r}: use seqbench evaluate")
    state = (ckpt.get("seqbench") or {}).get("task_state")
    # older checkpoints without the state: rebuild the task from the training file (same split, same scaling)
    task = CustomTask.from_state(state) if state else get("custom", **run.get("variant", {}))
    overrides = {k: run[k] for k in MODEL_OVERRIDES if run.get(k) is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReceptiveFieldWarning)  # told at training time
        model = task.build_model(run.get("model", "tcn"), run.get("preset", "default"), **overrides)
    weights = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise ValueError(f"{path.name}: the saved weights do not fit the model its run describes "
                         f"({str(e).splitlines()[0]})") from None
    return task, model.eval()


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--file", "source", required=True, type=click.Path(dir_okay=False),
              help="New data with the training columns (.csv, .tsv, .parquet, or .npz).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the predictions here (.csv, .tsv or .parquet) [default: CSV on standard output].")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
def predict(checkpoint, source, out, batch_size):
    """Predict with a model trained by `seqbench train custom`, on a new file.

    Many sequences: one row per sequence (per step for per-step targets), with the
    predicted class and class probabilities, or the predicted values in the target's
    units. Forecasting: the next horizon steps after the end of each series.
    """
    from ..tasks.custom import write_table

    task, model = load_checkpoint(checkpoint)
    predictions = task.predict(model, source, batch_size=batch_size)
    if out is None:
        predictions.to_csv(sys.stdout, index=False)
        return
    write_table(predictions, out)
    click.echo(f"wrote {len(predictions)} prediction rows to {out}", err=True)
