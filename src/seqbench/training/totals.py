"""A split's metrics, exact: the task's additive statistics summed over batches (and over
processes), then turned into metrics once. Training's validation and test, and
:func:`~seqbench.training.evaluate`, all add up through :class:`StatisticTotals`."""

from __future__ import annotations

from typing import Callable

import torch


class StatisticTotals:
    """Running ``{statistic: (sum, count)}`` of ``task.statistics`` over batches, in float64.

    Args:
        task: the task whose ``statistics`` and ``compute_metrics`` are used.
        device: where the sums live (the model's device: no transfer per batch).
    """

    def __init__(self, task, device=None) -> None:
        self.task, self.device = task, device
        self.sums: dict[str, torch.Tensor] = {}  # name -> (2,) float64: sum, count

    def add(self, output: torch.Tensor, batch) -> None:
        """Add one batch's statistics (of the model's ``output`` on ``batch``)."""
        for name, (s, n) in self.task.statistics(output, batch).items():
            here = torch.stack([s.detach().double().sum(), torch.as_tensor(n, device=s.device).double().sum()])
            self.sums[name] = self.sums[name] + here if name in self.sums else here.to(self.device or here.device)

    def metrics(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
        """The metrics of everything added; ``reduce`` sums the ``(statistics, 2)`` table over
        processes first (``trainer.strategy.reduce``), so every process gets the whole split's."""
        names = sorted(self.sums)
        if not names:
            return {}
        table = torch.stack([self.sums[k] for k in names])
        if reduce is not None:
            table = reduce(table)
        return self.task.compute_metrics({k: (float(table[i, 0]), float(table[i, 1])) for i, k in enumerate(names)})


def item_statistics(task, output: torch.Tensor, batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Each item's own statistics: ``{statistic: (sums (B,), counts (B,))}`` in float64.

    ``task.statistics`` reduces over the batch; here it is called on every item's slice of
    ``output`` and ``batch`` (padding and masks sliced with it), so the per-item sums add up
    to the batch's. Paired tests and resampling intervals resample these items.
    """
    size = len(output)
    rows: dict[str, tuple[list, list]] = {}
    for i in range(size):
        one = {k: v[i:i + 1] if torch.is_tensor(v) and v.dim() > 0 and len(v) == size else v
               for k, v in batch.items()}
        for name, (s, n) in task.statistics(output[i:i + 1], one).items():
            sums, counts = rows.setdefault(name, ([], []))
            sums.append(s.detach().double().sum())
            counts.append(torch.as_tensor(n).double().sum())
    return {name: (torch.stack(s).cpu(), torch.stack(n).cpu()) for name, (s, n) in rows.items()}


class ItemTotals:
    """Every item's statistics of a split, in item order (:func:`item_statistics` per batch).

    ``to_dict()`` is what a result's ``test_items`` holds: ``{statistic: {"sum": [...],
    "count": [...]}}``, one entry per item of the split, in the order of its dataset, and
    ``"block": k`` when the task's items are dependent in runs of ``k`` (``Task.item_block``).
    """

    def __init__(self, task) -> None:
        self.task = task
        self.parts: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def add(self, output: torch.Tensor, batch) -> None:
        for name, pair in item_statistics(self.task, output, batch).items():
            self.parts.setdefault(name, []).append(pair)

    def to_dict(self) -> dict[str, dict]:
        # dependent items (overlapping forecast windows) say how many go together, for the
        # statistics' block bootstrap; independent ones write what they always wrote
        block = {"block": self.task.item_block} if self.task.item_block > 1 else {}
        return {name: {"sum": torch.cat([s for s, _ in parts]).tolist(),
                       "count": torch.cat([n for _, n in parts]).tolist(), **block}
                for name, parts in sorted(self.parts.items())}
