"""Size a model to a parameter budget, the way the paper matched its recurrent baselines."""

from __future__ import annotations

import torch

from . import checks, registry
from .model import make_model


def count_parameters(kind: str, hidden_size: int, **fixed) -> int:
    """Parameters of ``make_model(kind, hidden_size=hidden_size, **fixed)``, built without memory."""
    with torch.device("meta"):
        return make_model(kind, hidden_size=hidden_size, **fixed).num_parameters()


def match_parameters(kind: str, target: int, max_hidden: int | None = None, **fixed) -> int:
    """The ``hidden_size`` that brings ``make_model(kind, hidden_size=..., **fixed)`` closest to ``target`` parameters.

    ``fixed`` holds everything else about the model (``input_size``, ``output_size``,
    ``head``, ``num_layers`` or ``levels`` and ``kernel_size``, ...). Parameter count grows
    with the hidden size, so a bisection finds the nearest one, over the kind's
    ``WIDTH_RANGE`` (up to ``max_hidden`` when given) in steps of its ``width_step``: for a
    ``"transformer"`` multiples of ``num_heads`` (of 4 when it is not given), the widths it
    can have; two layers' counts then lie about ``8 / hidden_size`` apart (6% at 70K
    parameters, 2% at 1M), and the closest can be off by half that.

    Example::

        >>> tcn = make_model("tcn", input_size=2, output_size=1, hidden_size=24, levels=8, kernel_size=8, head="last")
        >>> match_parameters("lstm", tcn.num_parameters(), input_size=2, output_size=1, head="last")
        131
    """
    checks.positive_int("target", target)
    encoder = registry.get_kind(kind)
    low, high = encoder.WIDTH_RANGE
    step = encoder.width_step(fixed)
    count = lambda m: count_parameters(kind, m * step, **fixed)  # noqa: E731  (m: multiples of step)
    lo, hi = max(-(-low // step), 1), max((high if max_hidden is None else max_hidden) // step, 1)
    if count(hi) < target:
        raise ValueError(f"even hidden_size={hi * step} gives fewer than {target} parameters for {kind!r}")
    while lo < hi:  # smallest m with count >= target
        mid = (lo + hi) // 2
        if count(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [m for m in (lo - 1, lo) if m * step >= low and m >= 1]
    return step * min(candidates, key=lambda m: abs(count(m) - target))


def match_model(kind: str, target: int, **fixed) -> dict:
    """The ``make_model`` options beside ``fixed`` that bring a ``kind`` model closest to
    ``target`` parameters: the kind's own :meth:`~seqbench.nn.Encoder.match` where it has one
    (a Transformer's widens its feed-forward layers), else the width :func:`match_parameters` finds."""
    return registry.get_kind(kind).match(target, **fixed) or {"hidden_size": match_parameters(kind, target, **fixed)}
