"""A token corpus as training data: its vocabulary, its ids, and the two ways the language
tasks cut it into items (contiguous windows scored once each, or each passage's last word),
with the per-token NLL they are scored by.

A corpus is one long token stream. For training and evaluation it is cut into ``streams``
contiguous rows (the official ``batchify``) and each row into windows of ``seq_len`` steps
that advance by ``valid_seq_len``: a window's first ``seq_len - valid_seq_len`` steps are
history already scored by the previous window, only its last ``valid_seq_len`` steps are
scored (``target_mask``). Every target token is scored exactly once: the first window of a
row scores all its steps, the last window is moved back to end at the row's end.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..data import CorruptFileError

UNK = "<unk>"


def build_vocabulary(tokens, sort: bool = False) -> dict[str, int]:
    """Token -> id for the distinct ``tokens`` (a list of words, or a string of characters): in
    order of first appearance (the official corpora), or sorted (character sets, so ids do not
    depend on the text's order)."""
    distinct = sorted(set(tokens)) if sort else dict.fromkeys(tokens)
    return {t: i for i, t in enumerate(distinct)}


def encode(tokens, vocab: dict[str, int], source) -> torch.Tensor:
    """Token ids (int64) of a list of tokens or a string of characters. A token outside
    ``vocab`` maps to ``<unk>`` when the vocabulary has one; otherwise it is an error naming
    ``source`` and the token."""
    unk = vocab.get(UNK)
    if isinstance(tokens, str) and tokens.isascii() and all(len(c) == 1 and c.isascii() for c in vocab):
        # characters: one table lookup over the bytes (text8's 90M characters in a second)
        table = np.full(128, -1, dtype=np.int64)
        for c, i in vocab.items():
            table[ord(c)] = i
        ids = table[np.frombuffer(tokens.encode("ascii"), dtype=np.uint8)]
        if (ids < 0).any():
            bad = tokens[int(np.argmax(ids < 0))]
            raise CorruptFileError(f"{source}: character {bad!r} is not in the training vocabulary")
        return torch.from_numpy(ids)
    try:
        ids = [vocab[t] for t in tokens] if unk is None else [vocab.get(t, unk) for t in tokens]
    except KeyError as e:
        raise CorruptFileError(f"{source}: token {e.args[0]!r} is not in the training vocabulary") from None
    return torch.tensor(ids, dtype=torch.long)


class StreamWindows(Dataset):
    """Windows over a token stream cut into ``streams`` contiguous rows.

    Item ``i`` is window ``i // streams`` of row ``i % streams`` (window-major), so a
    sequential loader with ``batch_size=streams`` yields the official (streams x window)
    batches; shuffling windows is fine for models that carry no state between batches.

    Item: ``x`` (W,) int64 inputs, ``y`` (W,) int64 next tokens, ``target_mask`` (W,) bool of the
    scored steps, with W = min(seq_len, row length - 1).
    """

    def __init__(self, ids: torch.Tensor, streams: int, seq_len: int, valid_seq_len: int) -> None:
        if not 1 <= valid_seq_len <= seq_len:
            raise ValueError(f"need 1 <= valid_seq_len <= seq_len, got valid_seq_len={valid_seq_len}, seq_len={seq_len}")
        row = len(ids) // streams
        if row < 2:
            raise ValueError(f"a stream of {len(ids)} tokens is too short for {streams} rows of at least 2 tokens")
        self.rows = ids[: row * streams].view(streams, row)  # the trailing len % streams tokens are dropped
        self.streams, self.width = streams, min(seq_len, row - 1)
        ends = list(range(self.width, row - 1, valid_seq_len)) + [row - 1]
        ends = sorted(set(ends))
        self.starts = torch.tensor([e - self.width for e in ends])
        previous = torch.tensor([0] + ends[:-1])
        self.score_from = previous - self.starts  # first scored offset within each window

    @property
    def scored_tokens(self) -> int:
        """Targets scored over all windows (each target of each row once)."""
        return self.streams * (self.rows.shape[1] - 1)

    def __len__(self) -> int:
        return len(self.starts) * self.streams

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        w, r = divmod(int(i), self.streams)
        s = int(self.starts[w])
        window = self.rows[r, s: s + self.width + 1]
        return {"x": window[:-1], "y": window[1:], "target_mask": torch.arange(self.width) >= self.score_from[w]}


class LastWordDataset(Dataset):
    """LAMBADA evaluation: each passage's last word predicted from the words before it.

    Item: ``x`` = ids of words[:-1], ``y`` = ids of words[1:], ``target_mask`` true at the last
    step only (where ``y`` is the target word), so the target is never fed as input.
    """

    def __init__(self, passages: list[torch.Tensor]) -> None:
        self.passages = passages

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        p = self.passages[i]
        mask = torch.zeros(len(p) - 1, dtype=torch.bool)
        mask[-1] = True
        return {"x": p[:-1], "y": p[1:], "target_mask": mask}


def token_nll(logits: torch.Tensor, target: torch.Tensor, target_mask: torch.Tensor | None = None,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Summed cross-entropy over the scored tokens, their count, and how many were predicted right.

    Shape:
        - logits: :math:`(B, T, V)`; target: :math:`(B, T)` int64; target_mask, mask: :math:`(B, T)` bool.
        - Output: three scalars.
    """
    keep = torch.ones_like(target, dtype=torch.bool)
    if target_mask is not None:
        keep = keep & target_mask
    if mask is not None:
        keep = keep & mask
    scored, wanted = logits[keep], target[keep]  # only the scored steps go through the softmax
    nll = F.cross_entropy(scored, wanted, reduction="sum")
    correct = (scored.argmax(-1) == wanted).sum()
    return nll, keep.sum().to(logits.dtype), correct.to(logits.dtype)
