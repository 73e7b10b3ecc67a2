"""One trial: train a model of the trial's settings on the training split and score it on the
validation split only. The test split is never read (no test loader, no baseline on test),
and nothing is written: a trial cut short is simply run again.
"""

from __future__ import annotations

import logging
import math
import warnings
from datetime import timedelta

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from ..training.config import RunConfig, Training
from ..training.module import SequenceTaskModule, TrainingDiverged
from ..training.runner import TaskData, flush_denormal


class ValidationReporter(Callback):
    """Hands each validation's value to Optuna (``trial.report`` at the optimizer step) and stops
    the trial when the pruner says it is hopeless (``trial.should_prune``): the pruning callback
    of the Lightning loop (``optuna-integration``'s does the same; this one spares a dependency)."""

    def __init__(self, trial, key: str) -> None:
        self.trial, self.key, self.pruned_at = trial, key, None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: SequenceTaskModule) -> None:
        if trainer.sanity_checking or not pl_module.history:
            return
        value = pl_module.history[-1].get(self.key)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(value, step=trainer.global_step)
        if self.trial.should_prune():
            self.pruned_at = trainer.global_step
            trainer.should_stop = True  # the loop ends after this validation; the objective raises TrialPruned


def objective_key(task, cfg: RunConfig) -> tuple[str, bool]:
    """The history column a trial is scored by and whether higher is better: the metric the
    task selects checkpoints by (``cfg.select``, else the task's), else its primary metric."""
    metric = task.selection_metric(cfg.select or task.selection) or task.primary_metric
    return f"valid_{metric.name}", metric.higher_is_better


def train_trial(task, cfg: RunConfig, trial) -> float:
    """Train ``cfg``'s model on ``task``, reporting each validation to ``trial``; return the best
    validation value. Raises ``optuna.TrialPruned`` when the pruner stops it or the loss diverges
    (a setting that diverges is as hopeless as one pruned, and its trial counts as spent)."""
    import optuna

    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    training = Training.resolve(task, cfg)
    key, higher = objective_key(task, cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = task.build_model(cfg.model, cfg.preset, **cfg.model_overrides())
    module = SequenceTaskModule(task, model, training, run_config=cfg.to_dict())
    reporter = ValidationReporter(trial, key)
    max_epochs = -1 if cfg.steps is not None and cfg.epochs is None else training.epochs
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(does not have many workers|LeafSpec|logging interval|litlogger).*")
        trainer = pl.Trainer(
            max_epochs=max_epochs, max_steps=cfg.steps or -1, val_check_interval=cfg.val_every,
            check_val_every_n_epoch=None if cfg.val_every else 1,
            max_time=timedelta(seconds=cfg.max_time) if cfg.max_time else None,
            gradient_clip_val=training.clip, gradient_clip_algorithm="norm",
            deterministic="warn" if cfg.deterministic else False, accelerator=cfg.accelerator, devices=1,
            precision=cfg.precision, logger=False, enable_checkpointing=False, callbacks=[reporter],
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            use_distributed_sampler=False)
        try:
            with flush_denormal(cfg.flush_denormal):
                trainer.fit(module, datamodule=TaskData(task, training.batch_size, cfg.seed, module))
        except TrainingDiverged as e:
            trial.set_user_attr("diverged", str(e))
            raise optuna.TrialPruned(f"diverged: {e}") from None
        except SystemExit:  # Lightning turns Ctrl-C into exit status 1: Optuna marks the trial failed on this
            if trainer.interrupted:
                raise KeyboardInterrupt from None
            raise
    values = [row[key] for row in module.history if math.isfinite(row.get(key, math.nan))]
    trial.set_user_attr("steps", trainer.global_step)
    trial.set_user_attr("train_seconds", round(module.elapsed(), 2))
    if reporter.pruned_at is not None:
        raise optuna.TrialPruned(f"pruned at step {reporter.pruned_at}")
    if not values:
        raise optuna.TrialPruned("no validation within the budget (a shorter --val-every validates sooner)")
    return max(values) if higher else min(values)
