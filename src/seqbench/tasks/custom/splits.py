"""Train/valid/test splits that never leak, and the datasets they become.

Which sequence goes where (:func:`sequence_parts`): a random split stratified by class, a
fixed test set (a test file, a split column) with valid drawn stratified from the rest, or a
fold of a stratified K-fold. A series is cut in time (:func:`series_cut`): by fractions, the
last ``test_size`` steps, the steps after a cutoff, a test file's rows, rolling-origin folds,
or backtest origins; valid is the stretch before the test period, and every window reads
only steps before its targets. The :class:`~.scaling.Standardizer` of the inputs (and of
regression and forecast targets) is fitted on the train split only, and every split is
scaled with it; so is the vocabulary of texts (:class:`~.text.Vocabulary`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..base import SPLITS
from .errors import DataError
from .spec import DEFAULT_SPLIT
from .reading import Sequences
from .resampling import SplitOptions
from .scaling import Standardizer
from .known import KnownInputs, with_leads
from .text import TextEncoder, TextStats, Vocabulary


def check_split(split) -> tuple[float, float, float]:
    """Three fractions train, valid, test in (0, 1) that add up to 1."""
    try:
        fractions = tuple(float(f) for f in split)
    except (TypeError, ValueError):
        raise DataError(f"split must be three fractions train, valid, test, got {split!r}") from None
    if len(fractions) != 3 or any(not (0 < f < 1) for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f"split must be three fractions in (0, 1) that add up to 1, got {split!r}")
    return fractions


def scaled(x: np.ndarray, scaler: Standardizer) -> torch.Tensor:
    """Model inputs: ``x`` standardised, as float32."""
    return torch.as_tensor(scaler.transform(x), dtype=torch.float32)


@dataclass
class Splits:
    """The datasets of the three splits and what was fitted on train.

    Attributes:
        datasets: ``{split: Dataset}`` of items ``{"x": (T, C), "y": ...}``, scaled.
        ids: ``{split: [sequence id, ...]}`` (for a forecast: the series that have windows there).
        sizes: sequences (or windows) in train, valid, test.
        input_length: the history the model must cover (the window length, or the given
            length, or the longest train sequence).
        input_scaler, target_scaler: fitted on train (no target scaler for classes, no
            input scaler for text).
        target_index: forecast only: the targets' positions among the features.
        notes: what the user should hear of (series skipped as too short).
        text_encoder, text_stats: text only: the train split's vocabulary and how the texts
            fared (lengths, unknown tokens).
        series_scalers: a forecast scaled per series: ``{series id: Standardizer}`` of the
            features, each fitted on its own series' train part (None: one scaler for all).
        series_ids: with a series index channel: the ids of the series with windows, in the
            order their index counts them.
    """

    datasets: dict[str, Dataset]
    ids: dict[str, list]
    sizes: tuple[int, int, int]
    input_length: int
    input_scaler: Standardizer | None
    target_scaler: Standardizer | None = None
    target_index: tuple[int, ...] | None = None
    notes: list[str] = field(default_factory=list)
    text_encoder: TextEncoder | None = None
    text_stats: TextStats | None = None
    series_scalers: dict | None = None
    series_ids: list | None = None


class ItemDataset(Dataset):
    """Precomputed items (dicts of tensors), one per sequence."""

    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        return self.items[i]


class WindowDataset(Dataset):
    """Sliding windows over scaled series: ``x`` (input_length, C), ``y`` (horizon * K,).

    Windows are sliced on demand, so a long series costs its own memory once, not once per window.
    """

    def __init__(self, series: list[torch.Tensor], starts: list[tuple[int, int]], input_length: int,
                 horizon: int, target_index: Sequence[int], extras: dict[int, dict[str, torch.Tensor]] | None = None
                 ) -> None:
        self.series, self.starts = series, starts
        self.length, self.horizon = input_length, horizon
        self.target_index = torch.as_tensor(list(target_index))
        self.extras = extras or {}   # per series: fields every item of it carries (its scale, its index)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        s, start = self.starts[i]
        series = self.series[s]
        end = start + self.length
        return {"x": series[start:end], "y": series[end:end + self.horizon, self.target_index].reshape(-1),
                **self.extras.get(s, {})}


# -- which sequence goes where ---------------------------------------------------------------
DEFAULT_VALID_SHARE = 0.2   # of the sequences left for training when the test set is fixed


def valid_share(split: Sequence[float] | None) -> float:
    """The share of the training sequences (those not in test) that valid takes."""
    return DEFAULT_VALID_SHARE if split is None else split[1] / (split[0] + split[1])


def stream(seed, k: int) -> tuple[int, ...]:
    """A seed for ``numpy.random.default_rng``: ``seed`` (an int or a tuple) with stream ``k``
    appended, so the draws of one split do not repeat another's."""
    return (*(seed if isinstance(seed, tuple) else (seed,)), k)


