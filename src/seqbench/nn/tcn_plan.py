"""How far back a TCN sees: its receptive field, and the smallest TCN that covers a history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from . import checks


def receptive_field(kernel_size: int, dilations: Sequence[int], convs_per_level: int = 2) -> int:
    r"""Steps of input one output step sees: :math:`1 + c (k-1) \sum_v d_v`.

    With the default dilations :math:`d_v = 2^v` over ``n`` levels and two convolutions per
    level this is :math:`1 + 2(k-1)(2^n - 1)`, the formula of the paper.

    >>> receptive_field(8, [2 ** v for v in range(8)])
    3571
    """
    checks.positive_int("kernel_size", kernel_size)
    dilations = list(dilations)
    for d in dilations:
        checks.positive_int("each dilation", d)
    return 1 + convs_per_level * (kernel_size - 1) * sum(dilations)


@dataclass(frozen=True)
class TCNPlan:
    """A TCN shape that covers a history: pass ``kernel_size`` and ``levels`` to a TCN."""

    kernel_size: int
    levels: int
    receptive_field: int

    @property
    def dilations(self) -> list[int]:
        return [2**v for v in range(self.levels)]


def plan_tcn(history: int, kernel_size: int | None = None, max_levels: int = 12, max_kernel_size: int = 8) -> TCNPlan:
    """The smallest TCN (default dilations ``2**level``) whose receptive field covers ``history`` steps.

    "Smallest" means the fewest filter taps per channel pair, ``levels * kernel_size``,
    which is what parameters and compute scale with at a fixed width; ties go to fewer
    levels (a shallower, faster network). With ``kernel_size`` given, only the number of
    levels is chosen.

    Raises:
        ValueError: if no configuration within ``max_levels`` / ``max_kernel_size`` covers it.
    """
    checks.positive_int("history", history)
    checks.positive_int("max_levels", max_levels)
    kernels = [kernel_size] if kernel_size is not None else range(2, checks.positive_int("max_kernel_size", max_kernel_size, 2) + 1)
    if kernel_size is not None:
        checks.positive_int("kernel_size", kernel_size, 2)
    best: TCNPlan | None = None
    for k in kernels:
        for n in range(1, max_levels + 1):
            r = receptive_field(k, [2**v for v in range(n)])
            if r >= history:
                plan = TCNPlan(k, n, r)
                if best is None or (n * k, n) < (best.levels * best.kernel_size, best.levels):
                    best = plan
                break
    if best is None:
        reach = receptive_field(max(kernels), [2**v for v in range(max_levels)])
        raise ValueError(
            f"no TCN with kernel_size {'=' + str(kernel_size) if kernel_size else '<= ' + str(max_kernel_size)} "
            f"and at most {max_levels} levels covers {history} steps (largest receptive field {reach}); "
            f"raise max_levels or kernel_size"
        )
    return best
