"""Causality: does any output move when only later inputs change?

Two measurements that fail differently. The perturbation test replaces the inputs from
step ``t`` on with fresh random values (ten times the scale) at several ``t`` and takes the
largest change of any output before ``t``: it sees a leak at any distance, but not where
it comes from. The gradient support of one output step (:mod:`.support`) names the future
steps it reads: the first leaking offset and how far ahead it reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .probe import Probe
from .support import Support


@dataclass
class Causality:
    """Measured causality of a module; ``holds`` is its verdict when the caller asked for causality."""

    causal: bool
    largest_change: float       #: the largest |change| of an output before t when inputs from t on changed
    positions: list[int]        #: the steps t perturbed
    length: int                 #: steps of the perturbed input
    gradient_leak: float        #: the largest |d y[t] / d x[s]| over future steps s (0 when causal)
    first_leak_offset: int | None  #: the nearest future step the output reads, as s - t
    future_reach: int | None    #: the farthest one
    future_reach_is_lower_bound: bool  #: the leak reaches the end of the input: it may go farther
    gradient_step: int          #: the output step t whose gradient was taken
    gradient_length: int
    asked: bool = False

    @property
    def holds(self) -> bool | None:
        return self.causal if self.asked else None

    def describe(self) -> str:
        where = f"inputs from step t on replaced at {len(self.positions)} positions t of a {self.length}-step input"
        if self.causal:
            return f"causal: no earlier output moved ({where}; largest change {self.largest_change:.3g}); " \
                   "no gradient from any later step"
        text = f"NOT causal: earlier outputs moved by up to {self.largest_change:.3g} ({where})"
        if self.first_leak_offset is not None:
            reach = f"{'at least ' if self.future_reach_is_lower_bound else ''}{self.future_reach}"
            text += (f"; output step {self.gradient_step} reads input steps ahead of it, the first at offset "
                     f"+{self.first_leak_offset}, the farthest at +{reach}")
        return text


def perturbation_positions(length: int) -> list[int]:
    """Steps t at which the future is replaced: from the second step to the last, spread out."""
    return sorted({max(1, min(length - 1, round(f * length))) for f in (0, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1)})


def measure_causality(probe: Probe, length: int, support: Support, tolerance: float, asked: bool) -> Causality:
    """Perturbation test on a ``length``-step input, and the leak in ``support``'s gradient."""
    positions = perturbation_positions(length)
    x = probe.inputs(2, length)
    largest = 0.0
    with torch.no_grad():
        y = probe(x)
        scale = max(1.0, float(y.abs().max()))
        for t in positions:
            changed = x.clone()
            changed[:, t:] = 10 * probe.inputs(2, length - t)
            largest = max(largest, float((probe(changed)[:, :t] - y[:, :t]).abs().max()))
    offsets = support.future_offsets()
    leak = float(support.future.max()) if offsets else 0.0
    return Causality(
        causal=largest <= tolerance * scale and not offsets, largest_change=largest, positions=positions,
        length=length, gradient_leak=leak, first_leak_offset=offsets[0] if offsets else None,
        future_reach=offsets[-1] if offsets else None,
        future_reach_is_lower_bound=bool(offsets) and support.step + offsets[-1] == support.length - 1,
        gradient_step=support.step, gradient_length=support.length, asked=asked,
    )
