"""Forecast intervals: what a model's output means beyond a point, how it is trained, and how
an interval is scored.

Three ways, one :class:`Intervals` each (``None``: point forecasts only, as before):

* ``quantile``: the model outputs ``Q`` quantiles per forecast value, trained with the
  pinball (quantile) loss averaged over the levels. Quantiles are **sorted** before the loss
  and before any use (the monotone rearrangement of Chernozhukov, Fernandez-Val & Galichon,
  2010): they never cross, and sorting never raises the pinball loss of any level.
  The point forecast is the 0.5 quantile (which must be among the levels).
* ``gaussian``: a mean and a scale per value (``softplus`` keeps the scale positive),
  trained with the Gaussian negative log-likelihood; its quantiles are the normal's.
* ``conformal``: a point model, unchanged, with split-conformal intervals: the
  ``ceil((n + 1) * level) / n`` empirical quantile of the absolute residuals of the ``n``
  validation windows, one per forecast step and target, added around the point. The
  coverage guarantee holds when the test windows' residuals are exchangeable with the
  validation windows' (no drift between the two periods); the checkpoint was chosen on the
  same windows, which can make the intervals slightly narrow: the test coverage printed
  beside each says whether they are.

Every interval is scored by its coverage (share of test values inside it) and its mean
width in the target's units (``coverage80``, ``width80`` for a central 80% interval), as
additive statistics, so they add up over batches, folds and processes like every metric.

A point forecaster that is not a neural model (a reference predictor) gets the same kind
of interval from its validation residuals (:func:`from_point`), so rows compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import DataError

HEADS = ("quantile", "gaussian")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
MIN_SCALE = 1e-3   # a Gaussian head's smallest scale (standardised units): the NLL stays finite


def level_name(level: float) -> str:
    """``0.8`` -> ``"80"``, ``0.975`` -> ``"97.5"``: how a metric names an interval's nominal coverage."""
    return f"{round(level * 100, 6):g}"


def check_quantiles(quantiles) -> tuple[float, ...]:
    """Quantile levels as sorted floats in (0, 1), distinct, with 0.5 among them."""
    if isinstance(quantiles, str):
        quantiles = quantiles.split(",")
    try:
        levels = tuple(sorted(float(q) for q in quantiles))
    except (TypeError, ValueError):
        raise DataError(f"quantiles must be numbers in (0, 1) such as 0.1,0.5,0.9, got {quantiles!r}") from None
    if not levels or any(not 0 < q < 1 for q in levels) or len(set(levels)) < len(levels):
        raise DataError(f"quantiles must be distinct numbers in (0, 1) such as 0.1,0.5,0.9, got {quantiles!r}")
    if 0.5 not in levels:
        raise DataError(f"quantiles must include 0.5 (the point forecast the errors are measured on), "
                        f"got {quantiles!r}")
    return levels


