"""One LightningModule for every task and model: the task supplies the loss and metrics."""

from __future__ import annotations

import dataclasses
import math
import time

import lightning.pytorch as pl
import torch

from ..nn import SequenceModel
from ..tasks import Task
from .config import Training
from .schedules import SCHEDULES
from .totals import ItemTotals, StatisticTotals


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite: every step after it would be wasted."""


class SequenceTaskModule(pl.LightningModule):
    """Trains ``model`` on ``task`` with the resolved ``training`` settings.

    Validation and test statistics are ``task.statistics`` summed over batches and over
    processes, then turned into metrics by ``task.compute_metrics``: metrics of a split
    are exact, not an average of per-batch averages. Logged names are ``"{split}/{metric}"``.

    The module also keeps the run's history (one row per epoch: mean training loss,
    validation metrics, learning rate, elapsed time; with ``track_test`` also the test
    metrics of that epoch's weights, which are never used to choose anything) and stores it, the torch RNG state and
    the position in the epoch in every checkpoint, so a resumed run continues exactly.
    """

    def __init__(self, task: Task, model: SequenceModel, training: Training, run_config: dict | None = None,
                 track_test: bool = False) -> None:
        super().__init__()
        self.task, self.model, self.training_cfg = task, model, training
        self.track_test = track_test
        # what evaluate needs to rebuild task and model from the checkpoint alone, and the
        # resolved settings, so a resume can tell that a preset changed under the run's name
        self.save_hyperparameters({"run_config": run_config or {}, "training": dataclasses.asdict(training)},
                                  logger=False)
        self.history: list[dict] = []
        self._stats: dict[str, StatisticTotals] = {}  # split -> its sums so far
        self._train_loss = [0.0, 0]          # sum, batches, since the last validation, on this process
        self._batches_done = 0               # batches of the current epoch already trained on
        self._elapsed_before = 0.0           # training seconds of earlier (interrupted) sessions
        self._started = time.monotonic()
        self._rng_to_restore = None
        self._last_valid: dict[str, float] = {}
        self._last_test: dict[str, float] = {}
        self.test_metrics: dict[str, float] = {}
        # each test item's statistics (this process's share of the split), for paired tests
        self.test_items: ItemTotals | None = None
        self.resume_position: tuple[int, int] | None = None

    def forward(self, batch):
        return self.model(batch["x"], batch.get("mask"))

    # -- training -------------------------------------------------------------------------
    def on_train_start(self) -> None:
        self._started = time.monotonic()
        if self._rng_to_restore is not None:  # after Lightning's own set-up has used the RNG
            torch.set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
        if self.resume_position is not None:  # skip the batches the checkpoint already trained on
            sampler = getattr(self.trainer.train_dataloader, "batch_sampler", None)
            if hasattr(sampler, "resume"):
                sampler.resume(*self.resume_position)
            self.resume_position = None

    def training_step(self, batch, batch_idx):
        loss = self.task.loss(self(batch), batch)
        value = float(loss.detach())
        if not math.isfinite(value):  # stop before the step writes NaN into the weights
            raise TrainingDiverged(f"the training loss is {value} at step {self.global_step + 1} "
                                   f"(epoch {self.current_epoch + 1}); training stopped there")
        self._train_loss[0] += value
        self._train_loss[1] += 1
        self._batches_done = batch_idx + 1
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(batch["x"]))
        return loss

    def on_train_epoch_end(self) -> None:
        self._batches_done = 0

    def _record(self) -> None:
        """One history row per validation: by default at the end of every epoch; with
        ``val_every`` every that many steps, so ``epoch`` is then a fraction."""
        s, n = self.trainer.strategy.reduce(torch.tensor(self._train_loss, dtype=torch.float64, device=self.device),
                                            reduce_op="sum")
        epoch = self.current_epoch + self._batches_done / max(self.trainer.num_training_batches, 1)
        epoch = int(epoch) if float(epoch).is_integer() else round(epoch, 4)
        row = {"epoch": epoch, "step": self.global_step, "train_loss": float(s / max(float(n), 1.0)),
               "lr": self.optimizers().param_groups[0]["lr"], "elapsed_s": self.elapsed()}
        row.update({f"valid_{k}": v for k, v in self._last_valid.items()})
        row.update({f"test_{k}": v for k, v in self._last_test.items()})
        self.history.append(row)
        self._train_loss = [0.0, 0]

    def elapsed(self) -> float:
        return self._elapsed_before + time.monotonic() - self._started

    # -- validation and test: additive statistics ----------------------------------------
    def _accumulate(self, split: str, batch) -> torch.Tensor:
        output = self(batch)
        self._stats.setdefault(split, StatisticTotals(self.task, self.device)).add(output, batch)
        return output

    def _finish(self, split: str, log_as: str | None = None) -> dict[str, float]:
        totals = self._stats.pop(split, None)
        metrics = {} if totals is None else \
            totals.metrics(reduce=lambda t: self.trainer.strategy.reduce(t, reduce_op="sum"))
        for k, v in metrics.items():
            self.log(f"{log_as or split}/{k}", v, prog_bar=(split == "valid" and k == self.task.primary_metric.name),
                     sync_dist=False, rank_zero_only=False)
        return metrics

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        # with track_test the trainer's second validation loader is the test split
        self._accumulate("valid" if dataloader_idx == 0 else "test", batch)

    def on_validation_epoch_end(self):
        self._last_valid = self._finish("valid")
        self._calibrate()
        if self.track_test:
            self._last_test = self._finish("test", log_as="test_each_epoch")
        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            self._record()
            self._apply_lr_schedule()

    def _apply_lr_schedule(self) -> None:
        """Scale the learning rate as the run's schedule says for the validation just recorded
        (see :mod:`seqbench.training.schedules`). Done here, not by Lightning, so its state is
        the history in every checkpoint and a resumed run changes the rate at the same points."""
        name = self.training_cfg.lr_schedule
        if name is None:
            return
        metric = self.task.primary_metric
        factor = SCHEDULES[name].scale(self.history, f"valid_{metric.name}", metric.higher_is_better)
        if factor != 1.0:
            for group in self.optimizers().param_groups:
                group["lr"] *= factor

    def _calibrate(self) -> None:
        """Let a task that calibrates its intervals on validation (a conformal forecast) do so
        with the current weights: after each validation, so the checkpoint saved next carries
        its own weights' calibration, and before the test, of the delivered weights."""
        self.task.calibrate(self.model)

    def on_test_epoch_start(self) -> None:
        self._calibrate()
        self.test_items = ItemTotals(self.task)

    def test_step(self, batch, batch_idx):
        self.test_items.add(self._accumulate("test", batch), batch)

    def on_test_epoch_end(self):
        self.test_metrics = self._finish("test")

    # -- optimisation ---------------------------------------------------------------------
    def configure_optimizers(self):
        t = self.training_cfg
        return make_optimizer(t.optimizer, self.model.parameters(), t.lr)  # the schedule: on_validation_epoch_end

    # -- checkpoint state -----------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint) -> None:
        checkpoint["seqbench"] = {
            "history": self.history, "train_loss": list(self._train_loss),
            "batches_done": self._batches_done, "epoch": self.current_epoch,
            "elapsed_s": self.elapsed(), "rng": torch.get_rng_state(), "last_valid": self._last_valid,
            "last_test": self._last_test,
            # what predicting needs without the training data (custom task: columns, scaling)
            "task_state": self.task.state(),
        }

    def on_load_checkpoint(self, checkpoint) -> None:
        state = checkpoint.get("seqbench")
        if not state:
            return
        self.history = list(state["history"])
        self._train_loss = list(state["train_loss"])
        self._batches_done = state["batches_done"]
        self._elapsed_before = state["elapsed_s"]
        self._rng_to_restore = state["rng"]
        self._last_valid = dict(state["last_valid"])
        self._last_test = dict(state.get("last_test", {}))
        self.resume_position = (state["epoch"], state["batches_done"])


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """``name``'s torch optimizer; Adam and SGD use PyTorch's fused kernels where they exist.

    The fused step is the same algorithm in one kernel over all tensors (float rounding
    aside): at batch 1 on a CPU (the music tasks) the for-loop Adam was a quarter of the
    training step and the fused one is ~3x faster.
    """
    params = list(params)
    cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}[name]
    if name in ("adam", "sgd") and params and all(p.device.type in ("cpu", "cuda") for p in params):
        try:
            return cls(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # a dtype or build without the fused kernel
            pass
    return cls(params, lr=lr)
