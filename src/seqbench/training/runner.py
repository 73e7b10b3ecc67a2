"""``run(config)``: train one model on one task, test the checkpoint its selection rule picks
on the validation split, and write the run's results JSON. The CLI's ``train`` and
``compare`` and ``seqbench.train`` all come here."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import platform
import signal
import threading
import warnings
from datetime import timedelta

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import TQDMProgressBar

from .. import __version__
from ..results import RunResult
from ..stats import ratio_statistic
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ..tasks.base import SPLITS
from .checkpoints import AtomicCheckpointIO, BestCheckpoint, ResumeCheckpoint, Terminated
from .config import RunConfig, Training, build_task
from .csv_log import ResumableCSVLogger
from .data import make_loader
from .module import SequenceTaskModule, TrainingDiverged
from .run_dir import RunDir



class RunInterrupted(Exception):
    """Training stopped by SIGTERM (``exit_code`` 143, what a shell reports for a terminated
    process) or Ctrl-C (130); the run's ``last.ckpt`` holds it and ``--resume`` continues."""

    def __init__(self, message: str, exit_code: int = 143) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TaskData(pl.LightningDataModule):
    """The task's three splits as loaders, sharded over the trainer's processes."""

    def __init__(self, task, batch_size: int, seed: int, module: SequenceTaskModule) -> None:
        super().__init__()
        self.task, self.batch_size, self.seed, self.module = task, batch_size, seed, module

    def _loader(self, split):
        t = self.trainer
        return make_loader(self.task, split, self.batch_size, self.seed, t.global_rank, t.world_size)

    def train_dataloader(self):
        return self._loader("train")

    def val_dataloader(self):
        if self.module.track_test:  # test metrics every epoch, for the "mean of the last 3 epochs" figure
            return [self._loader("valid"), self._loader("test")]
        return self._loader("valid")

    def test_dataloader(self):
        return self._loader("test")


class ProgressBar(TQDMProgressBar):
    """Lightning's bar (ETA, running loss, validation metric) without the logger version."""

    def get_metrics(self, trainer, pl_module):
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics


def is_launched_child() -> bool:
    """True in the extra processes Lightning's DDP launcher starts (they re-run this code)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0


def _is_first_node() -> bool:
    return int(os.environ.get("NODE_RANK", "0") or 0) == 0


def read_data(task) -> None:
    """Read every split of ``task`` now (the task keeps them), so that a missing, broken or
    empty data file is an error before a run directory is made."""
    for split in SPLITS:
        if len(task.dataset(split)) == 0:
            raise ValueError(f"task {task.name}: its {split} split is empty")


def baseline_reference(task) -> dict | None:
    """The task's model-free reference on the validation and test splits (``name``,
    ``valid``, ``test`` metrics), or None when the task has none."""
    test = task.baseline("test")
    if test is None:
        return None
    return {"name": test[0], "valid": task.baseline("valid")[1], "test": test[1]}


def _loggers(run_dir: RunDir, resumed_at_step: int | None):
    loggers = [ResumableCSVLogger(run_dir, resumed_at_step)]
    try:
        from lightning.pytorch.loggers import TensorBoardLogger
        import tensorboard  # noqa: F401  (only when installed)
        loggers.append(TensorBoardLogger(str(run_dir), name=RunDir.LOGS, version="tensorboard",
                                         default_hp_metric=False))
    except ImportError:
        pass
    return loggers


@contextlib.contextmanager
def flush_denormal(enabled: bool):
    """Flush subnormal floats to zero on the CPU inside the block (see ``RunConfig.flush_denormal``).

    The setting is per process and cannot be read back, so the block leaves it off, torch's default.
    """
    if not enabled:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def run(cfg: RunConfig, callbacks=(), task=None) -> dict:
    """Train ``cfg``'s model on its task; return the results record (also ``result.json``).

    Model selection is on the validation split: the reported test metrics (and each test
    item's statistics) are those of the checkpoint that ``cfg.select`` (else the task's
    ``selection``) picks: the lowest validation loss, the best validation primary metric, or
    the last validation, ties going to the later one. The result's ``selection`` says which.

    Args:
        cfg: the run.
        callbacks: extra Lightning callbacks (e.g. for a notebook's own logging).
        task: the task of ``cfg`` if the caller built it already (its data is then not read again).
    """
    for name in ("lightning.pytorch", "lightning.fabric"):  # our own lines say what matters
        logging.getLogger(name).setLevel(logging.WARNING)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    task = build_task(cfg.task, cfg.data_dir, cfg.preset, built=task, **cfg.variant)
    training = Training.resolve(task, cfg)
    run_dir = RunDir.inside(cfg.out, cfg.run_name())
    read_data(task)
    if cfg.resume:
        run_dir.checkpoint_to_resume()  # nothing to resume: said before a directory is made
    first = not is_launched_child() and _is_first_node()
    made_here = first and not run_dir.path.exists()
    emptied = False
    try:
        # one process per run directory (the DDP processes of one run share the first one's lock)
        with run_dir.lock(enabled=first):
            try:
                return _run_locked(cfg, task, training, run_dir, callbacks)
            except BaseException:
                # a run that failed before its first checkpoint leaves no directory it made
                emptied = made_here and not run_dir.holds_a_run()
                if emptied:
                    run_dir.empty()
                raise
    finally:
        if emptied:
            with contextlib.suppress(OSError):
                run_dir.path.rmdir()  # fails, as it should, when another process has begun there since


def _run_locked(cfg: RunConfig, task, training: Training, run_dir: RunDir, callbacks) -> dict:
    resume_from, resumed_at_step = run_dir.prepare(cfg, training, is_launched_child(), task) or (None, None)

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = task.build_model(cfg.model, cfg.preset, **cfg.model_overrides())
    module = SequenceTaskModule(task, model, training, run_config=cfg.to_dict(), track_test=cfg.test_every_epoch)
    data = TaskData(task, training.batch_size, cfg.seed, module)
    metric, monitored = task.primary_metric, task.selection_metric(training.select)
    best = BestCheckpoint(dirpath=run_dir.checkpoints, filename=run_dir.best.stem,
                          monitor=f"valid/{monitored.name}" if monitored else None,
                          mode="max" if monitored and monitored.higher_is_better else "min", save_top_k=1,
                          enable_version_counter=False, auto_insert_metric_name=False,
                          # after each validation only: an epoch cut short by --steps or --max-time ends
                          # unvalidated, and its weights must not pass for the validated ones
                          save_on_train_epoch_end=False)
    # --steps alone bounds the run by steps: the epochs are then unbounded (-1)
    max_epochs = -1 if cfg.steps is not None and cfg.epochs is None else training.epochs
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(does not have many workers|not resumable|LeafSpec|weights_only"
                                "|logging interval|litlogger|exists and is not empty).*")
        trainer = pl.Trainer(
            default_root_dir=str(run_dir), max_epochs=max_epochs, max_steps=cfg.steps or -1,
            val_check_interval=cfg.val_every, check_val_every_n_epoch=None if cfg.val_every else 1,
            max_time=timedelta(seconds=cfg.max_time) if cfg.max_time else None,
            gradient_clip_val=training.clip, gradient_clip_algorithm="norm",
            deterministic="warn" if cfg.deterministic else False,
            accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes, strategy=cfg.strategy,
            precision=cfg.precision, logger=_loggers(run_dir, resumed_at_step),
            callbacks=[best, ResumeCheckpoint(run_dir.last, cfg.checkpoint_every), *callbacks]
            + ([ProgressBar()] if cfg.progress else []),
            enable_progress_bar=cfg.progress, enable_model_summary=False, num_sanity_val_steps=0,
            plugins=[AtomicCheckpointIO()], use_distributed_sampler=False, log_every_n_steps=10,
        )
        resumer = next(c for c in trainer.callbacks if isinstance(c, ResumeCheckpoint))
        with flush_denormal(cfg.flush_denormal), _stops_reported(trainer, resumer, run_dir):
            trainer.fit(module, datamodule=data, ckpt_path=str(resume_from) if resume_from else None,
                        weights_only=True)
            history, wall_time = list(module.history), module.elapsed()
            trained = sum(float(p.detach().double().sum()) for p in model.parameters())
            best_path = best.best_model_path or None
            trainer.test(module, datamodule=data, ckpt_path=best_path, verbose=False, weights_only=True)

    # a run resumed from a checkpoint older than best_step: the tested checkpoint's own history
    # (loaded into the module by the test) ends with the validation it was saved at
    step = best.best_step if best.best_step is not None else (module.history or [{}])[-1].get("step")
    best_row = selected_row(history, step) if best_path else None
    items = module.test_items.to_dict() if module.test_items is not None and trainer.world_size == 1 else None
    epochs_done, steps_done = history[-1]["epoch"] if history else 0, trainer.global_step
    by_budget = (cfg.steps is not None and steps_done >= cfg.steps) or (cfg.epochs is not None and epochs_done >= cfg.epochs)
    paper_values, paper_note = task.paper_reference() or ({}, "")
    rf = model.receptive_field
    result = RunResult(
        task=task.name,
        variant=dict(task.variant),
        model=cfg.model,
        preset=cfg.preset,
        config={"run": cfg.to_dict(), "training": dataclasses.asdict(training), "model": _model_description(model)},
        parameters=model.num_parameters(),
        receptive_field=None if rf == math.inf else int(rf),
        primary_metric=metric.name,
        higher_is_better=metric.higher_is_better,
        metrics={"valid": {k[len("valid_"):]: v for k, v in (best_row or {}).items() if k.startswith("valid_")},
                 "test": dict(module.test_metrics)},
        test_last3_mean=last_epochs_mean(history, "test_", 3),
        best_epoch=best_row["epoch"] if best_row else None,
        selection={"rule": training.select, "metric": monitored.name if monitored else None,
                   "epoch": best_row["epoch"] if best_row else None, "step": best_row["step"] if best_row else None},
        epochs=epochs_done,
        steps=steps_done,
        epochs_planned=training.epochs,
        stopped_by_time_limit=epochs_done < training.epochs and not by_budget,
        wall_time_s=round(wall_time, 3),
        seed=cfg.seed,
        world_size=trainer.world_size,
        paper={"value": paper_values.get(cfg.model), "variant": paper_note},
        baseline=baseline_reference(task),
        checkpoint=str(best_path) if best_path else None,
        test_items=items,
        primary_statistic=ratio_statistic(metric.name, module.test_metrics, items),
        run_dir=str(run_dir),
        history=history,
        versions={"seqbench": __version__, "torch": torch.__version__, "lightning": pl.__version__,
                  "python": platform.python_version()},
        machine={"cpus": os.cpu_count(), "cpu": cpu_name(), "arch": platform.machine(),
                 "torch_threads": torch.get_num_threads(),
                 "accelerator": type(trainer.accelerator).__name__.replace("Accelerator", "").lower()},
    )
    if trainer.world_size > 1:  # each rank's view, so a multi-process run can be checked for agreement
        run_dir.write_rank(trainer.global_rank,
                           {"rank": trainer.global_rank, "parameter_sum": trained, "metrics": result.metrics})
    if trainer.is_global_zero:
        run_dir.write_result(result)
    return result.to_dict()


@contextlib.contextmanager
def _stops_reported(trainer: pl.Trainer, resumer: ResumeCheckpoint, run_dir: RunDir):
    """Turn the ways training stops early into one-line errors that say how to go on.

    SIGTERM: :class:`RunInterrupted` (exit 143). Ctrl-C: Lightning catches the
    ``KeyboardInterrupt``, marks the trainer interrupted and exits with status 1; this makes it
    :class:`RunInterrupted` (exit 130) and gives Ctrl-C back its handler (Lightning leaves it
    ignored). A non-finite training loss: :class:`TrainingDiverged`.
    """
    on_main_thread = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if on_main_thread else None
    resume = "run the same command with --resume to continue"
    try:
        yield
    except (Terminated, SIGTERMException):
        at = f"after step {resumer.stopped_at_step}, saved in {resumer.path}" if resumer.stopped_at_step \
            else f"during validation; {resumer.path} holds the last checkpoint"
        raise RunInterrupted(f"{run_dir.name}: stopped by SIGTERM {at}; {resume}") from None
    except SystemExit:
        if not trainer.interrupted:
            raise
        step = run_dir.newest_step()
        go_on = f"{resumer.path} holds it at step {step}; {resume}" if step is not None \
            else "it had no checkpoint yet; run the same command to start it again"
        raise RunInterrupted(f"{run_dir.name}: interrupted (Ctrl-C); {go_on}", exit_code=130) from None
    except TrainingDiverged as e:
        step = run_dir.newest_step()
        kept = f"{resumer.path} holds the run at step {step}" if step is not None else "no checkpoint was written"
        raise TrainingDiverged(f"{run_dir}: {e}; {kept} (a lower --lr or a --clip may help)") from None
    finally:
        if on_main_thread and sigint is not None:
            signal.signal(signal.SIGINT, sigint)


def selected_row(history: list[dict], step: int | None) -> dict | None:
    """The history row of the validation at optimizer ``step`` (the delivered checkpoint's); the
    last such row when several validations share the step."""
    rows = [row for row in history if row["step"] == step]
    return rows[-1] if rows else None


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), for the results' machine record."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def last_epochs_mean(history: list[dict], prefix: str, n: int) -> dict[str, float] | None:
    """Mean of each ``prefix`` metric over the last ``n`` epochs of ``history`` (how the
    paper's authors say they reported), or None when fewer than ``n`` epochs have them."""
    rows = [r for r in history if any(k.startswith(prefix) for k in r)][-n:]
    if len(rows) < n:
        return None
    keys = [k for k in rows[0] if k.startswith(prefix) and all(k in r for r in rows)]
    return {k[len(prefix):]: sum(r[k] for r in rows) / n for k in keys}


def _model_description(model) -> dict:
    enc = model.encoder
    d = {"kind": type(enc).__name__, "head": model.head, "input_adapter": model.input_adapter}
    for attr in ("channels", "kernel_size", "hidden_size", "num_layers", "kind"):
        if hasattr(enc, attr):
            v = getattr(enc, attr)
            d["encoder_" + attr if attr == "kind" else attr] = list(v) if isinstance(v, (list, tuple)) else v
    return d
