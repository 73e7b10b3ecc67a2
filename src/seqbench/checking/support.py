"""Which input steps one output step depends on: the gradient support, measured on a long input.

One backward pass gives ``d y[t] / d x[s]`` for every input step ``s``: the output at step
``t`` (a random mix of its channels, so no two channels can cancel) is differentiated with
respect to the whole input. The steps where this gradient is non-zero are the steps the
output reads: before ``t`` its history, after ``t`` a causality leak.

A zero gradient can be a coincidence rather than structure: a ReLU that is off at that
position for this input cuts every path through it, and a saturated or decaying path can
underflow. So the support is the union over several random inputs (a batch of them per
backward pass), and more are drawn until two fresh batches in a row add no step: a step is a
hole only when its gradient is exactly zero for every input tried. Weights are used as they
are: a weight that is zero in the module is part of the module, and so is a unit that is off
for every input (which happens in networks only a few channels wide): the report describes
the module with these weights, which can read less than its architecture allows.

A recurrent state's dependence never ends but decays exponentially, until the gradient
underflows float64; that edge is recognised by its size (below ``FADE`` of the peak) and
reported as a fading, unbounded history rather than a receptive field.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .probe import Probe

#: a gradient this far below its peak has decayed through hundreds of steps (a recurrent
#: state), not crossed a finite stack of layers: the edge it ends at is float64 underflow
FADE = 1e-200


@dataclass
class Support:
    """The gradient of output step ``step`` of a ``length``-step input, over ``inputs`` random inputs."""

    length: int
    step: int
    inputs: int
    magnitude: torch.Tensor  # (length,) the largest |d y[step] / d x[s]| over inputs and features

    @property
    def nonzero(self) -> torch.Tensor:
        return self.magnitude != 0

    @property
    def past(self) -> torch.Tensor:
        return self.magnitude[: self.step + 1]

    @property
    def future(self) -> torch.Tensor:
        return self.magnitude[self.step + 1 :]

    @property
    def oldest(self) -> int | None:
        """The oldest input step the output reads (None when it reads no past step)."""
        found = (self.past != 0).nonzero()
        return int(found[0]) if len(found) else None

    @property
    def reaches_start(self) -> bool:
        return self.oldest == 0

    @property
    def smallest_relative(self) -> float:
        """The smallest non-zero past gradient over the largest."""
        past = self.past[self.past != 0]
        return float(past.min() / past.max()) if len(past) else 0.0

    @property
    def fades(self) -> bool:
        return 0 < self.smallest_relative < FADE

    def holes(self) -> list[int]:
        """Offsets back from ``step`` (0 = the output's own step) inside the history that the output never reads."""
        if self.oldest is None:
            return []
        window = self.past[self.oldest :]
        return sorted(int(self.step - self.oldest - i) for i in (window == 0).nonzero().flatten())

    def future_offsets(self) -> list[int]:
        """Offsets ahead of ``step`` whose inputs reach the output (empty for a causal module)."""
        return [int(i) + 1 for i in (self.future != 0).nonzero().flatten()]

    def merge(self, other: "Support") -> "Support":
        return Support(self.length, self.step, self.inputs + other.inputs, torch.maximum(self.magnitude, other.magnitude))


def output_step(length: int) -> int:
    """The output step whose gradient is taken: a quarter of the input lies after it, for leaks to show."""
    return length - 1 - length // 4


def one_round(probe: Probe, length: int, inputs: int) -> Support:
    """The gradient of one output step over a batch of ``inputs`` random inputs: one backward pass."""
    step = output_step(length)
    x = probe.inputs(inputs, length).requires_grad_(True)
    y = probe(x)
    if not y.requires_grad:
        raise ValueError(f"{probe.name}'s output carries no gradient with respect to its input "
                         "(computed under torch.no_grad, detached, or not differentiable): nothing to measure")
    mix = probe.randn(y.size(-1))  # a random mix of the output channels: none cancels another
    (grad,) = torch.autograd.grad((y[:, step] * mix).sum(), x)
    return Support(length, step, inputs, grad.abs().amax(dim=(0, 2)).cpu())


def measure_support(probe: Probe, start_length: int, max_length: int, inputs: int = 3, max_rounds: int = 8,
                    patience: int = 2) -> Support:
    """The support of the output at :func:`output_step` over an input long enough to hold it.

    The input grows (doubling, up to ``max_length``) while the support reaches its start.
    At the final length, rounds of ``inputs`` fresh random inputs are added to the union
    until ``patience`` rounds in a row add no step (or ``max_rounds`` ran): a step still at
    zero is zero for every input tried.
    """
    length = start_length
    while True:
        support = one_round(probe, length, inputs)
        if support.oldest is None:
            raise ValueError(
                f"the output of {probe.name} at step {support.step} does not depend on any input step for "
                f"{inputs} random inputs (every gradient is zero): a zero-initialised layer? Nothing to measure"
            )
        grow = support.reaches_start and not support.fades and length < max_length
        if not grow and not support.fades:
            support = _settle(probe, support, inputs, max_rounds, patience)
            grow = support.reaches_start and length < max_length
        if not grow:
            return support
        length = min(2 * length, max_length)


def _settle(probe: Probe, support: Support, inputs: int, max_rounds: int, patience: int) -> Support:
    """More rounds of random inputs until ``patience`` rounds in a row add no step to the support."""
    quiet = 0
    for _ in range(max_rounds - 1):
        if quiet == patience or bool(support.past.ne(0).all()):
            break  # settled, or every past step already reached: another input cannot add one
        merged = support.merge(one_round(probe, support.length, inputs))
        quiet = quiet + 1 if torch.equal(merged.nonzero, support.nonzero) else 0
        support = merged
    return support
