"""Train/valid/test splits that never leak, and the datasets they become.

Many sequences are split at random (seeded); a forecast series is cut in time order (valid
and test are the later stretches; their windows may look back into the earlier stretch for
inputs, never for targets). The :class:`~.scaling.Standardizer` of the inputs (and of
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
from .reading import Sequences
from .scaling import Standardizer
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


def partition(n: int, fractions: Sequence[float], seed: int) -> dict[str, np.ndarray]:
    """``{split: indices}``: ``n`` sequences shuffled with ``seed`` and cut by ``fractions``."""
    n_valid, n_test = int(round(n * fractions[1])), int(round(n * fractions[2]))
    counts = {"train": n - n_valid - n_test, "valid": n_valid, "test": n_test}
    for split, count in counts.items():
        if count < 1:
            raise DataError(
                f"the {split} split is empty: {n} sequences split {'/'.join(f'{f:.0%}' for f in fractions)} "
                f"give {counts['train']}/{n_valid}/{n_test} for train/valid/test; give more sequences or change split=..."
            )
    order = np.random.default_rng(seed).permutation(n)
    return {"train": order[: counts["train"]], "valid": order[counts["train"]: counts["train"] + n_valid],
            "test": order[counts["train"] + n_valid:]}


def _targets(data: Sequences, kind: str, parts: dict[str, np.ndarray]):
    """``(scaler, y of sequence i)``: class indices as they are; numbers standardised with the
    train split's statistics (the scaler, None for classes)."""
    if kind == "classify":
        return None, lambda i: torch.as_tensor(data.y[i], dtype=torch.long)
    scaler = Standardizer.fit(np.concatenate([data.y[i].reshape(-1, data.y[i].shape[-1]) for i in parts["train"]]))
    return scaler, lambda i: torch.as_tensor(scaler.transform(data.y[i]), dtype=torch.float32)


def split_sequences(data: Sequences, kind: str, fractions: Sequence[float], seed: int,
                    input_length: int | None = None) -> Splits:
    """Sequences shuffled with ``seed`` and cut by ``fractions``; ``kind`` says whether the
    targets are classes (kept as indices) or numbers (standardised)."""
    parts = partition(len(data.x), fractions, seed)
    inputs = Standardizer.fit(np.concatenate([data.x[i] for i in parts["train"]]))
    targets, y_of = _targets(data, kind, parts)
    datasets = {split: ItemDataset([{"x": scaled(data.x[i], inputs), "y": y_of(i)} for i in rows])
                for split, rows in parts.items()}
    longest = max(len(data.x[i]) for i in parts["train"])
    return Splits(datasets=datasets, ids={split: [data.ids[i] for i in rows] for split, rows in parts.items()},
                  sizes=tuple(len(parts[s]) for s in SPLITS), input_length=input_length or longest,
                  input_scaler=inputs, target_scaler=targets)


def split_texts(data: Sequences, kind: str, fractions: Sequence[float], seed: int, *, tokens: str,
                max_vocab: int, min_count: int, max_length: int, input_length: int | None = None) -> Splits:
    """Texts (token lists) shuffled and cut like :func:`split_sequences`; the vocabulary is
    built from the train split's tokens only (each text cut to ``max_length``), and every
    split's texts become token ids with it."""
    parts = partition(len(data.x), fractions, seed)
    train = [data.x[i] for i in parts["train"]]
    vocabulary = Vocabulary.build((t[:max_length] for t in train), max_vocab=max_vocab, min_count=min_count)
    encoder = TextEncoder(tokens=tokens, max_length=max_length, vocabulary=vocabulary)
    targets, y_of = _targets(data, kind, parts)
    ids = {split: [encoder.ids(data.x[i]) for i in rows] for split, rows in parts.items()}
    datasets = {split: ItemDataset([{"x": x, "y": y_of(i)} for x, i in zip(ids[split], rows)])
                for split, rows in parts.items()}
    longest = max(len(x) for x in ids["train"])
    return Splits(datasets=datasets, ids={split: [data.ids[i] for i in rows] for split, rows in parts.items()},
                  sizes=tuple(len(parts[s]) for s in SPLITS), input_length=input_length or longest,
                  input_scaler=None, target_scaler=targets, text_encoder=encoder,
                  text_stats=TextStats.of(train, ids["valid"], max_length))


def split_series(data: Sequences, target_index: Sequence[int], input_length: int, horizon: int,
                 fractions: Sequence[float]) -> Splits:
    """Each series cut in time order by ``fractions`` into windows of ``input_length`` inputs
    and the ``horizon`` steps after them, of the features at ``target_index``."""
    length, need = input_length, input_length + horizon
    long_enough = [i for i, x in enumerate(data.x) if len(x) >= need]
    if not long_enough:
        longest = max(len(x) for x in data.x)
        what = "the series has" if len(data.x) == 1 else f"the longest of {len(data.x)} series has"
        raise DataError(f"file too short: {what} {longest} rows, fewer than input_length {length} + "
                        f"horizon {horizon} = {need}; lower input_length=... or horizon=...")
    notes = []
    if len(long_enough) < len(data.x):
        notes.append(f"skipped {len(data.x) - len(long_enough)} series shorter than "
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
                            f"window (it needs {needed} rows); give a longer series, a smaller input_length=... or "
                            f"horizon=..., or change split=...")
    inputs = Standardizer.fit(np.concatenate([data.x[i][: bounds[i][0]] for i in long_enough]))
    series = [scaled(x, inputs) if i in bounds else torch.empty(0) for i, x in enumerate(data.x)]
    return Splits(datasets={split: WindowDataset(series, found, length, horizon, target_index)
                            for split, found in starts.items()},
                  ids={k: sorted({data.ids[i] for i, _ in v}, key=str) for k, v in starts.items()},
                  sizes=tuple(len(starts[s]) for s in SPLITS), input_length=length, input_scaler=inputs,
                  target_scaler=inputs.select(target_index), target_index=tuple(target_index), notes=notes)
