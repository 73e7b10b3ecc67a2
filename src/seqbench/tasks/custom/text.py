"""Text inputs: tokens, a vocabulary fitted on the train split, and texts as token ids.

Tokens (``tokens=``):

* ``"word"`` (default): the text lower-cased and split into runs of letters and digits
  (any script: ``[^\\W_]``); an apostrophe between two such runs stays inside the word
  (``"don't"``, ``"o'clock"``). Everything else (spaces, punctuation, underscores, symbols)
  separates words and is dropped.
* ``"char"``: every character as it is (no lower-casing, spaces and punctuation kept), so
  joining the decoded characters gives the text back exactly.

Ids: ``0`` is the padding (what :func:`~seqbench.tasks.base.pad_collate` right-pads a batch
with; the mask marks the valid steps), ``1`` the unknown token (one the train split did not
hold, or held fewer than ``min_count`` times), ``2, 3, ...`` the vocabulary, most frequent
first and ties in alphabetical order, so a file gives the same ids on every run. The
vocabulary is built from the **train split only**: a word seen only in valid or test is
unknown, as any new word is at prediction time.

A text longer than ``max_length`` tokens keeps its first ``max_length``. A text with no token
(only punctuation, or blank) reads as one unknown token: every sequence needs a step, and
"nothing the model knows" is what such a text holds; the reader notes which rows they are.

Everything here is plain data (:meth:`TextEncoder.to_dict`), so a checkpoint carries it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch

from .errors import DataError, cell

TOKEN_KINDS = ("word", "char")
PAD_ID, UNK_ID = 0, 1
PAD, UNK = "<pad>", "<unk>"
RESERVED = 2                   # ids before the vocabulary's own: padding and unknown
DEFAULT_MAX_VOCAB = 20_000
DEFAULT_MIN_COUNT = 1
DEFAULT_MAX_LENGTH = 512
MAX_LENGTH_LIMIT = 65_536      # tokens a text may keep: beyond this no model here fits a batch in memory
DEFAULT_EMBEDDING = 64         # embedding size of every model on text: the same for all, so matched counts stay fair

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str, tokens: str = "word") -> list[str]:
    """The tokens of ``text``: lower-cased words (``"word"``) or its characters (``"char"``)."""
    if tokens == "word":
        return _WORD.findall(text.lower())
    if tokens == "char":
        return list(text)
    raise DataError(f"tokens must be one of {', '.join(TOKEN_KINDS)}, got {tokens!r}")


@dataclass(frozen=True)
class Vocabulary:
    """Tokens and their ids: ``tokens[i]`` has id ``i + 2``; ids 0 and 1 are padding and unknown.

    Build one with :meth:`build`; ``len(vocabulary)`` counts the two reserved ids too: it is
    the embedding's number of rows, the model's ``input_size``.
    """

    tokens: tuple[str, ...]
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(str(t) for t in self.tokens))
        index = {t: i + RESERVED for i, t in enumerate(self.tokens)}
        if len(index) != len(self.tokens):
            raise ValueError("a vocabulary lists each token once")
        object.__setattr__(self, "_index", index)

    @classmethod
    def build(cls, texts: Iterable[Sequence[str]], max_vocab: int = DEFAULT_MAX_VOCAB,
              min_count: int = DEFAULT_MIN_COUNT) -> "Vocabulary":
        """The ``max_vocab`` most frequent tokens of ``texts`` seen at least ``min_count``
        times, most frequent first, ties alphabetically."""
        counts = Counter(t for text in texts for t in text)
        kept = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        return cls(tuple(kept[:max_vocab]))

    def __len__(self) -> int:
        return len(self.tokens) + RESERVED

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """The ids of ``tokens``, :data:`UNK_ID` for those not in the vocabulary."""
        return [self._index.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The tokens of ``ids`` (:data:`PAD` and :data:`UNK` for the reserved ids)."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self):
                raise ValueError(f"token id {i} is outside the vocabulary [0, {len(self)})")
            out.append(PAD if i == PAD_ID else UNK if i == UNK_ID else self.tokens[i - RESERVED])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Vocabulary":
        return cls(tuple(d["tokens"]))


@dataclass(frozen=True)
class TextEncoder:
    """How a text becomes a model input: tokenised, cut to ``max_length``, looked up.

    Attributes:
        tokens: ``"word"`` or ``"char"``.
        max_length: the most tokens a text keeps (its first ones).
        vocabulary: fitted on the train split.
        embedding_size: the size of the models' token embedding.
    """

    tokens: str
    max_length: int
    vocabulary: Vocabulary
    embedding_size: int = DEFAULT_EMBEDDING

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.tokens)

    def ids(self, tokens: Sequence[str]) -> torch.Tensor:
        """(T,) int64 ids of a tokenised text, cut to ``max_length``; one unknown id when empty."""
        ids = self.vocabulary.encode(tokens[: self.max_length]) or [UNK_ID]
        return torch.tensor(ids, dtype=torch.long)

    def encode(self, text: str) -> torch.Tensor:
        """(T,) int64 ids of ``text``."""
        return self.ids(self.tokenize(text))

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``, padding left out: characters joined as they are, words by spaces."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        tokens = self.vocabulary.decode(i for i in ids if int(i) != PAD_ID)
        return ("" if self.tokens == "char" else " ").join(tokens)

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "max_length": self.max_length, "embedding_size": self.embedding_size,
                "vocabulary": self.vocabulary.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TextEncoder":
        return cls(tokens=d["tokens"], max_length=int(d["max_length"]), embedding_size=int(d["embedding_size"]),
                   vocabulary=Vocabulary.from_dict(d["vocabulary"]))


@dataclass(frozen=True)
class TextStats:
    """What the user should know of the texts: lengths on train, unknown tokens on valid.

    Attributes:
        lengths: tokens per train text before cutting: min, median, mean, max.
        truncated: train texts longer than ``max_length`` (cut to it), and the train texts.
        unknown: unknown ids among the valid split's ids, and all its ids.
    """

    lengths: tuple[int, float, float, int]
    truncated: tuple[int, int]
    unknown: tuple[int, int]

    @classmethod
    def of(cls, train: Sequence[Sequence[str]], valid_ids: Sequence[torch.Tensor], max_length: int) -> "TextStats":
        n = np.array([len(t) for t in train])
        unknown = sum(int((ids == UNK_ID).sum()) for ids in valid_ids)
        return cls(lengths=(int(n.min()), float(np.median(n)), float(n.mean()), int(n.max())),
                   truncated=(int((n > max_length).sum()), len(n)),
                   unknown=(unknown, sum(len(ids) for ids in valid_ids)))


def check_options(tokens, max_vocab, min_count, max_length) -> None:
    """Raise a DataError naming the keyword of a text option that is not one of its values."""
    if tokens not in TOKEN_KINDS:
        raise DataError(f"tokens must be one of {', '.join(TOKEN_KINDS)}, got {tokens!r}")
    for name, value in (("max_vocab", max_vocab), ("min_count", min_count), ("max_length", max_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"{name} must be a positive integer, got {cell(value)}")
    if max_length > MAX_LENGTH_LIMIT:
        raise DataError(f"max_length must be at most {MAX_LENGTH_LIMIT} tokens, got {max_length}")


def describe(column: str, encoder: TextEncoder, stats: TextStats | None) -> list[str]:
    """The lines :meth:`~.task.CustomTask.describe` prints about a text input."""
    v = encoder.vocabulary
    kind = "word" if encoder.tokens == "word" else "character"
    lines = [f"text column {column!r}: {kind} tokens, vocabulary of {len(v) - RESERVED} from the train split "
             f"(+ padding and unknown ids: {len(v)}), embedded in {encoder.embedding_size} dimensions"]
    if stats is not None:
        lo, median, mean, hi = stats.lengths
        cut, n = stats.truncated
        m = encoder.max_length
        cut_text = f"{cut} of {n} longer than {m} kept their first {m}" if cut else f"none longer than {m}"
        lines.append(f"tokens per text (train): min {lo}, median {median:g}, mean {mean:.1f}, max {hi}; "
                     f"{cut_text} (max_length=...)")
        unk, total = stats.unknown
        lines.append(f"unknown tokens on valid: {unk / max(total, 1):.1%} ({unk} of {total})")
    return lines