def apportion(sizes: np.ndarray, total: int, keep: int = 1, each: bool = False) -> np.ndarray:
    """How many of each class to take for ``total`` items in proportion to ``sizes``, at most
    ``size - keep`` of each; classes that would get none come first for the rounding
    (sklearn's approximate mode, with that bias). ``each``: take at least one of every class
    that can spare one, even beyond ``total``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    room = np.maximum(sizes - keep, 0)
    if each:
        total = max(total, int((room > 0).sum()))
    total = int(min(total, room.sum()))
    exact = total * sizes / max(sizes.sum(), 1)
    take = np.minimum(np.floor(exact).astype(np.int64), room)
    for _ in range(total - int(take.sum())):
        open_ = np.flatnonzero(take < room)
        # classes with none yet, then the largest remainder; ties to the larger class
        best = max(open_, key=lambda c: (take[c] == 0, exact[c] - take[c], sizes[c]))
        take[best] += 1
    return take


def _groups(labels: np.ndarray | None, indices: np.ndarray, rng) -> list[np.ndarray]:
    """``indices`` shuffled, one array per class of ``labels`` (one array when unlabelled)."""
    if labels is None:
        return [rng.permutation(indices)]
    return [rng.permutation(indices[labels[indices] == c]) for c in np.unique(labels[indices])]


def carve(indices: np.ndarray, labels: np.ndarray | None, count: int, seed, keep: int = 1):
    """``(rest, taken)``: ``count`` of ``indices`` drawn at random, stratified by ``labels``:
    every class that has more than ``keep`` members gives at least one (so ``taken`` may hold
    more than ``count``), and keeps ``keep`` in ``rest``."""
    groups = _groups(labels, np.asarray(indices, dtype=np.int64), np.random.default_rng(seed))
    take = apportion([len(g) for g in groups], count, keep, each=labels is not None)
    taken = np.concatenate([g[:k] for g, k in zip(groups, take)])
    rest = np.concatenate([g[k:] for g, k in zip(groups, take)])
    return np.sort(rest), np.sort(taken)


def random_parts(n: int, labels: np.ndarray | None, fractions: Sequence[float], seed) -> dict[str, np.ndarray]:
    """``{split: indices}``: a random split of ``n`` sequences by ``fractions``, stratified by
    ``labels`` (one class index per sequence, or None)."""
    n_valid, n_test = int(round(n * fractions[1])), int(round(n * fractions[2]))
    counts = (n - n_valid - n_test, n_valid, n_test)
    for split, count in zip(SPLITS, counts):
        if count < 1:
            raise DataError(f"the {split} split is empty: {n} sequences split {'/'.join(f'{f:.0%}' for f in fractions)} "
                            f"give {'/'.join(map(str, counts))} for train/valid/test; give more sequences or change "
                            "split=...")
    rest, test = carve(np.arange(n), labels, n_test, stream(seed, 0), keep=2)  # one left for valid, one for train
    train, valid = carve(rest, labels, n_valid, stream(seed, 1))
    return {"train": train, "valid": valid, "test": test}


def fold_of(n: int, labels: np.ndarray | None, folds: int, seed) -> np.ndarray:
    """(n,) the fold of each sequence: each class shuffled and dealt in turn to the folds,
    so folds differ in size by at most one and hold each class in proportion."""
    if n < folds:
        raise DataError(f"folds={folds} needs at least {folds} sequences, the file has {n}; pass fewer folds=...")
    rng = np.random.default_rng(stream(seed, 2))
    order = np.concatenate(_groups(labels, np.arange(n), rng))
    fold = np.empty(n, dtype=np.int64)
    fold[order] = np.arange(n) % folds
    return fold


def fixed_parts(test: np.ndarray, rest: np.ndarray, labels: np.ndarray | None, share: float, seed,
                valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``{split: indices}`` around a fixed ``test``: valid is ``valid`` when given, else carved
    at random (stratified) from ``rest``, ``share`` of it."""
    if valid is None:
        rest, valid = carve(rest, labels, int(round(len(rest) * share)), stream(seed, 1))
    parts = {"train": np.sort(rest), "valid": np.sort(valid), "test": np.sort(test)}
    for split, rows in parts.items():
        if not len(rows):
            raise DataError(f"the {split} split is empty ({'/'.join(str(len(p)) for p in parts.values())} sequences "
                            "for train/valid/test); give more sequences or change split=...")
    return parts


