"""Files in and out: a table (CSV/TSV/Parquet, or a DataFrame) or an ``.npz`` read and
checked as a file, and predictions written atomically.

What the columns and arrays mean is :mod:`.reading`'s business; here a file becomes a
DataFrame or arrays of the right shapes, or a :class:`~.errors.DataError` that names the
file. pandas (and pyarrow for Parquet) are imported only when a table is read, so the rest
of seqbench works without them (``pip install 'seqbench[tables]'``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...files import atomic_path
from .errors import DataError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


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
    """Whether ``source`` names an .npz file (a DataFrame or a table path does not)."""
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
    with atomic_path(path) as tmp:
        if suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
    return path
