"""Per-column standardisation, fitted on the train split and kept for prediction.

A :class:`Standardizer` holds plain floats, so it is immutable, comparable and JSON-able
through :meth:`~Standardizer.to_dict`; numpy is its only dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

# a standard deviation at or below this is a constant column: it is shifted to 0, not divided
MIN_STD = 1e-12


@dataclass(frozen=True)
class Standardizer:
    """``(x - mean) / std`` column by column.

    Args:
        mean: one value per column.
        std: one value per column; a constant column's is 1, so it stays as it is, shifted to 0.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean and std need one value per column, got {len(self.mean)} and {len(self.std)}")
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

    @classmethod
    def from_moments(cls, mean: Sequence[float], std: Sequence[float]) -> "Standardizer":
        """A standardizer from raw moments, with constant columns' std replaced by 1."""
        std = np.asarray(std, dtype=np.float64)
        return cls(tuple(np.asarray(mean, dtype=np.float64)), tuple(np.where(std > MIN_STD, std, 1.0)))

    @classmethod
    def fit(cls, x: np.ndarray) -> "Standardizer":
        """The mean and (population) standard deviation of each column of ``x`` (N, C)."""
        x = np.asarray(x, dtype=np.float64)
        return cls.from_moments(x.mean(0), x.std(0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``x`` (..., C) standardised, as float64."""
        return (x - np.asarray(self.mean)) / np.asarray(self.std)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Standardised ``z`` (..., C) back in the columns' own units, as float64."""
        return np.asarray(z) * np.asarray(self.std) + np.asarray(self.mean)

    def select(self, columns: Sequence[int]) -> "Standardizer":
        """The standardizer of some of the columns, in the order given."""
        return Standardizer(tuple(self.mean[c] for c in columns), tuple(self.std[c] for c in columns))

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Standardizer":
        return cls(tuple(d["mean"]), tuple(d["std"]))
