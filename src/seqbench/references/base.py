"""What every reference shares: what a fit gives back (:class:`Fitted`), how a reference that
cannot run says why (:class:`Skipped`), and scoring its outputs exactly as a model's.

A reference's outputs have the layout of a model's output on the task's dataset of a split,
item for item in the dataset's order: class log-probabilities (N, classes), or numbers
(N, targets) or (N, horizon * targets) in the task's standardised units. They are scored by
the task's own ``statistics`` through :class:`~seqbench.training.totals.StatisticTotals`
and :class:`~seqbench.training.totals.ItemTotals`, so every metric and every test item
means what it means for the models.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import torch

from ..training.totals import ItemTotals, StatisticTotals

INSTALL = "pip install 'seqbench[reference]'"
CHUNK = 512  # items scored per batch: bounded memory on long forecast splits


class Skipped(Exception):
    """A reference that does not apply to this data; the message says why, in one line."""


@dataclass
class Fitted:
    """A reference fitted on the train split, with its outputs for valid and test.

    Attributes:
        label: what the table shows (``"seasonal naive (period 12)"``).
        outputs: ``{"valid": tensor, "test": tensor}`` in the layout of a model's output.
        parameters: the count of numbers fitted to the data (0 for a rule).
        settings: the choices made (given, inferred, or chosen on valid), JSON-able.
        library: ``{package: version}`` of the library that fitted it, for the result's versions.
    """

    label: str
    outputs: dict[str, torch.Tensor]
    parameters: int = 0
    settings: dict = field(default_factory=dict)
    library: dict = field(default_factory=dict)


def require(*modules: str) -> None:
    """Raise :class:`Skipped` naming the extra to install when a module is not importable."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise Skipped(f"needs {', '.join(missing)} ({INSTALL})")


def version_of(module: str) -> str:
    """The installed version of ``module`` (its ``__version__``)."""
    return str(getattr(importlib.import_module(module), "__version__", "unknown"))


def split_items(task, split: str) -> list[dict[str, torch.Tensor]]:
    """Every item of the task's ``split``, in the dataset's order."""
    ds = task.dataset(split)
    return [ds[i] for i in range(len(ds))]


def score(task, split: str, output: torch.Tensor, per_item: bool = False):
    """``(metrics, items)`` of ``output`` on ``split``: the task's metrics and, when
    ``per_item``, every item's statistics (``ItemTotals.to_dict()``, else None)."""
    ds = task.dataset(split)
    if len(output) != len(ds):
        raise ValueError(f"{len(output)} outputs for the {len(ds)} items of the {split} split")
    totals, items = StatisticTotals(task), ItemTotals(task) if per_item else None
    for lo in range(0, len(ds), CHUNK):
        hi = min(lo + CHUNK, len(ds))
        batch = task.collate([ds[i] for i in range(lo, hi)])
        totals.add(output[lo:hi], batch)
        if items is not None:
            items.add(output[lo:hi], batch)
    return totals.metrics(), None if items is None else items.to_dict()