def sequence_parts(n: int, labels: np.ndarray | None, options: SplitOptions, marks: Sequence[str] | None = None,
                   n_test_file: int = 0) -> tuple[dict[str, np.ndarray], str]:
    """``({split: indices}, how)``: where each of ``n`` sequences goes, and how that was decided
    (for :meth:`~.task.CustomTask.describe`). The last ``n_test_file`` sequences came from the
    test file; ``marks`` are the split column's values."""
    share, seed = valid_share(options.split), options.split_seed
    if n_test_file:
        everything = np.arange(n)
        return (fixed_parts(everything[n - n_test_file:], everything[: n - n_test_file], labels, share, seed),
                "test: the test file; valid: drawn from the training file")
    if marks is not None:
        marks = np.asarray(marks)
        where = {s: np.flatnonzero(marks == s) for s in SPLITS}
        carved = not len(where["valid"])
        parts = fixed_parts(where["test"], where["train"], labels, share, seed, None if carved else where["valid"])
        return parts, f"from the split column{'; valid: drawn from its train rows' if carved else ''}"
    if options.folds is not None:
        fold = fold_of(n, labels, options.folds, seed)
        i = options.fold or 0
        rest, test = np.flatnonzero(fold != i), np.flatnonzero(fold == i)
        how = f"fold {i + 1} of {options.folds}" + (", stratified by class" if labels is not None else "")
        return fixed_parts(test, rest, labels, share, seed), how
    fractions = options.split or DEFAULT_SPLIT["sequences"]
    how = "random" + (", stratified by class" if labels is not None else "")
    if options.resamples is not None:
        how += f", resample {(options.resample or 0) + 1} of {options.resamples}"
    return random_parts(n, labels, fractions, seed), how


# -- the datasets of many sequences ----------------------------------------------------------
def _targets(data: Sequences, classes: bool, train: np.ndarray):
    """``(scaler, y of sequence i)``: class indices as they are; numbers standardised with the
    train split's statistics (the scaler, None for classes)."""
    if classes:
        return None, lambda i: torch.as_tensor(data.y[i], dtype=torch.long)
    scaler = Standardizer.fit(np.concatenate([data.y[i].reshape(-1, data.y[i].shape[-1]) for i in train]))
    return scaler, lambda i: torch.as_tensor(scaler.transform(data.y[i]), dtype=torch.float32)


def sequence_splits(data: Sequences, classes: bool, parts: dict[str, np.ndarray],
                    input_length: int | None = None) -> Splits:
    """The datasets of numeric sequences split by ``parts``: inputs (and numeric targets)
    standardised with the train split's statistics."""
    inputs = Standardizer.fit(np.concatenate([data.x[i] for i in parts["train"]]))
    targets, y_of = _targets(data, classes, parts["train"])
    datasets = {split: ItemDataset([{"x": scaled(data.x[i], inputs), "y": y_of(i)} for i in rows])
                for split, rows in parts.items()}
    longest = max(len(data.x[i]) for i in parts["train"])
    return Splits(datasets=datasets, ids={split: [data.ids[i] for i in rows] for split, rows in parts.items()},
                  sizes=tuple(len(parts[s]) for s in SPLITS), input_length=input_length or longest,
                  input_scaler=inputs, target_scaler=targets)


def text_splits(data: Sequences, classes: bool, parts: dict[str, np.ndarray], *, tokens: str, max_vocab: int,
                min_count: int, max_length: int, input_length: int | None = None) -> Splits:
    """The datasets of texts (token lists) split by ``parts``: the vocabulary is built from the
    train split's tokens only (each text cut to ``max_length``), and every split's texts become
    token ids with it."""
    train = [data.x[i] for i in parts["train"]]
    vocabulary = Vocabulary.build((t[:max_length] for t in train), max_vocab=max_vocab, min_count=min_count)
    encoder = TextEncoder(tokens=tokens, max_length=max_length, vocabulary=vocabulary)
    targets, y_of = _targets(data, classes, parts["train"])
    ids = {split: [encoder.ids(data.x[i]) for i in rows] for split, rows in parts.items()}
    datasets = {split: ItemDataset([{"x": x, "y": y_of(i)} for x, i in zip(ids[split], rows)])
                for split, rows in parts.items()}
    longest = max(len(x) for x in ids["train"])
    return Splits(datasets=datasets, ids={split: [data.ids[i] for i in rows] for split, rows in parts.items()},
                  sizes=tuple(len(parts[s]) for s in SPLITS), input_length=input_length or longest,
                  input_scaler=None, target_scaler=targets, text_encoder=encoder,
                  text_stats=TextStats.of(train, ids["valid"], max_length))


