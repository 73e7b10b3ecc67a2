"""How the user's data is split for evaluation, as options: a fixed test set (a second file,
a split column, the last steps of a series or those after a cutoff), resampling (K folds,
repeated random splits) and rolling-origin backtests of forecasts.

:class:`SplitOptions` checks the options together (a conflicting pair is a
:class:`~.errors.DataError` naming both); :func:`resampling_plan` turns a variant that asks for
resampling into the variants of its trainings, one each, so that every model (and every
reference) is trained and scored on the same folds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from .errors import DataError

# the options of :class:`~.task.CustomTask` this module owns
SPLIT_KEYS = ("split", "seed", "test_file", "split_column", "test_size", "cutoff", "folds", "fold",
              "resamples", "resample", "backtest", "stride", "refit_every", "refit")
# options that decide the test set; at most one of them is given
_TEST_SOURCES = ("test_file", "split_column", "test_size", "cutoff", "backtest")


def _count(name: str, value, low: int) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        raise DataError(f"{name} must be an integer of at least {low}, got {value!r}")


@dataclass(frozen=True)
class SplitOptions:
    """The split options of a custom task (see :class:`~.task.CustomTask`), checked together.

    The indices ``fold``, ``resample`` and ``refit`` say which training of a plan this is; left
    out, they are 0 (the first), as :func:`resampling_plan` lists them.
    """

    split: tuple[float, float, float] | None = None
    seed: int = 0
    test_file: Any = None
    split_column: str | None = None
    test_size: int | None = None
    cutoff: Any = None
    folds: int | None = None
    fold: int | None = None
    resamples: int | None = None
    resample: int | None = None
    backtest: int | None = None
    stride: int | None = None
    refit_every: int | None = None
    refit: int | None = None

    def __post_init__(self) -> None:
        _count("seed", self.seed, 0)
        _count("test_size", self.test_size, 1)
        _count("folds", self.folds, 2)
        _count("resamples", self.resamples, 1)
        _count("backtest", self.backtest, 1)
        _count("stride", self.stride, 1)
        _count("refit_every", self.refit_every, 1)
        given = [k for k in _TEST_SOURCES if getattr(self, k) is not None]
        if len(given) > 1:
            raise DataError(f"{given[0]}=... and {given[1]}=... both choose the test set: pass one of them")
        for count, index in (("folds", "fold"), ("resamples", "resample"), ("refit_every", "refit")):
            n, i = getattr(self, count), getattr(self, index)
            if i is None:
                continue
            if n is None:
                raise DataError(f"{index}=... picks one of {count}=...: pass {count}=... too")
            limit = self.refits if count == "refit_every" else n
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < limit:
                raise DataError(f"{index} must be an integer in [0, {limit}), got {i!r}")
        if self.folds is not None and given and given[0] != "test_size":
            raise DataError(f"folds=... make their own test sets: leave out {given[0]}=...")
        if self.resamples is not None and given:
            raise DataError(f"resamples=... draw their own test sets: leave out {given[0]}=...")
        for option in ("stride", "refit_every"):
            if getattr(self, option) is not None and self.backtest is None:
                raise DataError(f"{option}=... spaces the origins of a backtest: pass backtest=... too")

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> "SplitOptions":
        """The split options among ``options`` (a variant); the others are ignored."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in options.items() if k in known and v is not None}
        if "split" in given:
            given["split"] = tuple(given["split"])
        return cls(**given)

    @property
    def refits(self) -> int:
        """Trainings of a backtest: one, or one per ``refit_every`` origins."""
        if self.backtest is None or self.refit_every is None:
            return 1
        return math.ceil(self.backtest / self.refit_every)

    @property
    def split_seed(self) -> Any:
        """The seed of the random split (and of the folds): ``seed``, or ``(seed, resample)``
        for a resample, so that each resample draws another split."""
        return self.seed if self.resamples is None else (self.seed, self.resample or 0)

    @property
    def label(self) -> str | None:
        """Which training of a plan this is, for a report ("fold 2 of 5"), or None for a lone one."""
        parts = []
        if self.resamples is not None and self.resamples > 1:
            parts.append(f"resample {(self.resample or 0) + 1} of {self.resamples}")
        if self.folds is not None:
            parts.append(f"fold {(self.fold or 0) + 1} of {self.folds}")
        if self.refits > 1:
            first = (self.refit or 0) * self.refit_every
            last = min(first + self.refit_every, self.backtest)
            parts.append(f"refit {(self.refit or 0) + 1} of {self.refits} "
                         f"(origins {first + 1}-{last} of {self.backtest})")
        return ", ".join(parts) or None


def resampling_plan(variant: Mapping[str, Any]) -> list[dict]:
    """The variants of the trainings that ``variant`` (a custom task's options) asks for.

    One entry per training, each ``variant`` with the index that picks it added (``fold``,
    ``resample``, ``refit``) and ``"label"``, how a report names it (``"fold 2 of 5"``); the
    custom task accepts ``label`` and ignores it. A variant without resampling, or one that
    already picks its training (``fold=...`` given), gives ``[variant]``. Every model and
    reference trained on these variants sees the same folds: the folds depend on the data,
    ``seed`` and the resample index only.

    Raises:
        DataError: options that conflict (see :class:`SplitOptions`).
    """
    options = SplitOptions.of(variant)
    axes = []
    if options.resamples is not None and options.resample is None:
        axes.append(("resample", options.resamples))
    if options.folds is not None and options.fold is None:
        axes.append(("fold", options.folds))
    if options.refit_every is not None and options.refit is None:
        axes.append(("refit", options.refits))
    plans = [dict(variant)]
    for key, n in axes:
        plans = [dict(p, **{key: i}) for p in plans for i in range(n)]
    if not axes:
        return plans
    return [dict(p, label=SplitOptions.of(p).label) for p in plans]
