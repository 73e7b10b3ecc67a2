"""The one reader of the user's files, for training and for prediction alike.

A table (CSV/TSV/Parquet or a DataFrame; one row per step) or an ``.npz`` (``x``, optional
``lengths`` and ``y``) becomes :class:`Sequences`, raw float arrays one per sequence (or
series) in time order, with the missing-value policy applied, and a
:class:`~.spec.Layout` that says what the columns are. A table of texts (one row per text,
``text=...``) becomes one token list per text (:mod:`.text`). Training resolves the layout from
the file (:func:`read_training`); prediction reads a new file with the trained layout and
policy (:func:`read_inputs`). Both go through the same grouping and repair steps, so a file
is read the same way by both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from . import columns
from .errors import DataError, cell, row_list
from .files import display_name, is_npz, pandas, read_arrays, read_table, source_of
from .missing import REMEDY, apply_to_table, repair
from ..base import SPLITS
from .spec import MAX_CLASSES, Layout
from .text import tokenize

if TYPE_CHECKING:
    from .spec import CustomSpec


@dataclass
class Sequences:
    """What the reader found, one entry per sequence (or series), unscaled.

    Attributes:
        ids: sequence ids (None for a single unnamed series; indices for an .npz).
        x: (T_i, C) float64 inputs, the layout's features in order; for text, each text's
            tokens (a list of str, not yet cut to a length nor looked up).
        y: per sequence: a class index or (K,) floats; per step: (T_i,) indices or (T_i, K)
            floats; None when reading inputs only.
        times: the time column of each sequence (a pandas Series), when read for prediction
            or a forecast.
        marks: the split column's value of each sequence (``"train"``, ``"valid"``,
            ``"test"``), when there is one.
        notes: what reading did that the user should hear of (inferred, filled, dropped).
    """

    ids: list
    x: list[np.ndarray]
    y: list | None = None
    times: list | None = None
    notes: list[str] = field(default_factory=list)
    marks: list[str] | None = None

    def __add__(self, other: "Sequences") -> "Sequences":
        """These sequences, then ``other``'s (a test file's after a training file's)."""
        join = lambda a, b: None if a is None or b is None else list(a) + list(b)  # noqa: E731
        return Sequences(self.ids + other.ids, self.x + other.x, join(self.y, other.y),
                         join(self.times, other.times), self.notes + other.notes)


def read_training(file, *, target=None, task: str | None = None, id_column: str | None = None,
                  time_column: str | None = None, features=None, per_step: bool | None = None,
                  fill: str | None = None, drop: bool = False, text: str | None = None,
                  tokens: str = "word", split_column: str | None = None) -> tuple[Layout, Sequences]:
    """The layout and sequences (with targets) of a training file; the options are
    :class:`~.task.CustomTask`'s."""
    notes: list[str] = []
    if split_column is not None and is_npz(file):
        raise DataError("split_column=... names a table's column; an .npz or .ts file has none: "
                        "pass test_file=... for a fixed test set")
    if text is not None:
        if is_npz(file):
            raise DataError("text=... names a table's column of texts; an .npz holds numbers only")
        if fill is not None:
            raise DataError("fill=... repairs numbers and does not apply to text: a missing text is dropped "
                            "with drop=True, or an error")
        layout, data = _training_texts(file, text, tokens, target, task, id_column, time_column, features,
                                       per_step, drop, notes, split_column)
    elif is_npz(file):
        layout, data = _training_npz(file, target, task, features, per_step, fill, drop, notes)
    else:
        layout, data = _training_table(file, target, task, id_column, time_column, features, per_step,
                                       fill, drop, notes, split_column)
    data.notes = notes
    return layout, data


