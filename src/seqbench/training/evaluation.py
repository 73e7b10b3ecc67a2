"""Re-score a saved checkpoint on any split, from the checkpoint file alone."""

from __future__ import annotations

from pathlib import Path

import torch

from .data import make_loader
from .load import load_run


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
    totals: dict[str, list[float]] = {}
    with torch.no_grad():
        for batch in make_loader(task, split, bs, cfg.seed):
            out = model(batch["x"], batch.get("mask"))
            for name, (s, n) in task.statistics(out, batch).items():
                acc = totals.setdefault(name, [0.0, 0.0])
                acc[0] += float(s.double().sum())
                acc[1] += float(torch.as_tensor(n).double().sum())
    metrics = task.compute_metrics({k: (s, n) for k, (s, n) in totals.items()})
    return {"task": cfg.task, "model": cfg.model, "split": split, "checkpoint": str(checkpoint), "metrics": metrics}
