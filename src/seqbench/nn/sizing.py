"""Size a model to a parameter budget, the way the paper matched its recurrent baselines."""

from __future__ import annotations

import torch

from . import checks
from .model import make_model
from .transformer import DEFAULT_HEADS


def count_parameters(kind: str, hidden_size: int, **fixed) -> int:
    """Parameters of ``make_model(kind, hidden_size=hidden_size, **fixed)``, built without memory."""
    with torch.device("meta"):
        return make_model(kind, hidden_size=hidden_size, **fixed).num_parameters()


def hidden_multiple(kind: str, fixed: dict) -> int:
    """The step between valid hidden sizes: a Transformer's width is a multiple of its heads.

    With ``num_heads`` left to the Transformer's default it is :data:`DEFAULT_HEADS`, so the
    matched model gets that many heads (rather than whichever divisor a width happens to have).
    """
    if kind != "transformer":
        return 1
    heads = fixed.get("num_heads")
    return DEFAULT_HEADS if heads is None else checks.positive_int("num_heads", heads)


def match_parameters(kind: str, target: int, max_hidden: int = 1 << 14, **fixed) -> int:
    """The ``hidden_size`` that brings ``make_model(kind, hidden_size=..., **fixed)`` closest to ``target`` parameters.

    ``fixed`` holds everything else about the model (``input_size``, ``output_size``,
    ``head``, ``num_layers`` or ``levels`` and ``kernel_size``, ...). Parameter count grows
    with the hidden size, so a bisection finds the nearest one. For a ``"transformer"`` the
    search runs over multiples of ``num_heads`` (of 4 when it is not given), the widths it
    can have; two layers' counts then lie about ``8 / hidden_size`` apart (6% at 70K
    parameters, 2% at 1M), and the closest can be off by half that.

    Example::

        >>> tcn = make_model("tcn", input_size=2, output_size=1, hidden_size=24, levels=8, kernel_size=8, head="last")
        >>> match_parameters("lstm", tcn.num_parameters(), input_size=2, output_size=1, head="last")
        131
    """
    checks.positive_int("target", target)
    step = hidden_multiple(kind, fixed)
    count = lambda m: count_parameters(kind, m * step, **fixed)  # noqa: E731  (m: multiples of step)
    lo, hi = 1, max(max_hidden // step, 1)
    if count(hi) < target:
        raise ValueError(f"even hidden_size={hi * step} gives fewer than {target} parameters for {kind!r}")
    while lo < hi:  # smallest m with count >= target
        mid = (lo + hi) // 2
        if count(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [m for m in (lo - 1, lo) if m >= 1]
    return step * min(candidates, key=lambda m: abs(count(m) - target))


def match_transformer(target: int, **fixed) -> dict[str, int]:
    """``hidden_size`` and ``feedforward_size`` that bring a Transformer within a fraction of a
    percent of ``target`` parameters.

    Its width moves in steps of ``num_heads``, too coarse for small budgets (17% at 12K
    parameters). So the width is the largest multiple of the heads whose model, at the usual
    feed-forward size of 4 x width, stays within ``target``; the feed-forward layers then
    widen to close the gap (each unit adds ``num_layers x (2 x width + 1)`` parameters).

    Example::

        >>> match_transformer(12_530, input_size=1, output_size=10)
        {'hidden_size': 20, 'feedforward_size': 106}
    """
    checks.positive_int("target", target)
    if "feedforward_size" in fixed:
        raise ValueError("match_transformer chooses feedforward_size; leave it out of the fixed arguments")
    step = hidden_multiple("transformer", fixed)
    hidden = match_parameters("transformer", target, **fixed)
    while hidden > step and count_parameters("transformer", hidden, feedforward_size=4 * hidden, **fixed) > target:
        hidden -= step
    base = count_parameters("transformer", hidden, feedforward_size=4 * hidden, **fixed)
    layers = fixed.get("num_layers") or 2
    per_unit = layers * (2 * hidden + 1)
    extra = max(round((target - base) / per_unit), 0)
    return {"hidden_size": hidden, "feedforward_size": 4 * hidden + extra}
