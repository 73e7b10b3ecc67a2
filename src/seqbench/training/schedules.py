"""Learning-rate schedules driven by the validation history, as the official scripts run them.

A schedule's ``scale(history, key, higher_is_better)`` looks at the run's history (one row
per validation, oldest first, the current one last; ``key`` names the validation metric) and
returns the factor to multiply the learning rate by now, 1.0 for no change. The
history is in every checkpoint, so a resumed run changes its rate at the same validations.

=====================  ===========================================================  ==========================
name                   rule                                                         official script
=====================  ===========================================================  ==========================
``halve_on_plateau``   x0.5 when the metric does not beat the best so far           (generic)
``official_music``     x0.1 when worse than each of the previous 3, after the 10th   ``poly_music/music_test``
``official_char``      x0.1 when worse than each of the previous 3, after the 5th    ``char_cnn``
``official_word``      x0.5 when no better than the worst of the previous 5, after 5  ``word_cnn``
``official_lambada``   x0.1 when no better than the worst of the previous 5, after 5  ``lambada_language``
``official_mnist``     x0.1 at the end of every 10th epoch                           ``mnist_pixel``
=====================  ===========================================================  ==========================

"After the n-th" counts validations, which are epochs unless the run validates within
epochs (``--val-every``).
"""

from __future__ import annotations

from dataclasses import dataclass


def _lower_is_better(values: list[float], higher_is_better: bool) -> list[float]:
    return [-v for v in values] if higher_is_better else list(values)


@dataclass(frozen=True)
class HalveOnPlateau:
    """x0.5 whenever the newest validation does not beat every earlier one."""

    def scale(self, history: list[dict], key: str, higher_is_better: bool) -> float:
        values = _lower_is_better([row[key] for row in history if key in row], higher_is_better)
        return 0.5 if len(values) > 1 and values[-1] >= min(values[:-1]) else 1.0


@dataclass(frozen=True)
class DropOnRise:
    """x``factor`` when the newest validation is worse than the previous ``window`` ones.

    Attributes:
        factor: what the learning rate is multiplied by.
        window: how many earlier validations it is compared with.
        after: the rule applies from validation ``after + 1`` on.
        strict: worse than each of them (True), or no better than the worst of them (False).
    """

    factor: float
    window: int
    after: int
    strict: bool

    def factor_now(self, values: list[float]) -> float:
        if len(values) <= self.after or len(values) < 2:
            return 1.0
        worst = max(values[-1 - self.window : -1])
        rose = values[-1] > worst if self.strict else values[-1] >= worst
        return self.factor if rose else 1.0

    def scale(self, history: list[dict], key: str, higher_is_better: bool) -> float:
        return self.factor_now(_lower_is_better([row[key] for row in history if key in row], higher_is_better))


@dataclass(frozen=True)
class StepEvery:
    """x``factor`` at the end of every ``epochs``-th epoch."""

    factor: float
    epochs: int

    def scale(self, history: list[dict], key: str, higher_is_better: bool) -> float:
        now = history[-1]["epoch"] if history else 0
        before = history[-2]["epoch"] if len(history) > 1 else 0
        # the first validation at or past the end of a multiple of `epochs` epochs
        crossed = int(now) // self.epochs > int(before) // self.epochs
        return self.factor if crossed else 1.0


SCHEDULES = {
    "halve_on_plateau": HalveOnPlateau(),
    "official_music": DropOnRise(0.1, 3, 10, strict=True),
    "official_char": DropOnRise(0.1, 3, 5, strict=True),
    "official_word": DropOnRise(0.5, 5, 5, strict=False),
    "official_lambada": DropOnRise(0.1, 5, 5, strict=False),
    "official_mnist": StepEvery(0.1, 10),
}
