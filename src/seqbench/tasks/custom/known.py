"""Inputs known in advance: columns whose future values are known when the forecast is made
(planned prices, holidays, a schedule) and calendar features of the time column.

How every model kind sees them: each input step carries, beside its own features, the
known inputs of the ``horizon`` steps after it ("lead" channels, ``horizon * width`` of
them). A causal model is read out at the window's last step, whose lead channels are the
known inputs of exactly the steps it forecasts. This one way works unchanged for the TCN,
the recurrent networks and the Transformer (they all read it through their input, so they
can learn interactions such as hour x weekday, and stay parameter-matched), and for
streaming and export; the cost is an input ``horizon * width`` wider, small for the
horizons of this project. Earlier steps' leads are their own next steps' known inputs,
which were equally known then, so no step reads anything a forecaster could not know.

Calendar features are each a sine and cosine of the position in its cycle (hour of the day
of 24, day of the week of 7, month of 12, ...): smooth across the cycle's end, no scaling
needed. Known columns are standardised with the train-split statistics like every feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .errors import DataError, cell
from .files import display_name, pandas, read_table

# calendar feature -> (cycle length, position in the cycle of a pandas DatetimeIndex)
CALENDAR = {
    "minute": (60, lambda t: t.minute), "hour": (24, lambda t: t.hour), "dayofweek": (7, lambda t: t.dayofweek),
    "dayofmonth": (31, lambda t: t.day - 1), "month": (12, lambda t: t.month - 1),
    "dayofyear": (366, lambda t: t.dayofyear - 1),
}


def as_names(value) -> tuple[str, ...]:
    """``"a,b"`` or a list as a tuple of names (empty for None)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(v).strip() for v in items if str(v).strip())


@dataclass(frozen=True)
class KnownInputs:
    """The known future inputs of a forecast.

    Attributes:
        columns: feature columns whose future values are known at forecast time.
        calendar: calendar features of the time column (keys of :data:`CALENDAR`).
    """

    columns: tuple[str, ...] = ()
    calendar: tuple[str, ...] = ()

    @classmethod
    def of(cls, columns=None, calendar=None) -> "KnownInputs | None":
        """The known inputs the options name, or None when there are none.

        Raises:
            DataError: an unknown calendar feature, or a name given twice.
        """
        columns, calendar = as_names(columns), as_names(calendar)
        unknown = [c for c in calendar if c not in CALENDAR]
        if unknown:
            raise DataError(f"calendar feature {cell(unknown[0])} is not one of {', '.join(CALENDAR)}")
        for names, what in ((columns, "known_features"), (calendar, "calendar")):
            if len(set(names)) < len(names):
                raise DataError(f"{what}=... names a column twice: {','.join(names)}")
        return cls(columns, calendar) if columns or calendar else None

    @property
    def width(self) -> int:
        """Known channels per step: one per column, a sine and a cosine per calendar feature."""
        return len(self.columns) + 2 * len(self.calendar)

    @property
    def channel_names(self) -> list[str]:
        return list(self.columns) + [f"{c}_{f}" for c in self.calendar for f in ("sin", "cos")]

    def check(self, layout) -> None:
        """Raise unless the known columns are non-target features and a calendar has a time column."""
        for c in self.columns:
            if c not in layout.features:
                raise DataError(f"known_features=... names {c!r}, which is not an input column "
                                f"(the inputs: {', '.join(layout.features)})")
            if c in layout.targets:
                raise DataError(f"known_features=... names the target {c!r}: its future is what is forecast")
        if self.calendar and layout.time_column is None:
            raise DataError("calendar=... is computed from the time column: pass time_column=... (a column of dates)")

    def to_dict(self) -> dict:
        return {"columns": list(self.columns), "calendar": list(self.calendar)}

    @classmethod
    def from_dict(cls, d) -> "KnownInputs | None":
        return None if not d else cls(tuple(d["columns"]), tuple(d["calendar"]))

    # -- the channels ----------------------------------------------------------------------
    def calendar_values(self, times) -> np.ndarray:
        """(T, 2 * calendar) sines and cosines of ``times`` (a pandas Series of dates)."""
        pd = pandas()
        if not self.calendar:
            return np.empty((len(times), 0))
        if times is None or not pd.api.types.is_datetime64_any_dtype(times):
            raise DataError("calendar=... needs a time column of dates; the time column holds numbers")
        index = pd.DatetimeIndex(times)
        parts = []
        for name in self.calendar:
            period, position = CALENDAR[name]
            angle = 2 * np.pi * np.asarray(position(index), dtype=np.float64) / period
            parts += [np.sin(angle), np.cos(angle)]
        return np.stack(parts, -1)

    def channels(self, scaled_x: np.ndarray, features: Sequence[str], times) -> np.ndarray:
        """(T, width) known channels of a series: its known columns (already standardised) and calendar."""
        index = [list(features).index(c) for c in self.columns]
        return np.concatenate([np.asarray(scaled_x)[:, index], self.calendar_values(times)], axis=1)


def with_leads(x: torch.Tensor, known: np.ndarray, horizon: int) -> torch.Tensor:
    """``x`` (T, C) with each step's lead channels appended: the known channels of the
    ``horizon`` steps after it, flattened step-major; ``known`` (T + F, width) may run F
    steps past ``x`` (the forecast steps), and leads past its end are zeros (a training
    window never reads them: its targets, and so its last step's leads, lie in the series)."""
    steps, width = len(x), known.shape[1]
    padded = np.zeros((steps + horizon, width))
    available = min(len(known), steps + horizon)
    padded[:available] = known[:available]
    leads = np.stack([padded[t + 1:t + 1 + horizon].reshape(-1) for t in range(steps)]) if steps else \
        np.empty((0, horizon * width))
    return torch.cat([x, torch.as_tensor(leads, dtype=x.dtype)], dim=1)


def read_future(file, spec, ids: list) -> dict:
    """``{series id: (times or None, values (horizon, known columns))}`` of a table of the
    known inputs' values for the ``horizon`` steps after each series' end (its first
    ``horizon`` rows per series, in time order).

    Raises:
        DataError: the file lacks a column, a series or steps, or holds missing values; one line.
    """
    from .reading import sorted_groups

    known, name = spec.known, display_name(file)
    df = read_table(file)
    needed = [c for c in (spec.id_column, spec.time_column) if c is not None] + list(known.columns)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{name} lacks column {missing[0]!r}: the forecast reads the known inputs "
                        f"{', '.join(known.columns)} of the {spec.horizon} steps it forecasts")
    groups = dict(sorted_groups(df, spec.id_column, spec.time_column))
    out = {}
    for key in ids:
        rows = groups.get(key)
        what = f"series {cell(key)}" if spec.id_column else "the series"
        if rows is None or len(rows) < spec.horizon:
            raise DataError(f"{name} holds {0 if rows is None else len(rows)} rows of {what}; the forecast needs the "
                            f"known inputs of its {spec.horizon} steps")
        rows = rows.iloc[:spec.horizon]
        try:
            values = rows[list(known.columns)].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise DataError(f"{name}: the known input columns {', '.join(known.columns)} must hold numbers") from None
        if not np.isfinite(values).all():
            bad = known.columns[int(np.flatnonzero(~np.isfinite(values).all(0))[0])]
            raise DataError(f"{name}: known input column {bad!r} of {what} is missing or not finite in the "
                            f"{spec.horizon} steps forecast")
        times = None if spec.time_column is None else rows[spec.time_column].reset_index(drop=True)
        out[key] = (times, values)
    return out