def read_test(file, layout: Layout, *, fill: str | None, drop: bool, tokens: str = "word") -> Sequences:
    """The sequences (with targets) of a test file with the training file's columns, read as
    the training file was; class labels are the training file's indices.

    Raises:
        DataError: prefixed with the test file's name: a column missing, a class the
            training file does not hold, or any problem of a training file.
    """
    name = display_name(file)
    try:
        if (layout.source == "table") != (source_of(file) == "table"):
            raise DataError(f"the training file is {'a table' if layout.source == 'table' else 'arrays'}; "
                            "give the test file in the same format")
        arrays = layout.source != "table"
        test_layout, data = read_training(
            file, target=None if arrays else list(layout.targets), task=layout.kind, id_column=layout.id_column,
            time_column=layout.time_column, per_step=layout.per_step, fill=fill, drop=drop, text=layout.text,
            tokens=tokens, features=None if arrays or layout.text else list(layout.features))
        if test_layout.features != layout.features or test_layout.targets != layout.targets:
            raise DataError(f"it has features {', '.join(test_layout.features)} and targets "
                            f"{', '.join(test_layout.targets)}; the training file {', '.join(layout.features)} and "
                            f"{', '.join(layout.targets)}")
    except DataError as e:
        raise DataError(f"test file {name}: {e}") from None
    if layout.kind == "classify":
        index = {c: i for i, c in enumerate(layout.classes)}
        unknown = [c for c in test_layout.classes if c not in index]
        if unknown:
            raise DataError(f"test file {name} holds class {cell(unknown[0])}, which the training file does not; "
                            "a model cannot learn a class it never sees")
        remap = np.array([index[c] for c in test_layout.classes], dtype=np.int64)
        data.y = [remap[y] for y in data.y]
    return data


def read_inputs(file, spec: "CustomSpec") -> Sequences:
    """The inputs of a new file with the columns ``spec`` was trained on, read with its
    missing-value policy, and each sequence's times (for forecasts' future times)."""
    notes: list[str] = []
    if spec.text is not None:
        data = _input_texts(file, spec, notes)
    else:
        data = _inputs_arrays(file, spec, notes) if is_npz(file) else _inputs_table(file, spec, notes)
    data.notes = notes
    return data


# -- tables ----------------------------------------------------------------------------------
def _sequences_of(df, layout: Layout, labels, fill, drop, notes, name: str) -> Iterator[tuple[Any, Any, np.ndarray]]:
    """``(id, rows, x)`` per sequence in order of first appearance, rows in time order,
    ``x`` the features as floats with the policy applied; ``labels``: target columns whose
    rows are dropped, never filled, when missing.

    The one place a table's inputs are taken from its rows, for training and prediction
    alike: a new kind of input column is read here once.
    """
    features = list(layout.features)
    check_magnitude(df, features + ([] if layout.kind == "classify" else list(labels)), name)
    df = apply_to_table(df, features, labels, fill, drop, notes)
    for key, rows in sorted_groups(df, layout.id_column, layout.time_column):
        x = rows[features].to_numpy(dtype=np.float64, na_value=np.nan)
        if fill is not None:
            x = repair(x, fill, key, features, layout.id_column)
        yield key, rows, x


def _training_table(file, target, kind, id_column, time_column, features, per_step, fill, drop, notes,
                    split_column=None):
    df = read_table(file)
    layout = columns.resolve(df, target=target, kind=kind, id_column=id_column, time_column=time_column,
                             features=features, per_step=per_step, notes=notes, split_column=split_column)
    kind, targets = layout.kind, list(layout.targets)
    if kind == "forecast" and split_column is not None:
        raise DataError("split_column=... places whole sequences; for a series pass test_size=... or cutoff=...")
    labels = [] if kind == "forecast" else targets  # a forecast's targets are inputs too: filled like them
    ids, xs, ys, times, marks = [], [], [], [], []
    for key, rows, x in _sequences_of(df, layout, labels, fill, drop, notes, display_name(file)):
        ids.append(key)
        xs.append(x)
        if split_column is not None:
            marks.append(mark_of(rows[split_column], split_column, key))
        if kind != "forecast":
            ys.append(rows[targets].to_numpy() if kind == "classify" else rows[targets].to_numpy(dtype=np.float64))
        elif layout.time_column is not None:  # a cutoff is a time value
            times.append(rows[layout.time_column].reset_index(drop=True))
    if kind == "forecast":
        return layout, Sequences(ids, xs, times=times or None)
    varying = any(len(np.unique(y.astype(str) if kind == "classify" else y, axis=0)) > 1 for y in ys)
    stepwise = varying if per_step is None else bool(per_step)
    if varying and not stepwise:
        raise DataError(f"target {targets[0]!r} changes within a sequence, so it cannot be one label per sequence "
                        "(leave per_step unset for per-step labelling)")
    if per_step is None and varying:
        notes.append(f"target {targets[0]!r} changes within sequences: one prediction per step")
    if kind == "classify":
        ys = [y[:, 0] for y in ys]
    if not stepwise:
        ys = [y[-1] for y in ys]  # the same in every row of the sequence
    classes, ys = encode_classes(kind, ys)
    return replace(layout, per_step=stepwise, classes=classes), Sequences(ids, xs, ys, marks=marks or None)


