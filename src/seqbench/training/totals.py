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
