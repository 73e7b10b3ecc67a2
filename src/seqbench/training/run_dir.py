"""A run's directory, the one place that knows what lies in it and what may be replaced.

::

    RUN_DIR/
      .lock                   held while a process trains here (seqbench.training.locking)
      checkpoints/last.ckpt   newest state: what --resume continues from
      checkpoints/best.ckpt   the checkpoint the run delivers (its selection rule's pick)
      logs/metrics.csv        Lightning's CSV log, step by step (and logs/tensorboard/ when installed)
      ranks/rankN.json        each process's view of a multi-process run
      result.json             the finished run (seqbench.results.RunResult)

The trainer, the CSV log, ``compare``, the reproduction queue and the CLI reach these files
through :class:`RunDir`; a checkpoint's Lightning internals (its step, its timer) are read
here and nowhere else, through the one safe reader :func:`~seqbench.training.load.read_checkpoint`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from ..files import atomic_path, write_json
from ..results import RESULT, RunResult, read_result
from .config import RunConfig, Training
from .load import CheckpointError, changed_training, read_checkpoint, run_config, same_run
from .locking import RunLock, is_locked


class RunDir(os.PathLike):
    """The directory of one run (``OUT/RUN_NAME``); a path-like, so ``open``, ``Path`` and
    Lightning take it where they take its path.

    Asking what it holds creates nothing; :meth:`lock` creates the directory when a run starts.
    """

    CHECKPOINTS, LOGS, RANKS = "checkpoints", "logs", "ranks"
    LOCK = ".lock"
    LAST, BEST = "last.ckpt", "best.ckpt"
    METRICS = "metrics.csv"  # the name Lightning's CSVLogger gives its file in LOGS

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def inside(cls, out: str | os.PathLike, name: str) -> "RunDir":
        """The run directory ``OUT/NAME``, checked to lie in ``out`` (a name or a symbolic link
        could lead out of it)."""
        out = Path(out)
        path = out / name
        if path.resolve().parent != out.resolve():
            raise ValueError(f"run directory {path} resolves to {path.resolve()}, outside {out}; "
                             "choose another --name")
        return cls(path)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- paths ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checkpoints(self) -> Path:
        return self.path / self.CHECKPOINTS

    @property
    def last(self) -> Path:
        """``checkpoints/last.ckpt``: the newest state, written every epoch and every N steps."""
        return self.checkpoints / self.LAST

    @property
    def best(self) -> Path:
        """``checkpoints/best.ckpt``: the checkpoint the run delivers and tests."""
        return self.checkpoints / self.BEST

    @property
    def metrics_log(self) -> Path:
        return self.path / self.LOGS / self.METRICS

    @property
    def lock_file(self) -> Path:
        return self.path / self.LOCK

    @property
    def result(self) -> Path:
        return self.path / RESULT

    # -- what it holds ----------------------------------------------------------------------
    def newest_checkpoint(self) -> Path | None:
        """The checkpoint to resume from, or None when the run has none."""
        return self.last if self.last.exists() else None

    def has_checkpoint(self) -> bool:
        return self.newest_checkpoint() is not None

    @property
    def finished(self) -> bool:
        """Whether it holds a finished run (its ``result.json``)."""
        return self.result.is_file()

    def holds_a_run(self) -> bool:
        """Whether it holds a run that only ``--overwrite`` may replace: a result or any
        checkpoint. (A run stopped before its first checkpoint leaves only logs: nothing to
        resume and nothing lost when it starts again.)"""
        ckpts = self.checkpoints
        return self.result.exists() or \
            (ckpts.is_dir() and any(not p.name.startswith(".") for p in ckpts.iterdir()))  # not a kill's .tmp

    def newest_step(self) -> int | None:
        """The optimizer step of the newest checkpoint; None when there is none or it is unreadable."""
        try:
            return int(read_checkpoint(self.last)["global_step"])
        except (OSError, CheckpointError):
            return None

    def time_spent(self) -> float | None:
        """Seconds of its ``--max-time`` a stopped run has used, as its newest checkpoint
        records them (Lightning's Timer, the clock the budget is checked against); None when it
        has no readable checkpoint or the checkpoint has no timer."""
        path = self.newest_checkpoint()
        if path is None:
            return None
        try:
            return float(read_checkpoint(path)["callbacks"]["Timer"]["time_elapsed"]["train"])
        except (CheckpointError, KeyError, TypeError, ValueError):
            return None

    def read_result(self, warn: Callable[[str], None] | None = None) -> RunResult | None:
        """The finished run's result (see :func:`seqbench.results.read_result` for ``warn``)."""
        return read_result(self.result, warn)

    def write_result(self, result: RunResult) -> None:
        """Write ``result.json`` atomically."""
        result.save(self.result)

    def write_rank(self, rank: int, record: dict) -> None:
        """Write one process's record of a multi-process run (``ranks/rankN.json``)."""
        (self.path / self.RANKS).mkdir(exist_ok=True)
        write_json(self.path / self.RANKS / f"rank{rank}.json", record)

    # -- the lock ---------------------------------------------------------------------------
    def lock(self, enabled: bool = True) -> RunLock:
        """Context manager: creates the directory and holds its lock while a run trains in it
        (raises :class:`~seqbench.training.locking.RunLocked` when another process does)."""
        return RunLock(self.lock_file, enabled)

    def is_locked(self) -> bool:
        """Whether a process (this one included) trains here now."""
        return is_locked(self.lock_file)

    # -- starting, resuming, starting over --------------------------------------------------
    def checkpoint_to_resume(self) -> Path:
        """The checkpoint ``--resume`` continues from; FileNotFoundError when there is none."""
        path = self.newest_checkpoint()
        if path is None:
            raise FileNotFoundError(f"nothing to resume: {self.checkpoints} holds no checkpoint")
        return path

    def prepare(self, cfg: RunConfig, training: Training, launched_child: bool = False,
                task=None) -> tuple[Path, int] | None:
        """Make the directory ready for ``cfg``: the checkpoint to resume from and its optimizer
        step, or None for a run that starts afresh (what an earlier run left is then deleted).

        Nothing is deleted without ``cfg.overwrite``: a directory holding a finished run or a
        checkpoint is refused (FileExistsError). A resume is refused (CheckpointError) when the
        checkpoint holds another run, one trained with other settings than ``training``, or
        one whose task read its data otherwise than ``task`` does now (your own data's
        ``Task.data_state()``: columns, classes, scaling; the file changed, or how it is prepared).
        ``launched_child``: a DDP launcher's extra process, which leaves the directory to the first.
        """
        if cfg.resume:
            existing = self.checkpoint_to_resume()
            checkpoint = read_checkpoint(existing)  # refuses unsafe or broken files first
            saved = run_config(checkpoint, existing)
            if not same_run(saved, cfg):
                raise CheckpointError(f"{existing} holds run {saved.run_name()}, not {cfg.run_name()}: "
                                      "it cannot be resumed as this run")
            changed = changed_training(checkpoint, training)
            if changed:
                raise CheckpointError(f"{existing} was trained with {changed}: the preset changed since the run "
                                      "began; pass --overwrite to start it again with the new settings")
            saved_task = (checkpoint.get("seqbench") or {}).get("task_state")
            now = None if task is None or saved_task is None else task.data_state()
            if now is not None and any(saved_task.get(k) != v for k, v in now.items()):
                raise CheckpointError(f"{existing} was trained on its data as read then, and it reads otherwise now "
                                      "(the file changed, or how its columns are scaled or encoded): pass "
                                      "--overwrite to start the run again on the data as it is")
            return existing, int(checkpoint["global_step"])
        if launched_child:
            return None
        if self.holds_a_run() and not cfg.overwrite:
            if self.result.exists():
                extend = "--resume with more --epochs to extend it or " if self.has_checkpoint() else ""
                raise FileExistsError(f"{self} already holds a finished run; pass {extend}--overwrite to train it again")
            raise FileExistsError(f"{self} already holds a run; pass --resume to continue it or "
                                  "--overwrite to start over")
        # start over: nothing of the earlier run stays (overwritten, or stopped before its first checkpoint)
        for sub in (self.CHECKPOINTS, self.LOGS, self.RANKS):
            shutil.rmtree(self.path / sub, ignore_errors=True)
        self.result.unlink(missing_ok=True)
        return None

    def empty(self) -> None:
        """Delete everything in the directory, its lock last (while it is held: a process that
        opens it before finds it taken, one after makes its own and keeps the directory)."""
        for path in self.path.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            elif path.name != self.LOCK:
                path.unlink()
        self.lock_file.unlink(missing_ok=True)

    def copy_to(self, target: "RunDir") -> None:
        """Copy a stopped run (checkpoints and logs; not its lock, nor a kill's temporary
        files) into ``target``, each file atomically."""
        for path in sorted(self.path.rglob("*")):
            if path.is_file() and path.name != self.LOCK and ".tmp" not in path.name:
                dest = target.path / path.relative_to(self.path)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(dest) as tmp:
                    shutil.copyfile(path, tmp)
