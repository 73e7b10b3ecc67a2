"""Size a model to a parameter budget, the way the paper matched its recurrent baselines."""

from __future__ import annotations

import torch

from . import _checks
from .model import make_model


def count_parameters(kind: str, hidden_size: int, **fixed) -> int:
    """Parameters of ``make_model(kind, hidden_size=hidden_size, **fixed)``, built without memory."""
    with torch.device("meta"):
        return make_model(kind, hidden_size=hidden_size, **fixed).num_parameters()


def match_parameters(kind: str, target: int, max_hidden: int = 1 << 14, **fixed) -> int:
    """The ``hidden_size`` that brings ``make_model(kind, hidden_size=..., **fixed)`` closest to ``target`` parameters.

    ``fixed`` holds everything else about the model (``input_size``, ``output_size``,
    ``head``, ``num_layers`` or ``levels`` and ``kernel_size``, ...). Parameter count grows
    with the hidden size, so a bisection finds the nearest one.

    Example::

        >>> tcn = make_model("tcn", input_size=2, output_size=1, hidden_size=24, levels=8, kernel_size=8, head="last")
        >>> match_parameters("lstm", tcn.num_parameters(), input_size=2, output_size=1, head="last")
        131
    """
    _checks.positive_int("target", target)
    lo, hi = 1, max_hidden
    if count_parameters(kind, hi, **fixed) < target:
        raise ValueError(f"even hidden_size={max_hidden} gives fewer than {target} parameters for {kind!r}")
    while lo < hi:  # smallest h with count >= target
        mid = (lo + hi) // 2
        if count_parameters(kind, mid, **fixed) >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [h for h in (lo - 1, lo) if h >= 1]
    return min(candidates, key=lambda h: abs(count_parameters(kind, h, **fixed) - target))
