"""The receptive field as measured: how far back one output step reads, and the holes inside."""

from __future__ import annotations

from dataclasses import dataclass

from .support import Support

BOUNDED, FADES, UNBOUNDED = "bounded", "fades", "unbounded"


@dataclass
class ReceptiveField:
    """The measured history of output step ``step`` of a ``length``-step input.

    ``kind``: ``"bounded"`` (a hard edge: ``history`` steps, the output's own included),
    ``"fades"`` (the gradient decays until float64 underflows, as a recurrent state's does:
    unbounded, read ``nonzero_steps`` as where it became too small to represent) or
    ``"unbounded"`` (the support reaches the start of the longest input tried).
    ``holes``: steps inside the history (as offsets back from the output, 0 = its own step)
    whose gradient was exactly zero for all ``inputs`` random inputs, as ``[first, last]``
    ranges.
    """

    kind: str
    history: int | None
    nonzero_steps: int
    holes: list[list[int]]
    hole_count: int
    future_steps: int           #: steps ahead of the output it reads (a non-causal module)
    smallest_relative: float    #: the smallest non-zero past gradient over the largest
    expected: int | None
    declared: int | None        #: what the module's own receptive_field attribute says, if it has one
    step: int
    length: int
    inputs: int

    @property
    def measured(self) -> int | None:
        """Steps of input one output reads, past and (for a non-causal module) future: what a formula gives."""
        return None if self.history is None else self.history + self.future_steps

    @property
    def difference(self) -> int | None:
        """measured - expected, when both are known."""
        return None if self.expected is None or self.measured is None else self.measured - self.expected

    @property
    def asked(self) -> bool:
        return self.expected is not None

    @property
    def holds(self) -> bool | None:
        """With an expected value: a hard edge at exactly that many steps and no hole in between."""
        if self.expected is None:
            return None
        return self.kind == BOUNDED and self.measured == self.expected and self.hole_count == 0

    def describe(self) -> str:
        where = f"gradient of output step {self.step} of a {self.length}-step input, {self.inputs} random inputs"
        if self.kind == FADES and self.nonzero_steps == self.step + 1:
            text = (f"unbounded, fading: the output reads every earlier step, its gradient decaying steadily to "
                    f"{self.smallest_relative:.0e} of its peak at the start ({where})")
        elif self.kind == FADES:
            text = (f"unbounded, fading: the gradient decays steadily until it underflows float64 {self.nonzero_steps} "
                    f"steps back ({where})")
        elif self.kind == UNBOUNDED:
            text = f"unbounded: the output reads every earlier step back to the start ({where})"
        else:
            holes = "no holes" if not self.hole_count else \
                f"{self.hole_count} hole(s) at offsets {format_ranges(self.holes)} (steps it never reads)"
            future = f" ({self.history} past incl. its own step, {self.future_steps} future)" if self.future_steps else ""
            text = f"{self.measured} steps{future}, {holes} ({where})"
        for name, value in (("expected", self.expected), ("declared by the module", self.declared)):
            if value is None:
                continue
            diff = self.measured - value if self.measured is not None else None
            text += f"; {name} {value}" + ("" if diff is None else f": {diff:+d} steps" if diff else ": same span")
            if name == "expected" and self.hole_count:
                text += ", but with holes"
        return text


def format_ranges(ranges: list[list[int]], limit: int = 8) -> str:
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in ranges[:limit]]
    return ", ".join(parts) + (f", ... ({len(ranges) - limit} more ranges)" if len(ranges) > limit else "")


def to_ranges(values: list[int]) -> list[list[int]]:
    """Sorted integers as ``[first, last]`` runs: [3, 4, 5, 9] -> [[3, 5], [9, 9]]."""
    ranges: list[list[int]] = []
    for v in values:
        if ranges and v == ranges[-1][1] + 1:
            ranges[-1][1] = v
        else:
            ranges.append([v, v])
    return ranges


def receptive_field_of(support: Support, expected: int | None, declared: int | None) -> ReceptiveField:
    oldest = support.oldest
    nonzero = support.step - oldest + 1
    future = support.future_offsets()
    if support.fades:
        kind = FADES
    elif support.reaches_start:
        kind = UNBOUNDED
    else:
        kind = BOUNDED
    holes = support.holes() if kind == BOUNDED else []
    return ReceptiveField(
        kind=kind, history=nonzero if kind == BOUNDED else None, nonzero_steps=nonzero, holes=to_ranges(holes),
        hole_count=len(holes), future_steps=future[-1] if future else 0,
        smallest_relative=support.smallest_relative, expected=expected, declared=declared,
        step=support.step, length=support.length, inputs=support.inputs,
    )
