"""Which column is which in a table: the training table's columns resolved (id, time,
targets, features; or a text column, one row per text) and the problem inferred when not
given; a prediction table checked against the columns the model was trained on.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .errors import DataError, cell, row_list
from .files import pandas
from .spec import MAX_INFERRED_CLASSES, Layout


def as_list(value) -> list[str]:
    """Column names from None, a name, ``"a,b"``, or a sequence of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def require_columns(df, columns: Iterable[str], role: str, keyword: str) -> None:
    """Raise naming the first column of ``columns`` the table lacks, and the ``keyword`` that chooses it."""
    for c in columns:
        if c not in df.columns:
            raise DataError(
                f"{role} column {c!r} not found (pass {keyword}=...); the file has columns: {', '.join(df.columns)}"
            )


def check_numeric(df, columns: Sequence[str], role: str, hint: str) -> None:
    """Raise naming the non-numeric columns among ``columns`` (bool counts as numeric)."""
    pd = pandas()
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        examples = []
        for c in bad[:3]:
            values = df[c].dropna()
            # the example is a value that is no number (a column of numbers read as text shows one)
            words = values[pd.to_numeric(values, errors="coerce").isna()]
            values = words if len(words) else values
            examples.append(f"{c!r} (e.g. {cell(values.iloc[0])})" if len(values) else repr(c))
        raise DataError(f"non-numeric {role} column{'s' if len(bad) > 1 else ''} {', '.join(examples)}: {hint}")


def resolve(df, *, target, kind: str | None, id_column: str | None, time_column: str | None, features,
            per_step: bool | None, notes: list[str], split_column: str | None = None) -> Layout:
    """The training table's layout: the given columns checked, the others defaulted, the
    problem inferred (``notes`` says how). ``per_step`` and ``classes`` are left for the
    reader to settle from the target values. The ``split_column`` is no feature."""
    cols = list(df.columns)
    if id_column is None and "sequence_id" in cols:
        id_column = "sequence_id"
    if time_column is None and "time" in cols:
        time_column = "time"
    for column, role, keyword in ((id_column, "id", "id_column"), (time_column, "time", "time_column"),
                                  (split_column, "split", "split_column")):
        if column is not None:
            require_columns(df, [column], role, keyword)
    if kind is not None and kind != "forecast" and id_column is None:
        raise DataError(f"{kind} needs many sequences told apart by an id column: the file has no "
                        f"'sequence_id' column (pass id_column=...), or use task='forecast' for one long series")
    kind = kind or ("forecast" if id_column is None else None)
    targets = as_list(target)
    structural = {c for c in (id_column, time_column, split_column) if c is not None}
    if not targets:
        numeric = [c for c in cols if c not in structural and df[c].dtype.kind in "biuf"]
        if kind == "forecast" and len(numeric) == 1:
            targets = numeric
        else:
            raise DataError(f"pass target=...: the column to predict (the file has columns: {', '.join(cols)})")
    require_columns(df, targets, "target", "target")
    if structural & set(targets):
        raise DataError(f"target column {sorted(structural & set(targets))[0]!r} is also the id, time or split column")
    kind = target_kind(df, targets, kind, notes)
    if kind == "forecast":
        if per_step:
            raise DataError("per_step does not apply to forecasting")
        inputs = as_list(features) or [c for c in cols if c not in structural]
        inputs = list(dict.fromkeys(inputs + targets))  # the target's own past is always an input
    else:
        inputs = as_list(features) or [c for c in cols if c not in structural and c not in targets]
        if not inputs:
            raise DataError(f"no feature columns: the file has only {', '.join(cols)}")
    require_columns(df, inputs, "feature", "features")
    if set(inputs) & structural:
        raise DataError(f"feature column {sorted(set(inputs) & structural)[0]!r} is also the id, time or split column")
    if kind != "forecast" and set(inputs) & set(targets):
        raise DataError(f"target column {sorted(set(inputs) & set(targets))[0]!r} is also a feature")
    check_numeric(df, inputs, "feature",
                  "features must be numbers; encode them as numbers or choose columns with features=...")
    if kind in ("regress", "forecast"):
        check_numeric(df, targets, "target", f"{kind} needs numbers to predict; use task='classify' for labels")
    return Layout(kind=kind, source="table", features=inputs, targets=targets, id_column=id_column,
                  time_column=time_column)