@dataclass(frozen=True)
class Intervals:
    """How a forecast's intervals are made (see the module's docstring).

    Attributes:
        method: ``"quantile"``, ``"gaussian"`` or ``"conformal"``.
        quantiles: the levels written by ``predict`` (and for ``quantile``, trained).
        level: ``conformal`` only: the nominal coverage of its central interval.
    """

    method: str
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    level: float | None = None

    @classmethod
    def of(cls, quantiles=None, likelihood: str | None = None, conformal: float | None = None) -> "Intervals | None":
        """The intervals that the task's options ask for, or None (point forecasts).

        Raises:
            DataError: a malformed level, or options that exclude each other.
        """
        if conformal is not None:
            if quantiles is not None or likelihood is not None:
                raise DataError("conformal=... makes intervals around a point model: leave out quantiles=... and "
                                "likelihood=... (or leave out conformal=...)")
            if isinstance(conformal, bool) or not isinstance(conformal, (int, float)) or not 0 < conformal < 1:
                raise DataError(f"conformal must be the interval's coverage in (0, 1) such as 0.9, got {conformal!r}")
            half = (1 - float(conformal)) / 2
            return cls("conformal", (half, 0.5, 1 - half), float(conformal))
        if likelihood is not None and likelihood not in HEADS:
            raise DataError(f"likelihood must be one of {', '.join(HEADS)}, got {likelihood!r}")
        if quantiles is None and likelihood is None:
            return None
        levels = DEFAULT_QUANTILES if quantiles is None else check_quantiles(quantiles)
        return cls(likelihood or "quantile", levels)

    def to_dict(self) -> dict:
        return {"method": self.method, "quantiles": list(self.quantiles), "level": self.level}

    @classmethod
    def from_dict(cls, d) -> "Intervals | None":
        return None if not d else cls(d["method"], tuple(float(q) for q in d["quantiles"]), d.get("level"))

    @property
    def from_point_text(self) -> str:
        """How :func:`from_point` gives a point forecaster this kind of interval, in words."""
        how = {"quantile": "each level the point plus the residuals' split-conformal one-sided quantile",
               "gaussian": "a normal around the point with the residuals' root mean square as its scale",
               "conformal": "the point plus or minus the split-conformal quantile of the absolute residuals"}
        return how[self.method] + " (residuals on the validation windows, per forecast step and target)"

    # -- the output layout --------------------------------------------------------------------
    @property
    def per_value(self) -> int:
        """Model outputs per forecast value: Q quantiles, a mean and a scale, or the point."""
        return {"quantile": len(self.quantiles), "gaussian": 2}.get(self.method, 1)

    @property
    def levels(self) -> tuple[float, ...]:
        """The nominal coverages of the central intervals scored: one per pair of levels
        ``(q, 1 - q)`` among the quantiles (``conformal``: its level)."""
        if self.level is not None:
            return (self.level,)
        lows = [q for q in self.quantiles if q < 0.5 and any(math.isclose(1 - q, p) for p in self.quantiles)]
        return tuple(sorted(round(1 - 2 * q, 10) for q in lows))

    def _split(self, out: torch.Tensor) -> torch.Tensor:
        """(N, D * per_value) -> (N, D, per_value); quantiles sorted."""
        out = out.reshape(len(out), -1, self.per_value)
        return out.sort(-1).values if self.method == "quantile" else out

    def point(self, out: torch.Tensor) -> torch.Tensor:
        """(N, D) point forecasts: the median, the mean, or the point model's output."""
        if self.method == "conformal":
            return out
        parts = self._split(out)
        if self.method == "quantile":
            return parts[..., self.quantiles.index(0.5)]
        return parts[..., 0]

    def quantile_values(self, out: torch.Tensor, calibration: torch.Tensor | None = None,
                        levels: Sequence[float] | None = None) -> torch.Tensor:
        """(N, D, len(levels)) forecasts at the quantile ``levels`` (default: :attr:`quantiles`),
        standardised; ``calibration`` (D,) is a conformal model's half-width."""
        levels = tuple(self.quantiles if levels is None else levels)
        if self.method == "quantile":
            parts = self._split(out)
            return parts[..., [self._index(q) for q in levels]]
        if self.method == "gaussian":
            mean, scale = self._gaussian(out)
            z = torch.tensor([_normal_ppf(q) for q in levels], dtype=mean.dtype, device=mean.device)
            return mean[..., None] + scale[..., None] * z
        if calibration is None:
            raise ValueError("a conformal forecast's quantiles need its calibration (CustomTask.calibrate)")
        sign = torch.tensor([0.0 if q == 0.5 else (1.0 if q > 0.5 else -1.0) for q in levels],
                            dtype=out.dtype, device=out.device)
        return out[..., None] + sign * calibration.to(out.device, out.dtype)[None, :, None]

    def _index(self, q: float) -> int:
        """The position of level ``q`` among :attr:`quantiles` (to float rounding)."""
        return next(i for i, level in enumerate(self.quantiles) if math.isclose(level, q, abs_tol=1e-9))

    def _gaussian(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts = self._split(out)
        return parts[..., 0], F.softplus(parts[..., 1]) + MIN_SCALE

    # -- training ------------------------------------------------------------------------
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training loss of ``out`` against targets ``y`` (N, D), standardised."""
        if self.method == "quantile":
            return pinball(self._split(out), y, self.quantiles).mean()
        if self.method == "gaussian":
            mean, scale = self._gaussian(out)
            return F.gaussian_nll_loss(mean, y, scale.pow(2), full=True)
        return F.mse_loss(out, y)

    # -- scoring -------------------------------------------------------------------------
    def statistics(self, out: torch.Tensor, y: torch.Tensor, scale: torch.Tensor,
                   calibration: torch.Tensor | None) -> dict:
        """Additive ``{name: (sum, count)}`` of the intervals: per level its coverage and
        width (``scale``: the target's std per value, broadcastable to ``y``, for widths in
        its units); the pinball loss of a quantile head; the NLL of a Gaussian one."""
        n = torch.tensor(float(y.numel()), device=y.device)
        stats = {}
        if self.method == "conformal" and calibration is None:
            return stats   # not calibrated yet (a task rebuilt without its validation windows)
        for level in self.levels:
            half = (1 - level) / 2
            bounds = self.quantile_values(out, calibration, (half, 1 - half))
            lo, hi = bounds[..., 0], bounds[..., 1]
            inside = ((y >= lo) & (y <= hi)).float()
            name = level_name(level)
            stats[f"coverage{name}"] = (inside.sum(), n)
            stats[f"width{name}"] = (((hi - lo) * scale).sum(), n)
        if self.method == "quantile":
            stats["pinball"] = (pinball(self._split(out), y, self.quantiles).sum() / len(self.quantiles), n)
        elif self.method == "gaussian":
            mean, sd = self._gaussian(out)
            stats["nll"] = (F.gaussian_nll_loss(mean, y, sd.pow(2), full=True, reduction="sum"), n)
        return stats


def pinball(quantiles: torch.Tensor, y: torch.Tensor, levels: Sequence[float]) -> torch.Tensor:
    """(N, D, Q) pinball losses of quantile forecasts (N, D, Q) at ``levels`` against ``y`` (N, D)."""
    tau = torch.tensor(list(levels), dtype=quantiles.dtype, device=quantiles.device)
    diff = y[..., None] - quantiles
    return torch.maximum(tau * diff, (tau - 1) * diff)


def _normal_ppf(q: float) -> float:
    return math.sqrt(2) * torch.erfinv(torch.tensor(2 * q - 1, dtype=torch.float64)).item()


def conformal_halfwidth(residuals: np.ndarray, level: float) -> np.ndarray:
    """(D,) split-conformal half-widths: the ``ceil((n + 1) * level)``-th smallest absolute
    residual of the ``n`` calibration windows, per column of ``residuals`` (n, D); infinite
    when ``n`` is too small for the level (fewer than ``level / (1 - level)`` windows)."""
    r = np.abs(np.asarray(residuals, dtype=np.float64))
    n = len(r)
    rank = math.ceil((n + 1) * level)
    if rank > n:
        return np.full(r.shape[1], np.inf)
    return np.sort(r, axis=0)[rank - 1]


def from_point(intervals: Intervals, valid_point: torch.Tensor, valid_y: torch.Tensor,
               points: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Outputs in ``intervals``' layout for a point forecaster (a reference), from its
    validation residuals ``valid_y - valid_point`` (N, D): quantile levels as the point plus
    the residuals' split-conformal one-sided quantile, a Gaussian as the point and the
    residuals' root mean square, a conformal interval as the point with the half-width
    returned (else None). ``points``: ``{split: (N, D) point forecasts}`` to convert."""
    r = (valid_y - valid_point).double().cpu().numpy()
    n = len(r)
    if intervals.method == "conformal":
        half = torch.as_tensor(conformal_halfwidth(r, intervals.level), dtype=torch.float32)
        return dict(points), half
    if intervals.method == "gaussian":
        sd = np.sqrt((r ** 2).mean(0)) if n else np.ones(r.shape[1])
        raw = torch.as_tensor(np.log(np.expm1(np.maximum(sd - MIN_SCALE, 1e-6))), dtype=torch.float32)
        return {s: torch.stack([p, raw.expand_as(p)], -1).reshape(len(p), -1) for s, p in points.items()}, None
    offsets = []
    for q in intervals.quantiles:   # the one-sided split-conformal rank of each level
        rank = math.ceil((n + 1) * q) if q > 0.5 else math.floor((n + 1) * q) if q < 0.5 else None
        if rank is None:
            offsets.append(np.zeros(r.shape[1]))
        elif rank < 1:
            offsets.append(np.full(r.shape[1], -np.inf))
        elif rank > n:
            offsets.append(np.full(r.shape[1], np.inf))
        else:
            offsets.append(np.sort(r, axis=0)[rank - 1])
    offset = torch.as_tensor(np.stack(offsets, -1), dtype=torch.float32)     # (D, Q)
    return {s: (p[..., None] + offset).reshape(len(p), -1) for s, p in points.items()}, None
