"""The language tasks' metrics as functions of a mean NLL in nats (no torch: the report
converts training losses with them too)."""

from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    return math.exp(min(mean_nll, 700.0))  # a diverged loss stays a (huge) float, not an OverflowError


def bits_per_character(mean_nll: float) -> float:
    return mean_nll / math.log(2)