def resolve_text(df, *, text: str, target, kind: str | None, id_column: str | None, time_column: str | None,
                 features, per_step: bool | None, notes: list[str], split_column: str | None = None) -> Layout:
    """The layout of a table of texts: one row per text, the ``text`` column the only input,
    ``target`` a label (classify) or number(s) (regress) per text, an optional id column
    (default ``sequence_id`` when present) naming each text."""
    cols = list(df.columns)
    require_columns(df, [text], "text", "text")
    if kind == "forecast":
        raise DataError("forecasting reads numeric series; a text column takes task='classify' or task='regress'")
    if features is not None:
        raise DataError("features=... does not apply to text: the models read the text column alone (text=...)")
    if time_column is not None:
        raise DataError("time_column=... does not apply to text: a text table has one row per text")
    if per_step:
        raise DataError("per_step does not apply to text: one target per text")
    pd = pandas()
    if pd.api.types.is_numeric_dtype(df[text]) or pd.api.types.is_bool_dtype(df[text]):
        values = df[text].dropna()
        if not len(values):
            raise DataError(f"text column {text!r} has no texts: every cell is empty")
        raise DataError(f"text column {text!r} holds numbers (e.g. {values.iloc[0]!r}), not text; "
                        "pass text=... with the column of texts")
    if id_column is None and "sequence_id" in cols:
        id_column = "sequence_id"
    if id_column is not None:
        require_columns(df, [id_column], "id", "id_column")
        repeated = df[id_column].duplicated(keep=False).to_numpy()
        if repeated.any():
            first = df[id_column][repeated].iloc[0]
            raise DataError(f"id column {id_column!r} repeats {cell(first)} ({row_list(df.index[repeated])}): "
                            "a table of texts has one row per text")
        if id_column == text:
            raise DataError(f"text column {text!r} is also the id column")
    targets = as_list(target)
    if not targets:
        raise DataError(f"pass target=...: the column to predict (the file has columns: {', '.join(cols)})")
    require_columns(df, targets, "target", "target")
    if split_column is not None:
        require_columns(df, [split_column], "split", "split_column")
    for role, column in (("text", text), ("id", id_column), ("split", split_column)):
        if column in targets:
            raise DataError(f"target column {column!r} is also the {role} column")
    if split_column is not None and split_column in (text, id_column):
        raise DataError(f"split column {split_column!r} is also the text or id column")
    kind = target_kind(df, targets, kind, notes)
    if kind == "regress":
        check_numeric(df, targets, "target", "regress needs numbers to predict; use task='classify' for labels")
    return Layout(kind=kind, source="table", features=[text], targets=targets, id_column=id_column, text=text)


def target_kind(df, targets: list[str], kind: str | None, notes: list[str]) -> str:
    """The problem: ``kind`` as given, or inferred from the first target column; classes come
    from one column."""
    if kind is None:
        kind = infer_kind(df[targets[0]], targets[0], notes)
    if kind == "classify" and len(targets) != 1:
        raise DataError(f"classify takes one target column, got {len(targets)}: {', '.join(targets)}")
    return kind


def infer_kind(column, name: str, notes: list[str]) -> str:
    """classify for labels (text, bool, or at most MAX_INFERRED_CLASSES whole numbers), else regress."""
    values = column.dropna()
    if values.dtype.kind in "biuf" and values.dtype.kind != "b":
        finite = values[np.isfinite(values.to_numpy(dtype=np.float64))]
        integral = bool((finite == np.round(finite)).all())
        n = finite.nunique()
        if not (integral and n <= MAX_INFERRED_CLASSES):
            notes.append(f"task inferred: regress (target {name!r} holds numbers); pass task=... to choose")
            return "regress"
        notes.append(f"task inferred: classify (target {name!r} holds {n} whole numbers); "
                     "pass task='regress' if they are quantities")
        return "classify"
    notes.append(f"task inferred: classify (target {name!r} holds labels); pass task=... to choose")
    return "classify"


def check_trained(df, layout: Layout, name: str) -> None:
    """Raise unless a prediction table has the id, time and feature columns of ``layout``,
    with numbers in the features, or its text column (``name``: the file, for the messages)."""
    for column, role in ((layout.id_column, "id"), (layout.time_column, "time")):
        if column is not None and column not in df.columns:
            raise DataError(f"mismatched columns: {name} lacks the {role} column {column!r} the model was trained with")
    if layout.text is not None:
        if layout.text not in df.columns:
            raise DataError(f"mismatched columns: {name} lacks the text column {layout.text!r} the model was trained on "
                            f"(it has: {', '.join(df.columns)})")
        return
    missing = [c for c in layout.features if c not in df.columns]
    if missing:
        raise DataError(f"mismatched columns: {name} lacks feature column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(map(repr, missing))} the model was trained on "
                        f"(it needs: {', '.join(layout.features)})")
    check_numeric(df, layout.features, "feature", "the model was trained on numbers in these columns")
