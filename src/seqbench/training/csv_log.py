"""The run's CSV log (``logs/metrics.csv``), whole across resumes.

Lightning's ``CSVLogger`` deletes an existing ``metrics.csv`` when it opens its directory,
so a resumed run would keep only the rows logged after the resume. (The run's history in the
checkpoints and ``result.json`` is whole either way; this is the step-by-step log a person
reads or plots.) :class:`ResumableCSVLogger` puts the old rows back, less those logged after
the checkpoint the run resumes from: the resumed run logs those steps again.
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment

from ..files import UnreadableFile, atomic_path, read_text_limited
from .run_dir import RunDir


def rows_before(path: Path, step: int) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of the CSV log at ``path`` whose ``step`` is below ``step``.

    Lightning numbers the rows from 0: the row of the ``n``-th optimizer step says ``n - 1``,
    and it is logged just after that step's checkpoint is written. A run resumed from the
    checkpoint of step ``step`` logs rows from ``step`` on, so these are the rows it keeps.
    A row whose step is not a number cannot be placed and is left out; a log that cannot be
    read as text (too large, not a regular file) gives no rows, with a warning: the log is
    for reading, the run's history is whole in its checkpoints either way.
    """
    try:
        reader = csv.DictReader(read_text_limited(path).splitlines())
        rows = [r for r in reader if _step(r) is not None and _step(r) < step]
        return list(reader.fieldnames or []), rows
    except (UnreadableFile, csv.Error) as e:
        warnings.warn(f"{path}: the log of the steps before the resume is not kept: {e}", stacklevel=2)
        return [], []


def _step(row: dict) -> int | None:
    """A log row's step, or None when it holds none or not a whole number."""
    try:
        return int(row.get("step") or "")
    except (TypeError, ValueError):
        return None


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSV logger at ``<run_dir>/logs/metrics.csv`` that keeps a resumed run's
    earlier rows.

    Args:
        run_dir: the run directory.
        resumed_at_step: the optimizer step of the checkpoint the run resumes from; None for
            a run that starts afresh (an old ``metrics.csv`` is then replaced, as Lightning does).
    """

    def __init__(self, run_dir: str | os.PathLike, resumed_at_step: int | None = None) -> None:
        self.run_dir = RunDir(run_dir)
        super().__init__(str(self.run_dir), name=RunDir.LOGS, version="")
        self.resumed_at_step = resumed_at_step

    @property
    @rank_zero_experiment
    def experiment(self):
        with warnings.catch_warnings():  # Lightning's "will be deleted": not here
            warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
            return self._open()

    def _open(self):
        if self._experiment is not None or self.resumed_at_step is None:
            return CSVLogger.experiment.fget(self)
        path = self.run_dir.metrics_log
        # Set aside first, so that Lightning finds nothing to delete; a kill before the rows
        # are back leaves them there, and the next resume reads them from there.
        aside = path.with_name(".metrics.before-resume.csv")
        if path.is_file():
            os.replace(path, aside)
        writer = CSVLogger.experiment.fget(self)
        if aside.is_file():
            header, rows = rows_before(aside, self.resumed_at_step)
            if not header:  # unreadable: kept for a person to look at, the new log starts afresh
                os.replace(aside, path.with_name("metrics.unreadable.csv"))
                return writer
            with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                out = csv.DictWriter(f, fieldnames=header)
                out.writeheader()
                out.writerows(rows)
            aside.unlink()
            writer.metrics_keys = list(header)  # its next save appends under this header
        return writer