# -- a series cut in time --------------------------------------------------------------------
@dataclass(frozen=True)
class Cut:
    """Where one series is cut: train is ``[0, valid_start)``, valid ``[valid_start, test_start)``;
    the test forecasts' first target steps are ``origins`` (each forecast reads the steps
    before its origin, never a later one)."""

    valid_start: int
    test_start: int
    origins: tuple[int, ...]


def series_cut(n: int, horizon: int, options: SplitOptions, times=None, test_rows: int | None = None) -> Cut:
    """The :class:`Cut` of a series of ``n`` steps (``times``: its time values, for a cutoff;
    ``test_rows``: how many of its last rows came from the test file).

    Without a test period chosen (test_size, cutoff, a test file, folds, backtest) the series
    is cut by the split fractions. With one, valid is the stretch before the test period, as
    long as it (a backtest's: the default valid share of the series), unless split=... gives
    valid's fraction of the series."""
    every = lambda start, end: tuple(range(start, end - horizon + 1))  # noqa: E731  stride-1 origins
    if options.backtest is not None:
        stride = options.stride or horizon
        first = n - horizon - (options.backtest - 1) * stride
        if first < 1:
            raise DataError(f"backtest={options.backtest} origins {stride} steps apart with horizon {horizon} need "
                            f"{n - first + 1} steps; the series has {n}: lower backtest=..., stride=... or horizon=...")
        origins = tuple(first + j * stride for j in range(options.backtest))
        if options.refit_every is not None:  # this training forecasts one block of origins
            block = options.refit or 0
            origins = origins[block * options.refit_every:(block + 1) * options.refit_every]
        # valid: the series' default valid share before the origins (the test period may be long)
        start, period = origins[0], max(horizon, int(round(n * DEFAULT_SPLIT["forecast"][1])))
    elif options.folds is not None:
        period = options.test_size or n // (options.folds + 2)
        if period < horizon:
            raise DataError(f"folds={options.folds} of a {n}-step series leave test periods of {period} steps, "
                            f"shorter than horizon {horizon}; pass fewer folds=... or test_size=...")
        start = n - (options.folds - (options.fold or 0)) * period
        origins = every(start, start + period)
    elif test_rows is not None or options.test_size is not None or options.cutoff is not None:
        if test_rows is not None:
            start = n - test_rows
        elif options.test_size is not None:
            start = n - options.test_size
        else:
            after = np.flatnonzero(np.asarray(times > options.cutoff))
            start = int(after[0]) if len(after) else n
        period = n - start
        origins = every(start, n)
    else:  # cut by the fractions
        fractions = options.split or DEFAULT_SPLIT["forecast"]
        start = int(round(n * (fractions[0] + fractions[1])))
        return Cut(valid_start=int(round(n * fractions[0])), test_start=start, origins=every(start, n))
    valid = int(round(n * options.split[1])) if options.split is not None else period
    return Cut(valid_start=max(start - valid, 0), test_start=start, origins=origins)


