"""Checkpoints that survive a kill at any moment: written to a temporary file, then renamed."""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.callbacks import Checkpoint
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

LAST = "last.ckpt"   # newest state: end of every epoch, and every N steps within one
BEST = "best.ckpt"   # the best validation score so far


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, but a reader never sees a half-written file: the
    checkpoint goes to ``NAME.tmp`` in the same directory, is flushed to disk, and
    replaces ``NAME`` with one ``os.replace``."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


class ResumeCheckpoint(Checkpoint):
    """Writes ``last.ckpt`` at the end of every epoch and every ``every_n_steps`` optimizer
    steps, so a killed run loses at most that many steps (``--resume`` replays them).

    A :class:`~lightning.pytorch.callbacks.Checkpoint` subclass, so Lightning calls its
    epoch-end hook after the LightningModule's (which closes the epoch's history row).
    """

    def __init__(self, dirpath: str | os.PathLike, every_n_steps: int | None = None) -> None:
        self.path = Path(dirpath) / LAST
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0 \
                and batch_idx + 1 < trainer.num_training_batches:
            trainer.save_checkpoint(self.path)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        trainer.save_checkpoint(self.path)


def newest_checkpoint(dirpath: str | os.PathLike) -> Path | None:
    """The checkpoint to resume from, or ``None`` when the run has none."""
    path = Path(dirpath) / LAST
    return path if path.exists() else None
