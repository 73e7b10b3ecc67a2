"""Checkpoints that survive a kill at any moment (written to a temporary file, then renamed),
are read back as plain data only, and are written on SIGTERM before the process stops."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Checkpoint, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from ..files import atomic_path
from .load import read_checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, but a reader never sees a half-written file: the
    checkpoint goes to a temporary file in the same directory, is flushed to disk, and
    replaces ``NAME`` with one rename (:func:`seqbench.files.atomic_path`). A failed write (a full disk) leaves the
    previous checkpoint as it was and no temporary file behind.

    Reading (resume, testing the best checkpoint) goes through
    :func:`~seqbench.training.load.read_checkpoint`: ``weights_only``, whatever the caller asks.
    """

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
                torch.save(checkpoint, f)
        except OSError as e:
            raise OSError(e.errno, f"could not write checkpoint {path} ({e.strerror or e}); "
                                   f"the previous one, if any, is unchanged") from None

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        return read_checkpoint(path, map_location=map_location if map_location is not None else "cpu")


class ResumeCheckpoint(Checkpoint):
    """Writes ``path`` (the run's ``last.ckpt``) at the end of every epoch and every
    ``every_n_steps`` optimizer steps, so a killed run loses at most that many steps
    (``--resume`` replays them).

    A step that validates (``--val-every``, the end of an epoch, a stop by ``--max-time``) is
    checkpointed once its validation is done, never before: the checkpoint then holds that
    validation's history row, best score and learning-rate change, and a run killed during
    the validation resumes from the checkpoint before it and validates again. (A checkpoint
    written between a step and its validation would resume after the step and never validate
    it: Lightning skips that validation.)

    On SIGTERM (a scheduler's or ``kill``'s polite stop) it writes ``last.ckpt`` once the step
    in flight is done, its validation included, and stops the run
    (:class:`~seqbench.training.runner.RunInterrupted`), so nothing is lost. Lightning alone
    would only notice at the end of the epoch.

    A :class:`~lightning.pytorch.callbacks.Checkpoint` subclass, so Lightning calls its
    epoch-end hook after the LightningModule's (which closes the epoch's history row).
    """

    def __init__(self, path: str | os.PathLike, every_n_steps: int | None = None) -> None:
        self.path = Path(path)
        self.every_n_steps = every_n_steps
        self.stopped_at_step: int | None = None
        self._after_validation = False  # checkpoint this step once its validation is done
        self._stop = False              # SIGTERM seen: stop once the checkpoint is written
        self._cut_short = False         # the epoch ends before its last batch (--max-time)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._stop = self._stop or trainer.received_sigterm
        last_batch = batch_idx + 1 >= trainer.num_training_batches
        self._cut_short = trainer.should_stop and not last_batch
        periodic = bool(self.every_n_steps) and trainer.global_step % self.every_n_steps == 0
        if _validates_after_this_batch(trainer):
            self._after_validation = periodic or self._stop or self._cut_short
            # Lightning abandons a validation at its first batch once it has seen SIGTERM;
            # this one must finish so the checkpoint after it holds it
            _forget_sigterm(trainer)
        elif last_batch:
            return  # the epoch's end writes it
        elif self._stop:
            self._save_and_stop(trainer)
        elif periodic or self._cut_short:
            trainer.save_checkpoint(self.path)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        self._stop = self._stop or trainer.received_sigterm  # it came during the validation's last batch
        if not (self._after_validation or self._stop):
            return
        self._after_validation = False
        loop = trainer.fit_loop.epoch_loop
        if loop.batch_progress.is_last_batch:
            return  # the epoch's end writes it
        if self._stop:
            self._save_and_stop(trainer)
        trainer.save_checkpoint(self.path)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self._cut_short:
            # the checkpoint of the step it stopped at stands: one written here would look like
            # the epoch's end, and a resume would skip the rest of the epoch
            return
        if self._stop or trainer.received_sigterm:
            self._save_and_stop(trainer)
        trainer.save_checkpoint(self.path)

    def _save_and_stop(self, trainer) -> None:
        trainer.save_checkpoint(self.path)
        self.stopped_at_step = trainer.global_step
        trainer.should_stop = True
        raise Terminated()


def _validates_after_this_batch(trainer) -> bool:
    """Whether Lightning validates once the training batch that just ended is done: Lightning's
    own test (``val_check_interval`` steps, the end of an epoch, a requested stop), asked from
    ``on_train_batch_end``, where its answer is already settled."""
    return trainer.fit_loop.epoch_loop._should_check_val_fx(trainer.fit_loop._data_fetcher)


def _forget_sigterm(trainer) -> None:
    """Clear Lightning's SIGTERM flag (read-only as ``trainer.received_sigterm``); a second
    SIGTERM sets it again."""
    trainer._signal_connector.received_sigterm = False


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` keeping ``best.ckpt``, the checkpoint a run delivers:
    the one its selection rule picks, with ties going to the **later** validation.

    Lightning keeps the earliest of tied scores; an accuracy on a small validation split can
    stay tied at chance for many epochs while the model learns, and the earliest tie is then
    an untrained model. ``monitor=None`` keeps the last validation's checkpoint ("last").
    ``best_step`` is the optimizer step of the kept checkpoint (saved in its state, so a
    resumed run knows it too): the runner reports the history row of that step.

    Its resume also survives a moved run directory (another machine, another clone, a run
    directory carried in a repository). Lightning remembers the best score only when a
    checkpoint is resumed from the directory it was written in; elsewhere it forgets the
    score (the first validation after the resume would then replace ``best.ckpt`` whatever
    its score) and keeps the old absolute path of ``best.ckpt`` (the final test would look
    for it there). Paths in the saved state are rebased onto this run's directory instead:
    the files have the same names.
    """

    best_step: int | None = None

    def check_monitor_top_k(self, trainer, current=None) -> bool:
        if current is None or self.save_top_k != 1 or not self.best_k_models:
            return super().check_monitor_top_k(trainer, current)
        at_least_as_good = {"min": torch.le, "max": torch.ge}[self.mode]  # a tie: the later one
        decision = bool(at_least_as_good(current, self.best_k_models[self.kth_best_model_path]))
        return trainer.strategy.reduce_boolean_decision(decision)

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        self.best_step = trainer.global_step  # before saving: it is part of the saved state
        super()._save_checkpoint(trainer, filepath)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "best_step": self.best_step}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_step = state_dict.get("best_step")
        saved_dir = state_dict.get("dirpath")
        if saved_dir and self.dirpath and saved_dir != self.dirpath:
            def rebase(path):
                return os.path.join(self.dirpath, os.path.basename(path)) if path else path
            state_dict = dict(state_dict, dirpath=self.dirpath,
                              best_model_path=rebase(state_dict.get("best_model_path")),
                              kth_best_model_path=rebase(state_dict.get("kth_best_model_path")),
                              last_model_path=rebase(state_dict.get("last_model_path")),
                              best_k_models={rebase(k): v for k, v in state_dict.get("best_k_models", {}).items()})
        super().load_state_dict(state_dict)


class Terminated(Exception):
    """Raised inside the training loop once the SIGTERM checkpoint is written."""
