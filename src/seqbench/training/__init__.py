"""Training: one Lightning path for every task and model kind.

``run(RunConfig(...))`` trains, tests the best-validation checkpoint and writes the run's
``result.json``; ``train(task, model, **overrides)`` is the same for notebooks;
``evaluate(checkpoint, split)`` re-scores a saved checkpoint; ``load_run(checkpoint)``
rebuilds its configuration, task and model.

The names are imported when first used (PEP 562), so reading a checkpoint or a run's
configuration (``seqbench predict``) does not load Lightning.
"""

from __future__ import annotations

import dataclasses
import importlib

from ..choices import REFERENCE_KIND

# public name -> submodule that defines it
_EXPORTS = {
    "RunConfig": "config", "Training": "config", "build_task": "config",
    "evaluate": "evaluation",
    "load_run": "load", "read_checkpoint": "load", "CheckpointError": "load", "UnsafeCheckpointError": "load",
    "run": "runner", "RunInterrupted": "runner", "RESULT": "run_dir", "RunDir": "run_dir",
    "TrainingDiverged": "module",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def train(task: str, model: str = REFERENCE_KIND, **overrides) -> dict:
    """Train ``model`` on ``task`` and return the results record (what ``result.json`` holds).

    Keyword arguments that are :class:`RunConfig` fields (``epochs``, ``lr``, ``preset``,
    ``out``, ``max_time``, ...) set those; any other keyword is a task variant
    (``seq_len=200``, ``train_size=1000``). ``callbacks=[...]`` adds Lightning callbacks.

    Example::

        import seqbench
        result = seqbench.train("adding", "gru", preset="small", seq_len=200, epochs=1)
        result["metrics"]["test"]["mse"]
    """
    from .config import RunConfig
    from .runner import run

    fields = {f.name for f in dataclasses.fields(RunConfig)}
    callbacks = overrides.pop("callbacks", ())
    variant = dict(overrides.pop("variant", {}) or {})
    variant.update({k: overrides.pop(k) for k in list(overrides) if k not in fields})
    return run(RunConfig(task=task, model=model, variant=variant, **overrides), callbacks=callbacks)


__all__ = ["train", *_EXPORTS]