def _inputs_table(file, spec: "CustomSpec", notes) -> Sequences:
    if spec.source != "table":
        raise DataError("mismatched file: this model was trained on an .npz; predict from an .npz with x")
    df = read_table(file)
    name = display_name(file)
    columns.check_trained(df, spec, name)
    ids, xs, times = [], [], []
    for key, rows, x in _sequences_of(df, spec, [], spec.fill, spec.drop, notes, name):
        if spec.kind == "forecast" and len(x) < spec.input_length:
            what = f"series {cell(key)}" if spec.id_column else "the series"
            raise DataError(f"{name} too short: {what} has {len(x)} rows; forecasting needs the last "
                            f"input_length = {spec.input_length}")
        ids.append(key)
        xs.append(x)
        # sorted_groups parsed the times already: numbers or datetimes
        times.append(None if spec.time_column is None else rows[spec.time_column].reset_index(drop=True))
    return Sequences(ids, xs, times=times)


# -- texts -----------------------------------------------------------------------------------
def _texts_of(df, layout: Layout, tokens: str, labels, drop: bool, notes) -> tuple[Any, list, list[list[str]]]:
    """``(rows, ids, token lists)`` of a table of texts, one per row in file order; ``rows``
    the table without the rows dropped (``drop``: a missing text or label).

    The one place a text column is read, for training and prediction alike. A row's id is
    its id column's value, or its position in the file (counting from 0 below the header).
    """
    column = layout.text
    missing = df[column].isna().to_numpy()
    if missing.any() and not drop:
        raise DataError(f"missing text in {column!r} at {row_list(df.index[missing])} (counting rows from 0 below "
                        "the header); pass drop=True to drop those rows")
    df = apply_to_table(df, [column], labels, None, drop, notes)
    ids = [plain(v) for v in (df[layout.id_column] if layout.id_column else df.index)]
    texts = [tokenize(str(v), tokens) for v in df[column]]
    empty = [key for key, t in zip(ids, texts) if not t]
    if empty:
        what = ", ".join(map(cell, empty[:5])) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        where = f"{layout.id_column} {what}" if layout.id_column else row_list(empty)
        notes.append(f"{len(empty)} text(s) hold no {tokens} token ({where}): each reads as one unknown token")
    return df, ids, texts


def _training_texts(file, text, tokens, target, kind, id_column, time_column, features, per_step, drop, notes,
                    split_column=None):
    df = read_table(file)
    layout = columns.resolve_text(df, text=text, target=target, kind=kind, id_column=id_column,
                                  time_column=time_column, features=features, per_step=per_step, notes=notes,
                                  split_column=split_column)
    targets = list(layout.targets)
    if layout.kind == "regress":
        check_magnitude(df, targets, display_name(file))
    df, ids, texts = _texts_of(df, layout, tokens, targets, drop, notes)
    marks = None if split_column is None else [mark_of(df[split_column].iloc[[i]], split_column, key)
                                                 for i, key in enumerate(ids)]
    if layout.kind == "classify":
        ys = list(df[targets[0]].to_numpy())
    else:
        ys = list(df[targets].to_numpy(dtype=np.float64))
    classes, ys = encode_classes(layout.kind, ys)
    return replace(layout, classes=classes), Sequences(ids, texts, ys, marks=marks)


def _input_texts(file, spec: "CustomSpec", notes) -> Sequences:
    df = read_table(file)
    columns.check_trained(df, spec, display_name(file))
    _, ids, texts = _texts_of(df, spec, spec.text_encoder.tokens, [], spec.drop, notes)
    return Sequences(ids, texts, times=[None] * len(texts))


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
            f"time column {column!r} is neither numbers nor dates (e.g. {cell(example)}); "
            "pass time_column=... with the right column"
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
                where = f" in sequence {cell(key)}" if id_column is not None else ""
                raise DataError(
                    f"time column {time_column!r} repeats {cell(plain(rows[time_column].iloc[int(np.flatnonzero(dup)[0])]))}"
                    f"{where} ({row_list(rows.index[dup])}); each step needs its own time"
                )
        out.append((plain(key), rows))
    return out


