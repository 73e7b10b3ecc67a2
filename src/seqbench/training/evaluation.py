"""Re-score a saved checkpoint on any split, from the checkpoint file alone."""

from __future__ import annotations

from pathlib import Path

import torch

from .data import make_loader
from .load import load_run
from .totals import StatisticTotals


def evaluate(checkpoint: str | Path, split: str = "test", batch_size: int | None = None,
             data_dir: str | Path | None = None) -> dict:
    """Metrics of the model in ``checkpoint`` on ``split`` of its task.

    ``data_dir``: where the task's data lie on this machine (default: where the run read them).

    Returns:
        ``{"task", "model", "split", "checkpoint", "metrics": {name: value}}``.

    Raises:
        CheckpointError: not a loadable seqbench checkpoint (see :func:`~seqbench.training.load.read_checkpoint`).
    """
    cfg, task, model = load_run(checkpoint, data_dir=data_dir)
    task.check_split(split)
    bs = batch_size or cfg.batch_size or task.presets[cfg.preset].training_for(cfg.model)["batch_size"]
    totals = StatisticTotals(task)
    task.calibrate(model)  # a conformal forecast: its intervals, from valid, as in training
    with torch.no_grad():
        for batch in make_loader(task, split, bs, cfg.seed):
            totals.add(model(batch["x"], batch.get("mask")), batch)
    metrics = totals.metrics()
    return {"task": cfg.task, "model": cfg.model, "split": split, "checkpoint": str(checkpoint), "metrics": metrics}
