"""Missing values (NaN, inf, empty cells): the policies and where they apply.

Inputs are repaired (``fill``) or their rows dropped (``drop``) only when the user says so;
otherwise they stop the read with the rows and columns that hold them. Targets are never
filled in: a missing label is dropped with its row, or an error.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import DataError, cell, row_list
from .files import pandas
from .spec import FILL_POLICIES

# the advice when inputs hold NaN/inf and no policy was chosen
REMEDY = "pass fill='ffill'|'interpolate'|'zero' or drop=True"


def check_policy(fill: str | None, drop: bool) -> None:
    """Raise unless ``fill`` is None or a known policy, and not given together with ``drop``."""
    if fill is not None and fill not in FILL_POLICIES:
        raise DataError(f"fill must be one of {', '.join(FILL_POLICIES)}, got {fill!r}")
    if fill is not None and drop:
        raise DataError("choose one policy for missing values: fill=... or drop=True, not both")


def fill_array(a: np.ndarray, policy: str) -> np.ndarray:
    """Repair NaN/inf in a (T, C) array along time: ``"ffill"`` carries the last valid value
    forward (the first one backward), ``"interpolate"`` draws straight lines between valid
    neighbours (flat beyond the ends), ``"zero"`` writes 0.

    Raises:
        ValueError: if a column has no valid value at all (and the policy is not ``"zero"``).
    """
    a = np.array(a, dtype=np.float64, copy=True)
    bad = ~np.isfinite(a)
    if not bad.any():
        return a
    if policy == "zero":
        a[bad] = 0.0
        return a
    steps = np.arange(len(a))
    for c in np.flatnonzero(bad.any(axis=0)):
        ok = ~bad[:, c]
        if not ok.any():
            raise ValueError(f"column {c} has no valid value")
        if policy == "interpolate":
            a[:, c] = np.interp(steps, steps[ok], a[ok, c])
        else:
            last = np.maximum.accumulate(np.where(ok, steps, -1))   # index of the last valid value so far
            first = steps[ok][0]
            a[:, c] = a[np.where(last >= 0, last, first), c]
    return a


def repair(x: np.ndarray, fill: str, key, features: Sequence[str], id_column: str | None) -> np.ndarray:
    """``x`` (T, C) of one sequence with ``fill`` applied, or a DataError naming a column with
    nothing to fill from (``key``: the sequence's id, for the message)."""
    empty = [features[c] for c in np.flatnonzero(~np.isfinite(x).any(axis=0))]
    if empty and fill != "zero":
        where = f" in sequence {cell(key)}" if id_column is not None else ""
        raise DataError(f"cannot fill {', '.join(map(repr, empty))}{where}: no valid value to fill from; "
                        "pass drop=True or fill='zero'")
    return fill_array(x, fill)


def bad_mask(df, columns: Sequence[str]) -> np.ndarray:
    """(rows,) bool: a NaN, missing or infinite value in any of ``columns`` (missing only, for text)."""
    pd = pandas()
    bad = np.zeros(len(df), dtype=bool)
    for c in columns:
        if pd.api.types.is_numeric_dtype(df[c]):
            bad |= ~np.isfinite(df[c].to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            bad |= df[c].isna().to_numpy()
    return bad


def describe_bad(df, columns: Sequence[str]) -> str:
    """``"'a' at rows 3, 9; 'b' at row 4"``: where the bad values are, column by column (0-based rows)."""
    parts = []
    for c in columns:
        rows = np.flatnonzero(bad_mask(df, [c]))
        if len(rows):
            parts.append(f"{c!r} at {row_list(df.index[rows])}")
    return "; ".join(parts)


def apply_to_table(df, inputs: Sequence[str], labels: Sequence[str], fill: str | None, drop: bool,
                   notes: list[str]):
    """``df`` with the policy applied to its rows: rows with bad values dropped (``drop``), or
    ``df`` as it is when ``fill`` will repair each sequence, or a DataError.

    ``labels`` are target columns that are never filled in; ``notes`` receives what was done.
    """
    bad_labels = bad_mask(df, labels)
    if bad_labels.any() and not drop:
        raise DataError(f"missing target values in {describe_bad(df, labels)} (counting rows from 0 below the header); "
                        "a label is never filled in: pass drop=True to drop those rows")
    bad = bad_mask(df, inputs) | bad_labels
    if not bad.any():
        return df
    if drop:
        notes.append(f"dropped {int(bad.sum())} of {len(df)} rows with NaN/inf values (drop=True)")
        df = df[~bad]
        if len(df) == 0:
            raise DataError("no rows left after dropping those with NaN/inf values")
        return df
    if fill is None:
        raise DataError(f"NaN/inf values in {describe_bad(df, inputs)} (counting rows from 0 below the header); "
                        f"{REMEDY}")
    notes.append(f"filled NaN/inf values in {int(bad.sum())} rows (fill={fill!r})")
    return df
