"""Re-score a saved checkpoint on any split, from the checkpoint file alone."""

from __future__ import annotations

from pathlib import Path

import torch

from .config import RunConfig, build_task
from .data import make_loader


def evaluate(checkpoint: str | Path, split: str = "test", batch_size: int | None = None) -> dict:
    """Metrics of the model in ``checkpoint`` on ``split`` of its task.

    Returns:
        ``{"task", "model", "split", "checkpoint", "metrics": {name: value}}``.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    try:
        cfg = RunConfig.from_dict(ckpt["hyper_parameters"]["run_config"])
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a seqbench checkpoint (no run configuration inside)") from e
    task = build_task(cfg.task, cfg.data_dir, cfg.preset, **cfg.variant)
    task.check_split(split)
    model = task.build_model(cfg.model, cfg.preset, **cfg.model_overrides())
    state = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state)
    model.eval()
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
    return {"task": cfg.task, "model": cfg.model, "split": split, "checkpoint": str(path), "metrics": metrics}
