"""Training: one Lightning path for every task and model kind.

``run(RunConfig(...))`` trains, tests the best-validation checkpoint and writes the run's
``result.json``; ``train(task, model, **overrides)`` is the same for notebooks;
``evaluate(checkpoint, split)`` re-scores a saved checkpoint.
"""

from __future__ import annotations

import dataclasses

from .config import RunConfig, Training, build_task
from .evaluate import evaluate
from .run import RESULT, paper_reference, run

_FIELDS = {f.name for f in dataclasses.fields(RunConfig)}


def train(task: str, model: str = "tcn", **overrides) -> dict:
    """Train ``model`` on ``task`` and return the results record (what ``result.json`` holds).

    Keyword arguments that are :class:`RunConfig` fields (``epochs``, ``lr``, ``preset``,
    ``out``, ``max_time``, ...) set those; any other keyword is a task variant
    (``seq_len=200``, ``train_size=1000``). ``callbacks=[...]`` adds Lightning callbacks.

    Example::

        import seqbench
        result = seqbench.train("adding", "gru", preset="small", seq_len=200, epochs=1)
        result["metrics"]["test"]["mse"]
    """
    callbacks = overrides.pop("callbacks", ())
    variant = dict(overrides.pop("variant", {}) or {})
    variant.update({k: overrides.pop(k) for k in list(overrides) if k not in _FIELDS})
    return run(RunConfig(task=task, model=model, variant=variant, **overrides), callbacks=callbacks)


__all__ = ["RunConfig", "Training", "build_task", "run", "train", "evaluate", "paper_reference", "RESULT"]
