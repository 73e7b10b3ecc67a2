"""Polyphonic music: predict the next 88-key piano-roll frame (JSB Chorales, Nottingham,
MuseData, Piano-midi.de)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .. import paper
from ..data import locate, spec_for
from ..data.parsers import read_music
from .base import Metric, Preset, Task

# The paper tunes a TCN for JSB and Nottingham only; MuseData and Piano-midi.de (in the official
# code's data folder, not in the paper's tables) start from Nottingham's setting.
_PRESET_FROM = {"jsb": "jsb", "nottingham": "nottingham", "muse": "nottingham", "piano": "nottingham"}


class SequenceListDataset(Dataset):
    """Variable-length sequences kept in memory as tensors; item ``i`` is ``{"x", "y"}`` of sequence ``i``."""

    def __init__(self, xs: list[torch.Tensor], ys: list[torch.Tensor]) -> None:
        self.xs, self.ys = xs, ys

    def __len__(self) -> int:
        return len(self.xs)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        return {"x": self.xs[i], "y": self.ys[i]}


def frame_nll(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed negative log-likelihood of binary frames and the number of frames it covers.

    Binary cross-entropy computed from logits (numerically safe), summed over the notes of
    each frame and over the valid frames.

    Shape:
        - logits, target: :math:`(B, T, 88)`; mask: :math:`(B, T)` bool of valid frames, or None.
        - Output: two scalars, (sum of per-frame NLL, number of frames).
    """
    per_frame = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
    if mask is None:
        return per_frame.sum(), torch.tensor(float(per_frame.numel()), device=logits.device)
    mask = mask.to(per_frame.dtype)
    return (per_frame * mask).sum(), mask.sum()


class Music(Task):
    """Next-frame prediction on 88-key piano rolls; loss and metric = NLL per frame.

    Items are whole pieces: ``x`` = frames[:-1], ``y`` = frames[1:], each (T-1, 88) float.
    Batches of several pieces are right-padded with a ``mask`` (the padded frames are not
    scored); the official setting is one piece per step (batch size 1). Both give the same
    per-frame NLL for a causal model.

    Variant: ``download``, ``verify`` (sha256 of the ``.mat`` file where one is published);
    ``sequence_loss``: the training loss of a batch, ``"mean"`` (default: its NLL per frame;
    at one piece per step, every piece weighs the same whatever its length) or ``"sum"`` (the
    official script's: each piece's summed NLL, averaged over the batch's pieces, so every
    frame weighs the same, as in the metric, and a long piece moves the weights more than a
    short one). Evaluation is NLL per frame either way.
    """

    input_size, output_size, head = 88, 88, "per_step"
    metrics = (Metric("nll", higher_is_better=False),)

    def __init__(self, data_dir=None, download: bool = True, verify: bool = True, sequence_loss: str = "mean") -> None:
        if sequence_loss not in ("mean", "sum"):
            raise ValueError(f"sequence_loss must be 'mean' or 'sum', got {sequence_loss!r}")
        super().__init__(data_dir, download=download, verify=verify, sequence_loss=sequence_loss)
        name = self.name
        cfg = paper.config(_PRESET_FROM[name])
        model = dict(kernel_size=cfg.kernel_size, levels=cfg.levels, hidden_size=cfg.hidden, dropout=cfg.dropout)
        self.presets = {"paper": Preset(model, **paper.TRAINING["music"], clip=cfg.clip)}
        self.paper_results = paper.RESULTS[name][3] if name in paper.RESULTS else {}
        self._splits: dict[str, SequenceListDataset] | None = None

    def dataset(self, split: str) -> SequenceListDataset:
        self.check_split(split)
        if self._splits is None:
            file = spec_for(self.name).files[0].name
            path = locate(self.name, data_dir=self.data_dir, download=self.variant["download"],
                          verify=self.variant["verify"])[file]
            self._splits = {}
            for s, pieces in read_music(path).items():
                frames = [torch.from_numpy(p) for p in pieces]
                self._splits[s] = SequenceListDataset([f[:-1] for f in frames], [f[1:] for f in frames])
        return self._splits[split]

    def loss(self, output, batch):
        total, frames = frame_nll(output, batch["y"], batch.get("mask"))
        if self.variant["sequence_loss"] == "sum":
            return total / output.size(0)
        return total / frames.clamp_min(1.0)

    def statistics(self, output, batch):
        return {"nll": frame_nll(output.detach(), batch["y"], batch.get("mask"))}


class JSBChorales(Music):
    name = "jsb"


class Nottingham(Music):
    name = "nottingham"


class MuseData(Music):
    name = "muse"


class PianoMidi(Music):
    name = "piano"
