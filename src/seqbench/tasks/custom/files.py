"""Files in and out: a table (CSV/TSV/Parquet, or a DataFrame), an ``.npz`` or a UCR/UEA
``.ts`` file read and checked as a file (:data:`READERS`: one reader per suffix), and
predictions written atomically.

What the columns and arrays mean is :mod:`.reading`'s business; here a file becomes a
DataFrame or arrays of the right shapes, or a :class:`~.errors.DataError` that names the
file. pandas (and pyarrow for Parquet) are imported only when a table is read, so the rest
of seqbench works without them (``pip install 'seqbench[tables]'``).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ...files import atomic_path
from .errors import DataError, cell

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
MAX_CELL = 80   # characters of a cell a message shows


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


def source_of(source) -> str:
    """What kind of file ``source`` is: ``"table"`` (a CSV/TSV/Parquet path or a DataFrame),
    ``"npz"`` or ``"ts"`` (arrays: an .npz, a UCR/UEA .ts file).

    Raises:
        DataError: a path with a suffix no reader takes.
    """
    if not isinstance(source, (str, os.PathLike)):
        return "table"
    suffix = Path(source).suffix.lower()
    if suffix not in READERS:
        *most, last = READERS
        raise DataError(f"cannot read {Path(source).name}: use a {', '.join(most)} or {last} file")
    return READERS[suffix][0]


def is_npz(source) -> bool:
    """Whether ``source`` names a file of arrays (an .npz or a .ts), not a table."""
    return isinstance(source, (str, os.PathLike)) and source_of(source) != "table"


def _csv(path: Path, sep: str):
    pd = pandas()
    header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = [str(v) for v in header.iloc[0]] if len(header) else []
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise DataError(f"{path.name} names column{'s' if len(repeated) > 1 else ''} "
                        f"{', '.join(cell(c) for c in repeated)} more than once; give each column its own name")
    return pd.read_csv(path, sep=sep)


def _parquet(path: Path):
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError as e:  # pragma: no cover
        raise ImportError("reading Parquet files needs pyarrow: pip install 'seqbench[tables]'") from e
    return pandas().read_parquet(path)


def read_table(source):
    """A pandas DataFrame from a CSV/TSV/Parquet path, or a copy of a DataFrame.

    The index is reset to 0..n-1 so that error messages can name rows by position.
    """
    pd = pandas()
    if isinstance(source, pd.DataFrame):
        df = source.reset_index(drop=True).copy()
        repeated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        if repeated:
            raise DataError(f"the table names column {cell(repeated[0])} more than once; give each column its own name")
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"no such file: {path}")
        kind, reader = READERS.get(path.suffix.lower(), (None, None))
        if kind != "table":
            raise DataError(f"cannot read {path.name} as a table: use a {', '.join(TABLE_SUFFIXES)} file")
        try:
            df = reader(path)
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


def read_arrays(source) -> dict[str, np.ndarray]:
    """The arrays of an .npz or .ts file: ``x`` (N, T, C), ``lengths`` (N,), optional ``y``."""
    return READERS[Path(source).suffix.lower()][1](Path(source))


def read_npz(source) -> dict[str, np.ndarray]:
    """``x`` (N, T, C) numbers, optional ``lengths`` (N,) and optional ``y``, checked."""
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {path} as .npz (a truncated or damaged file?): "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return checked_arrays(arrays, path.name)


def read_ts(source) -> dict[str, np.ndarray]:
    """A UCR/UEA ``.ts`` file (equal or unequal length, uni- or multivariate) through aeon's
    reader: ``x`` (N, T, C) right-padded, ``lengths`` and ``y`` (class labels or numbers)."""
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        from aeon.datasets import load_from_ts_file
    except ImportError as e:
        raise ImportError("reading .ts files needs aeon: pip install 'seqbench[reference]'") from e
    try:
        x, y = load_from_ts_file(str(path))
    except Exception as e:  # aeon raises several types (IOError, ValueError, its own) for a bad file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot read {path.name} as a .ts file: {cell(first)}") from None
    series = [np.asarray(s, dtype=np.float64).T for s in x]   # aeon: (C, T_i) each
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    padded = np.zeros((len(series), int(lengths.max()), series[0].shape[1]))
    for i, s in enumerate(series):
        padded[i, : len(s)] = s
    arrays = {"x": padded, "lengths": lengths}
    if y is not None and len(y):
        y = np.asarray(y)
        arrays["y"] = y.astype(np.float64) if y.dtype.kind == "f" else y.astype(str)
    return checked_arrays(arrays, path.name)


def checked_arrays(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """``arrays`` of a file ``name`` checked: ``x`` (N, T, C) real numbers, ``lengths`` in [1, T]
    (default T), ``y`` one entry per sequence."""
    if "x" not in arrays:
        raise DataError(f"{name} has no array 'x' (it has: {', '.join(arrays) or 'nothing'}); "
                        "store inputs as x with shape (N, T, C)")
    x = arrays["x"]
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"x in {name} must be real numbers of shape (N, T, C), got {x.dtype} {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"x in {name} is empty: shape {x.shape}")
    n, t = x.shape[:2]
    out = {"x": x.astype(np.float64)}
    if "lengths" in arrays:
        lengths = arrays["lengths"]
        if lengths.shape != (n,) or not np.issubdtype(lengths.dtype, np.integer) or \
                lengths.min() < 1 or lengths.max() > t:
            raise DataError(f"lengths in {name} must be {n} integers in [1, {t}], got {lengths.dtype} {lengths.shape}")
        out["lengths"] = lengths.astype(np.int64)
    else:
        out["lengths"] = np.full(n, t, dtype=np.int64)
    if "y" in arrays:
        y = arrays["y"]
        if y.ndim == 0 or y.shape[0] != n:
            raise DataError(f"y in {name} must have one entry per sequence ({n}), got shape {y.shape}")
        out["y"] = y
    return out


# file suffix -> (what it holds, its reader)
READERS = {
    ".csv": ("table", lambda path: _csv(path, ",")),
    ".tsv": ("table", lambda path: _csv(path, "\t")),
    ".parquet": ("table", _parquet),
    ".pq": ("table", _parquet),
    ".npz": ("npz", read_npz),
    ".ts": ("ts", read_ts),
}


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