# -- .npz ------------------------------------------------------------------------------------
def _npz_sequences(x, lengths, features, fill, drop, remedy: str, notes, name: str, bad_targets=None):
    """``(ids, xs)`` of the .npz sequences cut to their lengths, with the policy applied to
    NaN/inf inputs; ``bad_targets[i]``: sequence ``i``'s target is missing (dropped, or an error)."""
    ids, xs = [], []
    for i in range(len(x)):
        xi = x[i, : lengths[i]].astype(np.float64)
        check_magnitude_array(xi, "x", name, f"sequence {i}")
        bad_steps = np.flatnonzero(~np.isfinite(xi).all(axis=1))
        bad_y = bad_targets is not None and bad_targets[i]
        if bad_y or len(bad_steps):
            if drop:
                continue
            if bad_y:
                raise DataError(f"NaN/inf values in y of sequence {i}; a target is never filled in: pass drop=True")
            if fill is None:
                raise DataError(f"NaN/inf values in x of sequence {i} at "
                                f"{row_list(bad_steps).replace('row', 'step')}; {remedy}")
            xi = repair(xi, fill, i, features, "index")
        ids.append(i)
        xs.append(xi)
    if len(ids) < len(x):
        notes.append(f"dropped {len(x) - len(ids)} of {len(x)} sequences with NaN/inf values (drop=True)")
    if not xs:
        raise DataError("no sequences left after dropping those with NaN/inf values")
    return ids, xs


def _training_npz(file, target, kind, features, per_step, fill, drop, notes):
    if kind == "forecast":
        raise DataError("forecasting reads one long series from a table (.csv or .parquet), not an .npz")
    if target is not None or features is not None:
        raise DataError("an .npz holds its own inputs (x) and targets (y): leave out target=... and features=...")
    arrays = read_arrays(file)
    x, lengths = arrays["x"], arrays["lengths"]
    if "y" not in arrays:
        raise DataError(f"{display_name(file)} has no array 'y': training needs the targets")
    y = arrays["y"]
    n, t, c = x.shape
    labels = y.dtype.kind in "US"  # a .ts file's class labels
    if kind is None:
        kind = "classify" if y.dtype.kind in "biuUS" else "regress"
        held = "labels" if labels else "integers" if kind == "classify" else "numbers"
        notes.append(f"task inferred: {kind} (y holds {held}); pass task=... to choose")
    if y.dtype.kind not in "biuf" and not (labels and kind == "classify"):
        raise DataError(f"y must hold numbers{' to regress' if labels else ''}, got dtype {y.dtype}")
    step_shaped = y.ndim == 3 or (y.ndim == 2 and y.shape[1] == t)
    stepwise = step_shaped if per_step is None else bool(per_step)
    if stepwise and not step_shaped:
        raise DataError(f"per-step targets need y of shape (N, T) or (N, T, K) with T = {t}, got {y.shape}")
    if kind == "classify" and (y.ndim > (2 if stepwise else 1) or not labels and
                               (not np.all(np.isfinite(y)) or not np.all(y == np.round(y)))):
        raise DataError(f"classify needs whole-number class labels in y of shape (N,) or (N, T), got {y.dtype} {y.shape}")
    names = [f"x{j}" for j in range(c)]
    targets = [y[i, : lengths[i]] if stepwise else y[i] for i in range(n)]
    bad = [kind == "regress" and not np.all(np.isfinite(yi)) for yi in targets]
    ids, xs = _npz_sequences(x, lengths, names, fill, drop, REMEDY, notes, display_name(file), bad_targets=bad)
    ys = []
    for i, xi in zip(ids, xs):
        yi = np.asarray(targets[i])
        if kind == "regress":
            yi = yi.astype(np.float64).reshape((len(xi), -1) if stepwise else (-1,))
        ys.append(yi)
    k = 1 if kind == "classify" else ys[0].shape[-1]
    classes, ys = encode_classes(kind, ys)
    if kind == "regress":
        check_magnitude_array(np.concatenate([np.reshape(y, (-1,)) for y in ys]), "y", display_name(file))
    layout = Layout(kind=kind, source=source_of(file), features=names,
                    targets=["y"] if k == 1 else [f"y{j}" for j in range(k)],
                    per_step=stepwise, classes=classes)
    return layout, Sequences(ids, xs, ys)


