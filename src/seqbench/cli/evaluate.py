"""``seqbench evaluate CHECKPOINT``: a saved model's metrics on a split."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Default: the run's batch size.")
@click.option("--data-dir", default=None, type=click.Path(file_okay=False),
              help="Where the task's datasets lie here [default: where the run read them].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def evaluate(checkpoint, split, batch_size, data_dir, as_json):
    """Score the model in CHECKPOINT (a .ckpt a run wrote) on one split of its task.

    The checkpoint is read as plain data (weights_only): a file that would need code to
    load is refused.
    """
    from ..training import evaluate as run_evaluate

    result = run_evaluate(checkpoint, split, batch_size, data_dir=data_dir)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    values = ", ".join(f"{k} {v:.6g}" for k, v in result["metrics"].items())
    click.echo(f"{result['task']} {result['model']} {split}: {values}")
