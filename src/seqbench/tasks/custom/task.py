"""The ``custom`` task: the suite's training, comparison and prediction on the user's own data.

Three problems, read from a file with no code:

* **classify** - many sequences, one class per sequence (cross-entropy, accuracy), or one
  class per step ("per-step labelling") when the target changes within a sequence.
* **regress** - many sequences, one value (or vector) per sequence or per step (MSE).
* **forecast** - one long series (or several, told apart by an id column): windows of
  ``input_length`` steps predict the next ``horizon`` steps of the target column(s).

Files: a long-format CSV/TSV/Parquet table (one row per step: ``sequence_id``, ``time``,
feature columns, target column), or, for many sequences, an ``.npz`` with ``x`` (N, T, C),
optional ``lengths`` (N,) and ``y``. A pandas DataFrame works in place of a table path.

What the task guarantees:

* Splits never leak. Sequences are split at random (seeded) into train/valid/test; a
  forecast series is split in time order (valid and test are the later stretches; their
  windows may look back into the earlier stretch for inputs, never for targets).
* Features (and regression/forecast targets) are standardised with the mean and standard
  deviation of the **train split only**; the statistics live in :meth:`CustomTask.state`,
  a JSON-able dict a checkpoint carries, from which :meth:`CustomTask.from_state` rebuilds
  the task to :meth:`~CustomTask.predict` on new files.
* Metrics: accuracy (and NLL) for classes; for numbers ``nmse``, the MSE of the standardised
  target (the training loss; 1.0 is about what always predicting the train mean scores),
  then RMSE and MAE in the target's own units.
* The default TCN is the smallest (:func:`seqbench.nn.plan_tcn`) whose receptive field
  covers the input length; a TCN that does not cover it gets a :class:`ReceptiveFieldWarning`
  with the plan that would.

Every problem with the data raises :class:`~seqbench.tasks.custom.DataError` with a
one-line message naming it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ...nn import TCNPlan, plan_tcn, receptive_field
from . import data as cd
from ..base import Metric, Preset, Task, pad_collate
from .data import DataError

KINDS = ("classify", "regress", "forecast")
DEFAULT_SPLIT = {"sequences": (0.8, 0.1, 0.1), "forecast": (0.7, 0.15, 0.15)}
DEFAULT_INPUT_LENGTH = 64      # forecast history when none is given
DEFAULT_HIDDEN = 32            # channels of the default TCN: small data, small model
MAX_INFERRED_CLASSES = 20      # an integer target with more distinct values is taken as a regression
MAX_CLASSES = 10_000
STATE_VERSION = 1


class ReceptiveFieldWarning(UserWarning):
    """The TCN sees fewer past steps than the input holds."""


@dataclass
class _Prepared:
    """Checked data before splitting: raw (unscaled) float arrays, one per sequence or series."""

    ids: list            # sequence ids (None for a single unnamed series); indices for .npz
    x: list              # (T_i, C) float64 inputs
    y: list | None       # per sequence: (K,) floats or a class index; per step: (T_i, K) or (T_i,)


class _ItemDataset(Dataset):
    """Precomputed items (dicts of tensors), one per sequence."""

    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        return self.items[i]


class _WindowDataset(Dataset):
    """Sliding windows over scaled series: ``x`` (input_length, C), ``y`` (horizon * K,).

    Windows are sliced on demand, so a long series costs its own memory once, not once per window.
    """

    def __init__(self, series: list[torch.Tensor], starts: list[tuple[int, int]], input_length: int,
                 horizon: int, target_index: Sequence[int]) -> None:
        self.series, self.starts = series, starts
        self.length, self.horizon = input_length, horizon
        self.target_index = torch.as_tensor(list(target_index))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        s, start = self.starts[i]
        series = self.series[s]
        end = start + self.length
        return {"x": series[start:end], "y": series[end:end + self.horizon, self.target_index].reshape(-1)}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _check_split(split) -> tuple[float, float, float]:
    try:
        fractions = tuple(float(f) for f in split)
    except (TypeError, ValueError):
        raise DataError(f"split must be three fractions train, valid, test, got {split!r}") from None
    if len(fractions) != 3 or any(not (0 < f < 1) for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f"split must be three fractions in (0, 1) that add up to 1, got {split!r}")
    return fractions


def _sorted_classes(values) -> list:
    unique = list(dict.fromkeys(cd.plain_list(values)))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


class CustomTask(Task):
    """A task built from the user's file; see the module docstring. Prefer :func:`custom`.

    Args:
        file: a ``.csv``/``.tsv``/``.parquet`` table, an ``.npz``, or a pandas DataFrame.
        target: the column(s) to predict (a name, a list, or ``"a,b"``); may be left out
            when forecasting a table with one value column, or for an ``.npz`` (its ``y``).
        task: ``"classify"``, ``"regress"`` or ``"forecast"``; inferred when left out (no id
            column: forecast; a text, bool, or integer target with at most 20 values:
            classify; otherwise regress). :meth:`describe` says what was inferred.
        id_column: the column telling sequences apart (default ``"sequence_id"`` when present).
        time_column: the column ordering steps (default ``"time"`` when present; numbers or dates).
        features: input columns (default: every other column).
        input_length: forecast window length (default 64); for many sequences, the history the
            TCN must cover (default: the longest training sequence).
        horizon: steps to forecast (default 1).
        fill: repair NaN/inf in inputs: ``"ffill"``, ``"interpolate"`` or ``"zero"``.
        drop: drop rows (``.npz``: sequences) with NaN/inf instead.
        split: train/valid/test fractions (default 0.8/0.1/0.1 of sequences, 0.7/0.15/0.15 of a series).
        seed: the seed of the random sequence split.
        per_step: force (or forbid) one target per step; inferred by default.
        hidden_size: channels of the default TCN.
    """

    name = "custom"

    def __init__(self, data_dir=None, *, file=None, target=None, task: str | None = None,
                 id_column: str | None = None, time_column: str | None = None, features=None,
                 input_length: int | None = None, horizon: int = 1, fill: str | None = None,
                 drop: bool = False, split=None, seed: int = 0, per_step: bool | None = None,
                 hidden_size: int = DEFAULT_HIDDEN) -> None:
        if file is None:
            raise DataError("the custom task needs a file (--file): a .csv, .parquet or .npz")
        if task is not None and task not in KINDS:
            raise DataError(f"task must be one of {', '.join(KINDS)}, got {task!r}")
        for name, value in (("horizon", horizon), ("hidden_size", hidden_size)) + \
                ((("input_length", input_length),) if input_length is not None else ()):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"{name} must be a positive integer, got {value!r}")
        cd.check_policy(fill, drop)
        label = str(file) if not hasattr(file, "columns") else "<DataFrame>"
        super().__init__(data_dir)
        self.notes: list[str] = []
        spec: dict[str, Any] = {"version": STATE_VERSION, "fill": fill, "drop": bool(drop),
                                "hidden_size": hidden_size, "horizon": horizon}
        if cd.is_npz(file):
            data = self._load_npz(file, spec, target, task, features, per_step, fill, drop)
        else:
            data = self._load_table(file, spec, target, task, id_column, time_column, features,
                                    per_step, fill, drop)
        kind = spec["kind"]
        fractions = _check_split(split if split is not None else
                                 DEFAULT_SPLIT["forecast" if kind == "forecast" else "sequences"])
        if kind == "forecast":
            spec["input_length"] = input_length or DEFAULT_INPUT_LENGTH
            self._datasets = self._forecast_splits(data, spec, fractions)
        else:
            self._datasets = self._sequence_splits(data, spec, fractions, seed, input_length)
        self._setup(spec)
        # the variant as resolved (what was inferred included), without the unset options
        self.variant = {k: v for k, v in dict(
            file=label, target=",".join(spec["targets"]), task=kind, id_column=spec["id_column"],
            time_column=spec["time_column"], features=features, input_length=spec["input_length"],
            horizon=horizon if kind == "forecast" else None, fill=fill, drop=drop or None,
            split=list(split) if split is not None else None, seed=seed or None, per_step=per_step,
            hidden_size=hidden_size if hidden_size != DEFAULT_HIDDEN else None).items() if v is not None}

    # -- reading --------------------------------------------------------------------------
    def _load_table(self, file, spec, target, kind, id_column, time_column, features, per_step,
                    fill, drop) -> _Prepared:
        df = cd.read_table(file)
        cols = list(df.columns)
        if id_column is None and "sequence_id" in cols:
            id_column = "sequence_id"
        if time_column is None and "time" in cols:
            time_column = "time"
        for column, role, option in ((id_column, "id", "--id-column"), (time_column, "time", "--time-column")):
            if column is not None:
                cd.require_columns(df, [column], role, option)
        if kind is not None and kind != "forecast" and id_column is None:
            raise DataError(f"{kind} needs many sequences told apart by an id column: the file has no "
                            f"'sequence_id' column (pass --id-column), or use --task forecast for one long series")
        kind = kind or ("forecast" if id_column is None else None)
        targets = _as_list(target)
        structural = {c for c in (id_column, time_column) if c is not None}
        if not targets:
            numeric = [c for c in cols if c not in structural and df[c].dtype.kind in "biuf"]
            if kind == "forecast" and len(numeric) == 1:
                targets = numeric
            else:
                raise DataError(f"pass --target: the column to predict (the file has columns: {', '.join(cols)})")
        cd.require_columns(df, targets, "target", "--target")
        if structural & set(targets):
            raise DataError(f"target column {sorted(structural & set(targets))[0]!r} is also the id or time column")
        if kind is None:
            kind = self._infer_kind(df[targets[0]], targets[0])
        if kind == "classify" and len(targets) != 1:
            raise DataError(f"classify takes one target column, got {len(targets)}: {', '.join(targets)}")
        if kind == "forecast":
            if per_step:
                raise DataError("per_step does not apply to forecasting")
            inputs = _as_list(features) or [c for c in cols if c not in structural]
            inputs = list(dict.fromkeys(inputs + targets))  # the target's own past is always an input
        else:
            inputs = _as_list(features) or [c for c in cols if c not in structural and c not in targets]
            if not inputs:
                raise DataError(f"no feature columns: the file has only {', '.join(cols)}")
        cd.require_columns(df, inputs, "feature", "--features")
        if set(inputs) & structural:
            raise DataError(f"feature column {sorted(set(inputs) & structural)[0]!r} is also the id or time column")
        if kind != "forecast" and set(inputs) & set(targets):
            raise DataError(f"target column {sorted(set(inputs) & set(targets))[0]!r} is also a feature")
        cd.check_numeric(df, inputs, "feature",
                         "features must be numbers; encode them as numbers or choose columns with --features")
        if kind in ("regress", "forecast"):
            cd.check_numeric(df, targets, "target", f"{kind} needs numbers to predict; use --task classify for labels")
        spec.update(kind=kind, source="table", features=inputs, targets=targets, id_column=id_column,
                    time_column=time_column)
        # labels are never invented: rows without one go (--drop) or stop us
        label_targets = [] if kind == "forecast" else targets
        df = self._apply_missing(df, inputs, label_targets, fill, drop)
        groups = cd.sorted_groups(df, id_column, time_column)
        ids, xs, ys = [], [], []
        for key, rows in groups:
            ids.append(key)
            x = rows[inputs].to_numpy(dtype=np.float64, na_value=np.nan)
            if fill is not None:
                x = self._fill(x, fill, key, inputs, id_column)
            xs.append(x)
            if kind != "forecast":
                ys.append(rows[targets].to_numpy() if kind == "classify" else
                          rows[targets].to_numpy(dtype=np.float64))
        if kind == "forecast":
            spec["per_step"] = False
            return _Prepared(ids, xs, None)
        varying = any(len(np.unique(y.astype(str) if kind == "classify" else y, axis=0)) > 1 for y in ys)
        spec["per_step"] = varying if per_step is None else bool(per_step)
        if varying and not spec["per_step"]:
            raise DataError(f"target {targets[0]!r} changes within a sequence, so it cannot be one label per sequence "
                            "(leave per_step unset for per-step labelling)")
        if per_step is None and varying:
            self.notes.append(f"target {targets[0]!r} changes within sequences: one prediction per step")
        if kind == "classify":
            ys = [y[:, 0] for y in ys]
        if not spec["per_step"]:
            ys = [y[-1] for y in ys]  # the same in every row of the sequence
        ys = self._encode_targets(spec, ys)
        return _Prepared(ids, xs, ys)

    def _infer_kind(self, column, name: str) -> str:
        values = column.dropna()
        if values.dtype.kind in "biuf" and values.dtype.kind != "b":
            finite = values[np.isfinite(values.to_numpy(dtype=np.float64))]
            integral = bool((finite == np.round(finite)).all())
            n = finite.nunique()
            if not (integral and n <= MAX_INFERRED_CLASSES):
                self.notes.append(f"task inferred: regress (target {name!r} holds numbers); pass --task to choose")
                return "regress"
            self.notes.append(f"task inferred: classify (target {name!r} holds {n} whole numbers); "
                              "pass --task regress if they are quantities")
            return "classify"
        self.notes.append(f"task inferred: classify (target {name!r} holds labels); pass --task to choose")
        return "classify"

    def _apply_missing(self, df, inputs, label_targets, fill, drop):
        bad_labels = cd.bad_mask(df, label_targets)
        if bad_labels.any() and not drop:
            raise DataError(f"missing target values in {cd.describe_bad(df, label_targets)} (counting rows from 0 below the header); "
                            "a label is never filled in: pass --drop to drop those rows")
        bad = cd.bad_mask(df, inputs) | bad_labels
        if not bad.any():
            return df
        if drop:
            self.notes.append(f"dropped {int(bad.sum())} of {len(df)} rows with NaN/inf values (--drop)")
            df = df[~bad]
            if len(df) == 0:
                raise DataError("no rows left after dropping those with NaN/inf values")
            return df
        if fill is None:
            raise DataError(f"NaN/inf values in {cd.describe_bad(df, inputs)} (counting rows from 0 below the header); "
                            "pass --fill ffill|interpolate|zero or --drop")
        self.notes.append(f"filled NaN/inf values in {int(bad.sum())} rows (--fill {fill})")
        return df

    @staticmethod
    def _fill(x: np.ndarray, fill: str, key, features: Sequence[str], id_column) -> np.ndarray:
        empty = [features[c] for c in np.flatnonzero(~np.isfinite(x).any(axis=0))]
        if empty and fill != "zero":
            where = f" in sequence {key!r}" if id_column is not None else ""
            raise DataError(f"cannot fill {', '.join(map(repr, empty))}{where}: no valid value to fill from; "
                            "pass --drop or --fill zero")
        return cd.fill_array(x, fill)

    def _load_npz(self, file, spec, target, kind, features, per_step, fill, drop) -> _Prepared:
        if kind == "forecast":
            raise DataError("forecasting reads one long series from a table (.csv or .parquet), not an .npz")
        if target is not None or features is not None:
            raise DataError("an .npz holds its own inputs (x) and targets (y): leave out --target and --features")
        arrays = cd.read_npz(file)
        x, lengths = arrays["x"], arrays["lengths"]
        if "y" not in arrays:
            raise DataError(f"{cd.display_name(file)} has no array 'y': training needs the targets")
        y = arrays["y"]
        n, t, c = x.shape
        if kind is None:
            kind = "classify" if y.dtype.kind in "biu" else "regress"
            self.notes.append(f"task inferred: {kind} (y holds {'integers' if kind == 'classify' else 'numbers'}); "
                              "pass --task to choose")
        if y.dtype.kind not in "biuf":
            raise DataError(f"y must hold numbers, got dtype {y.dtype}")
        step_shaped = y.ndim == 3 or (y.ndim == 2 and y.shape[1] == t)
        spec["per_step"] = step_shaped if per_step is None else bool(per_step)
        if spec["per_step"] and not step_shaped:
            raise DataError(f"per-step targets need y of shape (N, T) or (N, T, K) with T = {t}, got {y.shape}")
        if kind == "classify" and (y.ndim > (2 if spec["per_step"] else 1) or
                                   not np.all(np.isfinite(y)) or not np.all(y == np.round(y))):
            raise DataError(f"classify needs whole-number class labels in y of shape (N,) or (N, T), got {y.dtype} {y.shape}")
        ids, xs, ys, dropped = [], [], [], 0
        for i in range(n):
            xi = x[i, : lengths[i]].astype(np.float64)
            yi = y[i, : lengths[i]] if spec["per_step"] else y[i]
            bad_y = kind == "regress" and not np.all(np.isfinite(yi))
            bad_steps = np.flatnonzero(~np.isfinite(xi).all(axis=1))
            if bad_y or len(bad_steps):
                if drop:
                    dropped += 1
                    continue
                if bad_y:
                    raise DataError(f"NaN/inf values in y of sequence {i}; a target is never filled in: pass --drop")
                if fill is None:
                    raise DataError(f"NaN/inf values in x of sequence {i} at {cd.row_list(bad_steps).replace('row', 'step')}; "
                                    "pass --fill ffill|interpolate|zero or --drop")
                xi = self._fill(xi, fill, i, [f"x{j}" for j in range(c)], "index")
            ids.append(i)
            xs.append(xi)
            ys.append(np.asarray(yi, dtype=np.float64).reshape(len(xi), -1) if spec["per_step"] and kind == "regress"
                      else np.asarray(yi, dtype=np.float64).reshape(-1) if kind == "regress" else np.asarray(yi))
        if dropped:
            self.notes.append(f"dropped {dropped} of {n} sequences with NaN/inf values (--drop)")
        if not xs:
            raise DataError("no sequences left after dropping those with NaN/inf values")
        k = 1 if kind == "classify" else (ys[0].shape[-1])
        spec.update(kind=kind, source="npz", features=[f"x{j}" for j in range(c)],
                    targets=["y"] if k == 1 else [f"y{j}" for j in range(k)], id_column=None, time_column=None)
        return _Prepared(ids, xs, self._encode_targets(spec, ys))

    @staticmethod
    def _encode_targets(spec, ys: list) -> list:
        """Class labels -> indices into ``spec["classes"]``; regression targets stay floats."""
        if spec["kind"] != "classify":
            spec["classes"] = None
            return ys
        classes = _sorted_classes(np.concatenate([np.atleast_1d(y) for y in ys]))
        if len(classes) < 2:
            raise DataError(f"classify needs at least two classes; the target holds only {classes[0]!r}")
        if len(classes) > MAX_CLASSES:
            raise DataError(f"the target holds {len(classes)} distinct values: too many classes; "
                            "did you mean --task regress?")
        spec["classes"] = classes
        index = {c: i for i, c in enumerate(classes)}
        return [np.array([index[v] for v in cd.plain_list(np.atleast_1d(y))], dtype=np.int64).reshape(np.shape(y))
                for y in ys]

    # -- splitting and scaling ------------------------------------------------------------
    def _sequence_splits(self, data: _Prepared, spec, fractions, seed, input_length) -> dict[str, Dataset]:
        n = len(data.x)
        n_valid, n_test = int(round(n * fractions[1])), int(round(n * fractions[2]))
        counts = {"train": n - n_valid - n_test, "valid": n_valid, "test": n_test}
        for split, count in counts.items():
            if count < 1:
                raise DataError(
                    f"the {split} split is empty: {n} sequences split {'/'.join(f'{f:.0%}' for f in fractions)} "
                    f"give {counts['train']}/{n_valid}/{n_test} for train/valid/test; give more sequences or change --split"
                )
        order = np.random.default_rng(seed).permutation(n)
        parts = {"train": order[: counts["train"]], "valid": order[counts["train"]: counts["train"] + n_valid],
                 "test": order[counts["train"] + n_valid:]}
        train_x = np.concatenate([data.x[i] for i in parts["train"]])
        scaling = {"mean": train_x.mean(0), "std": train_x.std(0)}
        if spec["kind"] == "regress":
            train_y = np.concatenate([data.y[i].reshape(-1, data.y[i].shape[-1]) for i in parts["train"]])
            scaling.update(target_mean=train_y.mean(0), target_std=train_y.std(0))
        spec["scaling"] = self._plain_scaling(scaling)
        longest = max(len(data.x[i]) for i in parts["train"])
        spec["input_length"] = input_length or longest
        spec["split_sizes"] = {k: int(v) for k, v in counts.items()}
        datasets = {}
        for split, rows in parts.items():
            items = []
            for i in rows:
                item = {"x": self._scale_x(data.x[i], spec)}
                y = data.y[i]
                item["y"] = torch.as_tensor(y, dtype=torch.long) if spec["kind"] == "classify" else \
                    torch.as_tensor(self._scale_y(y, spec), dtype=torch.float32)
                items.append(item)
            datasets[split] = _ItemDataset(items)
        self.split_ids = {split: [data.ids[i] for i in rows] for split, rows in parts.items()}
        return datasets

    def _forecast_splits(self, data: _Prepared, spec, fractions) -> dict[str, Dataset]:
        length, horizon = spec["input_length"], spec["horizon"]
        need = length + horizon
        long_enough = [i for i, x in enumerate(data.x) if len(x) >= need]
        if not long_enough:
            longest = max(len(x) for x in data.x)
            what = "the series has" if len(data.x) == 1 else f"the longest of {len(data.x)} series has"
            raise DataError(f"file too short: {what} {longest} rows, fewer than input_length {length} + "
                            f"horizon {horizon} = {need}; lower --input-length or --horizon")
        if len(long_enough) < len(data.x):
            self.notes.append(f"skipped {len(data.x) - len(long_enough)} series shorter than "
                              f"input_length + horizon = {need} rows")
        # chronological cut of every series: train | valid | test; targets never cross a cut
        bounds, starts = {}, {"train": [], "valid": [], "test": []}
        for i in long_enough:
            n = len(data.x[i])
            b1, b2 = int(round(n * fractions[0])), int(round(n * (fractions[0] + fractions[1])))
            bounds[i] = (b1, b2)
            ranges = {"train": (0, b1), "valid": (b1, b2), "test": (b2, n)}
            for split, (lo, hi) in ranges.items():
                # a window starting at s has its targets at s+L .. s+L+H-1, all inside [lo, hi)
                first = max(lo - length, 0)
                starts[split] += [(i, s) for s in range(first, hi - need + 1)]
        for split, found in starts.items():
            if not found:
                share = {"train": fractions[0], "valid": fractions[1], "test": fractions[2]}[split]
                rows = sum((b[0] if split == "train" else (b[1] - b[0]) if split == "valid" else len(data.x[i]) - b[1])
                           for i, b in bounds.items())
                needed = need if split == "train" else horizon
                raise DataError(f"the {split} split is empty: its {rows} rows ({share:.0%} of the series) hold no "
                                f"window (it needs {needed} rows); give a longer series, a smaller --input-length or "
                                f"--horizon, or change --split")
        train_x = np.concatenate([data.x[i][: bounds[i][0]] for i in long_enough])
        mean, std = train_x.mean(0), train_x.std(0)
        index = [spec["features"].index(t) for t in spec["targets"]]
        spec["scaling"] = self._plain_scaling({"mean": mean, "std": std, "target_mean": mean[index],
                                               "target_std": std[index]})
        spec["target_index"] = index
        spec["split_sizes"] = {k: len(v) for k, v in starts.items()}
        series = [self._scale_x(x, spec) if i in bounds else torch.empty(0) for i, x in enumerate(data.x)]
        self.split_ids = {k: sorted({data.ids[i] for i, _ in v}, key=str) for k, v in starts.items()}
        return {split: _WindowDataset(series, found, length, horizon, index) for split, found in starts.items()}

    @staticmethod
    def _plain_scaling(scaling: Mapping[str, np.ndarray]) -> dict[str, list[float]]:
        out = {}
        for k, v in scaling.items():
            v = np.asarray(v, dtype=np.float64)
            if k.endswith("std"):
                v = np.where(v > 1e-12, v, 1.0)  # a constant column stays as it is, shifted to 0
            out[k] = [float(a) for a in v]
        return out

    @staticmethod
    def _scale_x(x: np.ndarray, spec) -> torch.Tensor:
        s = spec["scaling"]
        return torch.as_tensor((x - np.asarray(s["mean"])) / np.asarray(s["std"]), dtype=torch.float32)

    @staticmethod
    def _scale_y(y: np.ndarray, spec) -> np.ndarray:
        s = spec["scaling"]
        return (y - np.asarray(s["target_mean"])) / np.asarray(s["target_std"])

    # -- the Task attributes, from the spec -----------------------------------------------
    def _setup(self, spec: dict) -> None:
        self.spec = spec
        kind, k = spec["kind"], len(spec["targets"])
        self.input_size = len(spec["features"])
        self.head = "per_step" if spec["per_step"] else "last"
        if kind == "classify":
            self.output_size = len(spec["classes"])
            self.metrics = (Metric("accuracy", higher_is_better=True), Metric("nll"))
        else:
            self.output_size = k * (spec["horizon"] if kind == "forecast" else 1)
            # nmse is what the loss measures (the same units as the training curve); rmse
            # and mae are in the target's own units
            self.metrics = (Metric("nmse"), Metric("rmse"), Metric("mae"))
        if kind != "classify":
            std = torch.tensor(spec["scaling"]["target_std"], dtype=torch.float32)
            self._target_std = std.repeat(spec["horizon"]) if kind == "forecast" else std
        self.paper_results = {}
        history = spec["input_length"]
        try:
            plan = plan_tcn(history)
        except ValueError:  # longer than any plan covers: take the largest
            plan = TCNPlan(8, 12, receptive_field(8, [2**v for v in range(12)]))
            self.notes.append(f"input length {history} exceeds what the default TCN plan covers "
                              f"({plan.receptive_field} steps); consider shorter inputs")
        model = dict(kernel_size=plan.kernel_size, levels=plan.levels, hidden_size=spec["hidden_size"], dropout=0.1)
        default = Preset(model, optimizer="adam", lr=2e-3, batch_size=32, epochs=20, clip=1.0,
                         recurrent={"num_layers": 1})
        # "paper" is the contract's default preset name; user data has no paper setting,
        # so it is this task's default. "small" is the quick look that compare starts with.
        self.presets = {"default": default, "paper": default, "small": default.with_overrides(epochs=5)}

    # -- data -----------------------------------------------------------------------------
    def dataset(self, split: str) -> Dataset:
        self.check_split(split)
        if self._datasets is None:
            raise DataError("this custom task was restored from a checkpoint and holds no data; "
                            "use predict, or build it from the file again")
        return self._datasets[split]

    def collate(self, items):
        return pad_collate(items)

    # -- loss and metrics -----------------------------------------------------------------
    def _scored(self, output: torch.Tensor, batch: Mapping[str, torch.Tensor]):
        """(output, target) of the scored entries: valid steps of a per-step problem."""
        y = batch["y"]
        if not self.spec["per_step"]:
            return output, y
        valid = batch.get("mask")
        if valid is None:
            valid = torch.ones(y.shape[:2], dtype=torch.bool, device=y.device)
        if "target_mask" in batch:
            valid = valid & batch["target_mask"].bool()
        return output[valid], y[valid]

    def loss(self, output, batch):
        out, y = self._scored(output, batch)
        if self.spec["kind"] == "classify":
            return F.cross_entropy(out, y)
        return F.mse_loss(out, y)

    def statistics(self, output, batch):
        out, y = self._scored(output.detach(), batch)
        if self.spec["kind"] == "classify":
            n = torch.tensor(float(y.numel()), device=out.device)
            correct = (out.argmax(-1) == y).sum().float()
            return {"accuracy": (correct, n), "nll": (F.cross_entropy(out, y, reduction="sum"), n)}
        scaled = out - y
        err = scaled * self._target_std.to(out.device)  # back in the target's own units
        n = torch.tensor(float(err.numel()), device=out.device)
        return {"nmse": (scaled.pow(2).sum(), n), "rmse": (err.pow(2).sum(), n), "mae": (err.abs().sum(), n)}

    def compute_metrics(self, totals):
        metrics = super().compute_metrics(totals)
        if "rmse" in metrics:
            metrics["rmse"] = math.sqrt(metrics["rmse"])
        return metrics

    # -- models ---------------------------------------------------------------------------
    def model_kwargs(self, preset: str = "default", **overrides) -> dict:
        return super().model_kwargs(preset, **overrides)

    def build_model(self, kind: str = "tcn", preset: str = "default", **overrides):
        if kind == "tcn":
            kw = self.model_kwargs(preset, **{k: v for k, v in overrides.items() if k != "num_layers"})
            message = self.receptive_field_advice(kw)
            if message:
                warnings.warn(message, ReceptiveFieldWarning, stacklevel=2)
        return super().build_model(kind, preset, **overrides)

    def receptive_field_advice(self, model_kwargs: Mapping[str, Any]) -> str | None:
        """A warning text when a TCN of ``model_kwargs`` does not see the whole input, else None."""
        k = model_kwargs.get("kernel_size", 2)
        dilations = model_kwargs.get("dilations")
        if dilations is None:
            channels = model_kwargs.get("channels")
            levels = len(channels) if channels is not None else model_kwargs.get("levels")
            dilations = [2**v for v in range(levels)]
        rf, history = receptive_field(k, dilations), self.spec["input_length"]
        if rf >= history:
            return None
        try:
            p = plan_tcn(history)
            fix = f"plan_tcn({history}) suggests kernel_size={p.kernel_size}, levels={p.levels} " \
                  f"(receptive field {p.receptive_field})"
        except ValueError as e:
            fix = str(e)
        return (f"the TCN's receptive field ({rf} steps) does not cover the input length ({history}): "
                f"early steps cannot inform the output; {fix}")

    # -- saving and prediction --------------------------------------------------------------
    def state(self) -> dict:
        """Everything prediction needs (columns, classes, scaling, lengths), JSON-able, without the data."""
        return {"task": self.name, "variant": dict(self.variant), "spec": dict(self.spec)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "CustomTask":
        """The task of :meth:`state`, able to build models and predict, holding no data."""
        if not isinstance(state, Mapping) or state.get("task") != cls.name or "spec" not in state:
            raise DataError("not a custom task's saved state")
        if state["spec"].get("version") != STATE_VERSION:
            raise DataError(f"saved custom task has version {state['spec'].get('version')!r}; "
                            f"this seqbench reads version {STATE_VERSION}")
        task = cls.__new__(cls)
        Task.__init__(task, None, **state.get("variant", {}))
        task.notes, task._datasets, task.split_ids = [], None, {}
        task._setup(dict(state["spec"]))
        return task

    def baseline(self, split: str = "test") -> tuple[str, dict[str, float]]:
        """A model-free reference on ``split``: ``(name, metrics)`` a trained model should beat.

        Forecasting: the last input value of each target, held for the whole horizon.
        Classes: always the train split's most frequent class (for NLL: the train class
        frequencies). Regression: always the train mean (``nmse`` near 1 by construction).
        """
        s, train, ds = self.spec, self.dataset("train"), self.dataset(split)
        batch = self.collate([ds[i] for i in range(len(ds))])
        y = batch["y"]
        if s["kind"] == "forecast":
            last = batch["x"][:, -1, s["target_index"]]                   # (N, K), scaled
            name, guess = "last value", last.repeat(1, s["horizon"])
        elif s["kind"] == "classify":
            counts = torch.bincount(torch.cat([train[i]["y"].reshape(-1) for i in range(len(train))]),
                                    minlength=self.output_size)
            name = f"always {s['classes'][int(counts.argmax())]!r}, with the train class frequencies"
            prior = (counts.double() + 1.0) / (counts.sum() + self.output_size)  # +1: no class impossible
            guess = prior.log().float().expand(y.shape + (self.output_size,))
        else:
            name, guess = "train mean", torch.zeros(y.shape)
        return name, self.metrics_of(guess, batch)

    def describe(self) -> list[str]:
        """What the task is, in a few lines for the command line (including what was inferred)."""
        s = self.spec
        targets = ", ".join(s["targets"])
        if s["kind"] == "forecast":
            what = f"forecast {targets}: the next {s['horizon']} step(s) from the last {s['input_length']}"
            unit = "windows"
        elif s["kind"] == "classify":
            shown = ", ".join(map(str, s["classes"][:8])) + (", ..." if len(s["classes"]) > 8 else "")
            what = f"classify {targets} into {len(s['classes'])} classes ({shown}), " + \
                ("one per step" if s["per_step"] else "one per sequence")
            unit = "sequences"
        else:
            what = f"regress {targets}, " + ("one value per step" if s["per_step"] else "one value per sequence")
            unit = "sequences"
        sizes = s["split_sizes"]
        feats = s["features"]
        lines = [
            f"custom task: {what}",
            f"{len(feats)} input feature(s): {', '.join(feats[:10])}{', ...' if len(feats) > 10 else ''} "
            "(standardised with train-split statistics)",
            f"train/valid/test: {sizes['train']}/{sizes['valid']}/{sizes['test']} {unit}",
        ]
        p = self.presets["default"].model
        lines.append(f"default TCN: kernel_size {p['kernel_size']}, {p['levels']} levels, receptive field "
                     f"{receptive_field(p['kernel_size'], [2**v for v in range(p['levels'])])} >= input length "
                     f"{s['input_length']}")
        if self._datasets is not None:
            name, values = self.baseline("test")
            lines.append(f"baseline on test ({name}): " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
        return lines + [f"note: {n}" for n in self.notes]

    def predict(self, model: torch.nn.Module, file, batch_size: int = 256):
        """Predictions of ``model`` on a new file with the training columns, as a pandas DataFrame.

        The saved scaling and missing-value policy are applied. Many sequences: one row per
        sequence (per step, for per-step targets) with the predicted class and the class
        probabilities, or the predicted value(s). Forecasting: for each series, the
        ``horizon`` steps after its end (``step`` 1..H, and their times when the time
        column is regular).
        """
        pd = cd.pandas()
        s = self.spec
        data, extra = (self._npz_inputs(file) if cd.is_npz(file) else self._table_inputs(file))
        xs = [self._scale_x(x, s) for x in data.x]
        if s["kind"] == "forecast":
            xs = [x[-s["input_length"]:] for x in xs]
        outputs = []
        was_training = model.training
        model.eval()
        param = next(model.parameters())
        try:
            with torch.no_grad():
                for i in range(0, len(xs), batch_size):
                    batch = pad_collate([{"x": x} for x in xs[i:i + batch_size]])
                    out = model(batch["x"].to(param.device, param.dtype), batch.get("mask", None))
                    outputs += [o.cpu() for o in out]
        finally:
            model.train(was_training)
        id_name = s["id_column"] or ("index" if s["source"] == "npz" else None)
        rows = []
        for key, x, out, times in zip(data.ids, xs, outputs, extra):
            base = {id_name: key} if id_name else {}
            if s["kind"] == "forecast":
                values = out.reshape(s["horizon"], -1).numpy() * s["scaling"]["target_std"] + s["scaling"]["target_mean"]
                future = self._future_times(times, s["horizon"])
                for h in range(s["horizon"]):
                    row = dict(base, step=h + 1)
                    if future is not None:
                        row[s["time_column"]] = future[h]
                    row.update(zip(s["targets"], values[h].tolist()))
                    rows.append(row)
            elif s["per_step"]:
                out = out[: len(x)]
                for t in range(len(x)):
                    row = dict(base)
                    row["step" if times is None else s["time_column"]] = t if times is None else times.iloc[t]
                    row.update(self._decode(out[t]))
                    rows.append(row)
            else:
                rows.append(dict(base, **self._decode(out)))
        return pd.DataFrame(rows)

    def _decode(self, out: torch.Tensor) -> dict:
        s = self.spec
        if s["kind"] == "classify":
            p = torch.softmax(out.float(), -1).tolist()
            best = int(np.argmax(p))
            return {s["targets"][0]: s["classes"][best], **{f"p_{c}": q for c, q in zip(s["classes"], p)}}
        values = out.numpy() * s["scaling"]["target_std"] + s["scaling"]["target_mean"]
        return dict(zip(s["targets"], values.tolist()))

    @staticmethod
    def _future_times(times, horizon: int):
        if times is None or len(times) < 2:
            return None
        step = times.diff().iloc[1:].median()
        last = times.iloc[-1]
        return [last + step * (h + 1) for h in range(horizon)]

    def _table_inputs(self, file):
        s = self.spec
        if s["source"] != "table":
            raise DataError("mismatched file: this model was trained on an .npz; predict from an .npz with x")
        df = cd.read_table(file)
        name = cd.display_name(file)
        for column, role in ((s["id_column"], "id"), (s["time_column"], "time")):
            if column is not None and column not in df.columns:
                raise DataError(f"mismatched columns: {name} lacks the {role} column {column!r} the model was trained with")
        missing = [c for c in s["features"] if c not in df.columns]
        if missing:
            raise DataError(f"mismatched columns: {name} lacks feature column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(repr, missing))} the model was trained on "
                            f"(it needs: {', '.join(s['features'])})")
        cd.check_numeric(df, s["features"], "feature", "the model was trained on numbers in these columns")
        df = self._apply_missing(df, s["features"], [], s["fill"], s["drop"])
        ids, xs, times = [], [], []
        for key, rows in cd.sorted_groups(df, s["id_column"], s["time_column"]):
            x = rows[s["features"]].to_numpy(dtype=np.float64, na_value=np.nan)
            if s["fill"] is not None:
                x = self._fill(x, s["fill"], key, s["features"], s["id_column"])
            if s["kind"] == "forecast" and len(x) < s["input_length"]:
                what = f"series {key!r}" if s["id_column"] else "the series"
                raise DataError(f"{name} too short: {what} has {len(x)} rows; forecasting needs the last "
                                f"input_length = {s['input_length']}")
            ids.append(key)
            xs.append(x)
            times.append(None if s["time_column"] is None else
                         cd.parse_times(rows, s["time_column"]).reset_index(drop=True))
        return _Prepared(ids, xs, None), times

    def _npz_inputs(self, file):
        s = self.spec
        if s["source"] != "npz":
            raise DataError(f"mismatched file: this model was trained on a table with columns "
                            f"{', '.join(s['features'])}; predict from a .csv or .parquet")
        arrays = cd.read_npz(file)
        x, lengths = arrays["x"], arrays["lengths"]
        if x.shape[2] != len(s["features"]):
            raise DataError(f"mismatched columns: the model was trained on {len(s['features'])} features per step, "
                            f"{cd.display_name(file)}'s x has {x.shape[2]}")
        ids, xs = [], []
        for i in range(len(x)):
            xi = x[i, : lengths[i]].astype(np.float64)
            if not np.all(np.isfinite(xi)):
                if s["drop"]:
                    continue
                if s["fill"] is None:
                    steps = np.flatnonzero(~np.isfinite(xi).all(axis=1))
                    raise DataError(f"NaN/inf values in x of sequence {i} at {cd.row_list(steps).replace('row', 'step')}; "
                                    "the model was trained without --fill or --drop")
                xi = self._fill(xi, s["fill"], i, s["features"], "index")
            ids.append(i)
            xs.append(xi)
        if not xs:
            raise DataError("no sequences left after dropping those with NaN/inf values")
        return _Prepared(ids, xs, None), [None] * len(xs)


def custom(file, *, target=None, task: str | None = None, **options) -> CustomTask:
    """A :class:`~seqbench.tasks.base.Task` built from your own file, ready for the training API.

    Example::

        >>> from seqbench import tasks
        >>> t = tasks.custom("sensor.csv", target="load", task="forecast", input_length=48, horizon=12)
        >>> print("\\n".join(t.describe()))          # what was read, inferred and split
        >>> model = t.build_model("tcn")              # or "lstm", "gru", "rnn": parameter-matched
        >>> predictions = t.predict(model, "sensor_new.csv")

    See :class:`CustomTask` for every option.
    """
    return CustomTask(file=file, target=target, task=task, **options)