def series_splits(data: Sequences, target_index: Sequence[int], input_length: int, horizon: int,
                  cuts: dict[int, Cut], describe_split, known: KnownInputs | None = None,
                  features: Sequence[str] = (), per_series: bool = False, season: int = 1,
                  series_index: bool = False) -> Splits:
    """Windows of ``input_length`` inputs and the ``horizon`` steps after them, of the features
    at ``target_index``: train windows whose targets lie before each series' valid start, valid
    windows whose targets lie in valid, and one test window per origin. Inputs are standardised
    with the train stretches' statistics. ``describe_split(split)`` says, for a message, how
    the split was made. With ``known`` inputs (of the columns ``features``) each step also
    carries their values at the ``horizon`` steps after it (:func:`~.known.with_leads`).

    ``per_series``: each series is standardised with its own train part's statistics (the
    rows before its valid start, never a later one), and every item carries ``scale``, its
    series' target standard deviations (horizon * targets), ``series``, the series' index,
    and ``mase_scale``, the mean absolute ``season``-step difference of its train part's
    targets in their units (the in-sample seasonal-naive error that MASE divides by).
    ``series_index``: each step's last input channel is its series' index among those with
    windows (for a learned embedding of the series: :mod:`.embedding`)."""
    length, need = input_length, input_length + horizon
    starts = {"train": [], "valid": [], "test": []}
    for i, cut in cuts.items():
        # a window starting at s has its targets at s+L .. s+L+H-1
        starts["train"] += [(i, s) for s in range(0, cut.valid_start - need + 1)]
        starts["valid"] += [(i, s) for s in range(max(cut.valid_start - length, 0), cut.test_start - need + 1)]
        starts["test"] += [(i, t - length) for t in cut.origins if t - length >= 0]
    for split, found in starts.items():
        if not found:
            needed = need if split == "train" else horizon
            bounds = {"train": lambda c: c.valid_start, "valid": lambda c: c.test_start - c.valid_start,
                      "test": lambda c: len(data.x[i]) - c.test_start}
            rows = sum(bounds[split](c) for i, c in cuts.items())
            raise DataError(f"the {split} split is empty: its {rows} rows ({describe_split(split)}) hold no window "
                            f"(it needs {needed} rows); give a longer series, a smaller input_length=... or "
                            "horizon=..., or change the split")
    train_rows = [data.x[i][: cut.valid_start] for i, cut in cuts.items() if cut.valid_start > 0]
    inputs = Standardizer.fit(np.concatenate(train_rows))
    scalers = {i: inputs for i in cuts}
    extras, by_id = None, None
    if per_series:
        scalers, extras = _per_series(data, cuts, inputs, list(target_index), horizon, season)
        by_id = {data.ids[i]: scaler for i, scaler in scalers.items()}
    series = [scaled(x, scalers[i]) if i in cuts else torch.empty(0) for i, x in enumerate(data.x)]
    if known is not None:
        times = data.times or [None] * len(data.x)
        series = [with_leads(s, known.channels(s.numpy(), features, times[i]), horizon) if i in cuts else s
                  for i, s in enumerate(series)]
    series_ids = None
    if series_index:
        position = {i: k for k, i in enumerate(cuts)}
        series = [with_index(s, position[i]) if i in cuts else s for i, s in enumerate(series)]
        series_ids = [data.ids[i] for i in cuts]
    return Splits(datasets={split: WindowDataset(series, found, length, horizon, target_index, extras)
                            for split, found in starts.items()},
                  ids={k: sorted({data.ids[i] for i, _ in v}, key=str) for k, v in starts.items()},
                  sizes=tuple(len(starts[s]) for s in SPLITS), input_length=length, input_scaler=inputs,
                  target_scaler=inputs.select(target_index), target_index=tuple(target_index), series_scalers=by_id,
                  series_ids=series_ids)


def with_index(x: torch.Tensor, index: int) -> torch.Tensor:
    """``x`` (T, C) with a last channel holding the series index at every step."""
    return torch.cat([x, torch.full((len(x), 1), float(index), dtype=x.dtype)], dim=1)


MIN_SCALING_ROWS = 2   # a series' train part shorter than this is scaled with the pooled statistics


def _per_series(data: Sequences, cuts: dict[int, Cut], pooled: Standardizer, target_index: list[int], horizon: int,
                season: int) -> tuple[dict[int, Standardizer], dict[int, dict[str, torch.Tensor]]]:
    """``(scalers, extras)`` of each series: its standardizer, fitted on its rows before its
    valid start only (the pooled one when it has fewer than :data:`MIN_SCALING_ROWS`), and
    the fields its items carry (see :func:`series_splits`)."""
    scalers, extras = {}, {}
    for i, cut in cuts.items():
        train = data.x[i][: cut.valid_start]
        scaler = Standardizer.fit(train) if len(train) >= MIN_SCALING_ROWS else pooled
        targets = train[:, target_index]
        lag = season if len(targets) > season else 1
        naive = np.abs(targets[lag:] - targets[:-lag]).mean(0) if len(targets) > lag else np.ones(len(target_index))
        naive = np.where(naive > 0, naive, 1.0)   # a constant train part: MASE is the MAE
        std = np.asarray(scaler.select(target_index).std)
        scalers[i] = scaler
        extras[i] = {"scale": torch.as_tensor(np.tile(std, horizon), dtype=torch.float32),
                     "series": torch.tensor(i), "mase_scale": torch.as_tensor(np.tile(naive, horizon),
                                                                              dtype=torch.float32)}
    return scalers, extras
