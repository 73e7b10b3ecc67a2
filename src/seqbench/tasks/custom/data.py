"""Reading and checking user files for the ``custom`` task: tables (CSV/Parquet) and arrays (.npz).

Everything here raises :class:`DataError` (a ``ValueError``) with a one-line message that
names the problem and, where there is one, the option that fixes it. No torch here: this
is file handling only; :mod:`seqbench.tasks.custom` turns the checked data into a Task.

pandas (and pyarrow for Parquet) are imported only when a table is read, so the rest of
seqbench works without them (``pip install 'seqbench[tables]'``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
FILL_POLICIES = ("ffill", "interpolate", "zero")


class DataError(ValueError):
    """A problem with the user's data, told in one line."""


def pandas():
    """The pandas module, or an ImportError that says how to install it."""
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - pandas is installed in the test environment
        raise ImportError("reading CSV/Parquet files needs pandas: pip install 'seqbench[tables]'") from e
    return pd


def display_name(source) -> str:
    """The file name for messages ("the table" for a DataFrame)."""
    return Path(source).name if isinstance(source, (str, os.PathLike)) else "the table"


def is_npz(source) -> bool:
    return isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".npz"


def read_table(source):
    """A pandas DataFrame from a CSV/TSV/Parquet path, or a copy of a DataFrame.

    The index is reset to 0..n-1 so that error messages can name rows by position.
    """
    pd = pandas()
    if isinstance(source, pd.DataFrame):
        df = source.reset_index(drop=True).copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"no such file: {path}")
        suffix = path.suffix.lower()
        try:
            if suffix in (".csv", ".tsv"):
                df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
            elif suffix in (".parquet", ".pq"):
                try:
                    import pyarrow  # noqa: F401  (pandas' Parquet engine)
                except ImportError as e:  # pragma: no cover
                    raise ImportError("reading Parquet files needs pyarrow: pip install 'seqbench[tables]'") from e
                df = pd.read_parquet(path)
            else:
                raise DataError(f"cannot read {path.name}: use a .csv, .tsv, .parquet or .npz file")
        except DataError:
            raise
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name} is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"cannot parse {path.name}: {first}") from None
    if len(df) == 0:
        raise DataError(f"{display_name(source)} has no rows")
    df.columns = [str(c) for c in df.columns]
    return df


def row_list(rows: Sequence[int], limit: int = 5) -> str:
    """``"rows 3, 8 and 12"`` style text, at most ``limit`` numbers then a count."""
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def require_columns(df, columns: Iterable[str], role: str, option: str) -> None:
    """Raise naming the first column of ``columns`` the table lacks."""
    for c in columns:
        if c not in df.columns:
            raise DataError(
                f"{role} column {c!r} not found (pass {option}); the file has columns: {', '.join(df.columns)}"
            )


def check_numeric(df, columns: Sequence[str], role: str, hint: str) -> None:
    """Raise naming the non-numeric columns among ``columns`` (bool counts as numeric)."""
    pd = pandas()
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        examples = []
        for c in bad[:3]:
            values = df[c].dropna()
            examples.append(f"{c!r} (e.g. {values.iloc[0]!r})" if len(values) else repr(c))
        raise DataError(f"non-numeric {role} column{'s' if len(bad) > 1 else ''} {', '.join(examples)}: {hint}")


def bad_mask(df, columns: Sequence[str]):
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


def check_policy(fill: str | None, drop: bool) -> None:
    if fill is not None and fill not in FILL_POLICIES:
        raise DataError(f"fill must be one of {', '.join(FILL_POLICIES)}, got {fill!r}")
    if fill is not None and drop:
        raise DataError("choose one policy for missing values: --fill or --drop, not both")


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


def parse_times(df, column: str):
    """The time column as numbers or datetimes; strings that are dates are parsed."""
    pd = pandas()
    series = df[column]
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        if series.isna().any():
            raise DataError(f"time column {column!r} has missing values at {row_list(df.index[series.isna().to_numpy()])}")
        return series
    try:
        parsed = pd.to_datetime(series, errors="raise")
    except (ValueError, TypeError):
        example = series.dropna().iloc[0] if series.notna().any() else None
        raise DataError(
            f"time column {column!r} is neither numbers nor dates (e.g. {example!r}); "
            "pass --time-column with the right column"
        ) from None
    if parsed.isna().any():
        raise DataError(f"time column {column!r} has missing values at {row_list(df.index[parsed.isna().to_numpy()])}")
    return parsed


def sorted_groups(df, id_column: str | None, time_column: str | None) -> list[tuple[Any, Any]]:
    """``[(sequence id, rows of that sequence in time order), ...]`` in order of first appearance.

    Without an id column the whole table is one sequence. Repeated times within a sequence
    are an error: each step needs its own time.
    """
    if time_column is not None:
        df = df.assign(**{time_column: parse_times(df, time_column)})
    groups = [(None, df)] if id_column is None else list(df.groupby(id_column, sort=False))
    out = []
    for key, rows in groups:
        if time_column is not None:
            rows = rows.sort_values(time_column, kind="stable")
            dup = rows[time_column].duplicated().to_numpy()
            if dup.any():
                where = f" in sequence {key!r}" if id_column is not None else ""
                raise DataError(
                    f"time column {time_column!r} repeats {_plain(rows[time_column].iloc[int(np.flatnonzero(dup)[0])])!r}"
                    f"{where} ({row_list(rows.index[dup])}); each step needs its own time"
                )
        out.append((_plain(key), rows))
    return out


def _plain(value):
    """numpy scalars -> Python scalars, so ids and classes are JSON-able."""
    return value.item() if isinstance(value, np.generic) else value


def plain_list(values) -> list:
    return [_plain(v) for v in values]


def read_npz(source) -> dict[str, np.ndarray]:
    """``x`` (N, T, C) numbers, optional ``lengths`` (N,) and optional ``y``, checked."""
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise DataError(f"cannot read {path.name} as .npz: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if "x" not in arrays:
        raise DataError(f"{path.name} has no array 'x' (it has: {', '.join(arrays) or 'nothing'}); "
                        "store inputs as x with shape (N, T, C)")
    x = arrays["x"]
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"x in {path.name} must be real numbers of shape (N, T, C), got {x.dtype} {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"x in {path.name} is empty: shape {x.shape}")
    n, t = x.shape[:2]
    out = {"x": x.astype(np.float32)}
    if "lengths" in arrays:
        lengths = arrays["lengths"]
        if lengths.shape != (n,) or not np.issubdtype(lengths.dtype, np.integer) or \
                lengths.min() < 1 or lengths.max() > t:
            raise DataError(f"lengths in {path.name} must be {n} integers in [1, {t}], got {lengths.dtype} {lengths.shape}")
        out["lengths"] = lengths.astype(np.int64)
    else:
        out["lengths"] = np.full(n, t, dtype=np.int64)
    if "y" in arrays:
        y = arrays["y"]
        if y.ndim == 0 or y.shape[0] != n:
            raise DataError(f"y in {path.name} must have one entry per sequence ({n}), got shape {y.shape}")
        out["y"] = y
    return out


def write_table(frame, path) -> Path:
    """Write ``frame`` to ``path`` (.csv/.tsv/.parquet) atomically: a temporary file, then a rename.

    An error half-way leaves nothing behind, and an existing file is replaced only whole.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"cannot write {path.name}: use a .csv, .tsv or .parquet name")
    if not path.parent.is_dir():
        raise DataError(f"no such directory: {path.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
