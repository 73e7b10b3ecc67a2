"""Streaming equivalence: stepping through a sequence gives the full forward's outputs at every step."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .probe import Probe


@dataclass
class Streaming:
    method: str                 #: the step method used
    length: int                 #: steps streamed
    largest_difference: float   #: the largest |step - full forward| over all steps and outputs
    first_difference: int | None  #: the first step whose outputs differ beyond the tolerance
    holds: bool

    @property
    def asked(self) -> bool:
        return True  # a step API that disagrees with forward is a bug whatever else the module is

    def describe(self) -> str:
        what = f"{self.method}() over {self.length} steps vs the full forward"
        if self.holds:
            return f"equivalent: largest |step - forward| {self.largest_difference:.3g} ({what})"
        return (f"NOT equivalent: stepping differs from the full forward by up to {self.largest_difference:.3g}, "
                f"first at step {self.first_difference} ({what})")


def measure_streaming(probe: Probe, length: int, tolerance: float) -> Streaming:
    x = probe.inputs(2, length)
    with torch.no_grad():
        full = probe(x)
    streamed = probe.stream(x)
    if streamed.shape != full.shape:
        raise ValueError(f"{probe.name}.{probe.step_method} gave {streamed.shape[-1]} outputs per step, "
                         f"forward {full.shape[-1]}")
    per_step = (streamed - full).abs().amax(dim=(0, 2))
    bad = (per_step > tolerance * max(1.0, float(full.abs().max()))).nonzero()
    return Streaming(probe.step_method, length, float(per_step.max()), int(bad[0]) if len(bad) else None, not len(bad))
