"""The benchmark tasks. ``names()`` lists them; ``get(name, data_dir=None, **variant)`` builds one."""

from __future__ import annotations

from .base import Metric, Preset, Task, TensorDictDataset, pad_collate
from .synthetic import AddingProblem

_REGISTRY: dict[str, type[Task]] = {
    "adding": AddingProblem,
}


def names() -> list[str]:
    """Registered task names."""
    return list(_REGISTRY)


def get(name: str, data_dir=None, **variant) -> Task:
    """The task ``name`` with its variant, e.g. ``get("adding", seq_len=600)``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(_REGISTRY)}")
    return _REGISTRY[name](data_dir=data_dir, **variant)


__all__ = ["Task", "Metric", "Preset", "TensorDictDataset", "pad_collate", "names", "get"]