def _inputs_arrays(file, spec: "CustomSpec", notes) -> Sequences:
    if spec.source == "table":
        raise DataError(f"mismatched file: this model was trained on a table with columns "
                        f"{', '.join(spec.features)}; predict from a .csv or .parquet")
    arrays = read_arrays(file)
    x, lengths = arrays["x"], arrays["lengths"]
    if x.shape[2] != len(spec.features):
        raise DataError(f"mismatched columns: the model was trained on {len(spec.features)} features per step, "
                        f"{display_name(file)}'s x has {x.shape[2]}")
    ids, xs = _npz_sequences(x, lengths, list(spec.features), spec.fill, spec.drop,
                             "the model was trained without fill=... or drop=True", notes, display_name(file))
    return Sequences(ids, xs, times=[None] * len(xs))


# -- checks ----------------------------------------------------------------------------------
# a finite value beyond this is refused: its square, summed over a column, overflows float64
# while fitting the standardisation, and the scaled model inputs turn inf or 0
MAX_MAGNITUDE = 1e150


def _too_large(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) > MAX_MAGNITUDE)


def check_magnitude(df, columns, name: str) -> None:
    """Raise naming the file, row and column of the first finite value beyond
    :data:`MAX_MAGNITUDE` among the numeric ``columns`` of ``df``."""
    pd = pandas()
    for c in columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        big = _too_large(df[c].to_numpy(dtype=np.float64, na_value=np.nan))
        if big.any():
            row = int(np.flatnonzero(big)[0])
            raise DataError(f"{name}: value {df[c].iloc[row]:g} in column {c!r} at row {df.index[row]} (counting from 0 "
                            f"below the header) is too large to standardise; values must lie within "
                            f"+-{MAX_MAGNITUDE:g}: rescale the column")


def check_magnitude_array(values: np.ndarray, array: str, name: str, where: str = "") -> None:
    """:func:`check_magnitude` for an array ``array`` of a file (``where``: which sequence)."""
    big = _too_large(np.asarray(values, dtype=np.float64))
    if big.any():
        value = np.asarray(values, dtype=np.float64)[big][0]
        raise DataError(f"{name}: value {value:g} in {array}{' of ' + where if where else ''} is too large to "
                        f"standardise; values must lie within +-{MAX_MAGNITUDE:g}: rescale it")


def mark_of(values, column: str, key) -> str:
    """The split (train, valid or test) the split column's ``values`` give one sequence."""
    marks = {str(v).strip().lower() for v in values}
    if len(marks) != 1:
        raise DataError(f"split column {column!r} gives sequence {cell(key)} more than one split "
                        f"({', '.join(sorted(marks))}); a sequence lies in one split")
    mark = marks.pop()
    if mark not in SPLITS:
        raise DataError(f"split column {column!r} holds {cell(mark)} (sequence {cell(key)}); its values are "
                        f"{', '.join(SPLITS)}")
    return mark


# -- targets ---------------------------------------------------------------------------------
def plain(value):
    """numpy scalars -> Python scalars, so ids and classes are JSON-able."""
    return value.item() if isinstance(value, np.generic) else value


def encode_classes(kind: str, ys: list) -> tuple[tuple | None, list]:
    """``(classes, ys)``: class labels as indices into the sorted classes; other targets as they are."""
    if kind != "classify":
        return None, ys
    unique = list(dict.fromkeys(plain(v) for v in np.concatenate([np.atleast_1d(y) for y in ys])))
    try:
        classes = sorted(unique)
    except TypeError:
        classes = sorted(unique, key=str)
    if len(classes) < 2:
        raise DataError(f"classify needs at least two classes; the target holds only {cell(classes[0])}")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"the target holds {len(classes)} distinct values: too many classes; "
                        "did you mean task='regress'?")
    index = {c: i for i, c in enumerate(classes)}
    return tuple(classes), [np.array([index[plain(v)] for v in np.atleast_1d(y)], dtype=np.int64).reshape(np.shape(y))
                            for y in ys]
