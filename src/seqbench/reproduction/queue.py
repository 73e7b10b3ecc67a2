"""Running the plan: each run's state, an estimate of what is left, and K runs side by side.

Stopping and starting again loses nothing:

* a run whose ``result.json`` is in the results directory with the planned budget is done;
* a run with checkpoints under the runs directory continues with ``--resume`` (its budget
  counts the time already spent, so it trains only what is left);
* a run another process trains (its directory is locked) is left to it;
* a finished run's ``result.json`` is copied into the results directory at once, and one
  that finished while no queue watched (a ``--dry-run`` command run by hand or by a
  scheduler) is collected the next time the queue looks;
* with a carry directory, a run that stops unfinished leaves a copy of its run directory
  there, and a queue on another machine (or after the runs directory was wiped) resumes it
  from that copy: for machines whose disks do not outlive a working session, where the
  carry directory is committed or kept on storage that does.

SIGTERM or Ctrl-C to the queue passes SIGTERM to its runs, which checkpoint and stop; so
does the queue itself once its time limit (``stop_after``) is up.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Imported when the queue starts, not when a run ends: a queue runs for hours, and the code it
# started with must collect its runs even if the package is edited (or upgraded) meanwhile.
from ..files import UnreadableFile, atomic_path, read_text_limited
from ..report import schedule_override
from ..results import RESULT, RunResult
from ..training import Training, build_task
from ..training.run_dir import RunDir
from .plan import Planned

DONE, RUNNING, PARTIAL, TODO = "done", "running", "partial", "to do"
# where a malformed run file is reported (one line naming it); None: it raises
Warn = Callable[[str], None]


def _matches(r: RunResult, p: Planned) -> bool:
    """A result of this planned run: the same budget and learning-rate schedule."""
    wanted = dict(zip(p.options[::2], p.options[1::2])).get("--lr-schedule")
    return r.run.get("max_time") == p.max_time and schedule_override(r) == wanted


def _finished(run_dir: RunDir, p: Planned, warn: Warn | None = None) -> bool:
    """Whether ``run_dir`` holds the result of ``p``; a malformed one is not (``warn`` says so)."""
    if not run_dir.result.exists():
        return False
    r = run_dir.read_result(warn)
    return r is not None and _matches(r, p)


def collect(p: Planned, runs: Path, results: Path) -> None:
    """Copy a finished run's ``result.json`` into the results directory (atomically)."""
    source, target = RunDir(runs / p.name), RunDir(results / p.name)
    target.path.mkdir(parents=True, exist_ok=True)
    with atomic_path(target.result) as tmp:
        shutil.copyfile(source.result, tmp)


def resume_source(p: Planned, runs: Path, carry: Path | None) -> RunDir:
    """The run directory a partial run resumes from: its own when that holds a checkpoint,
    else its carried copy (which the queue copies in first)."""
    run_dir = RunDir(runs / p.name)
    return run_dir if carry is None or run_dir.has_checkpoint() else RunDir(carry / p.name)


def state(p: Planned, runs: Path, results: Path, carry: Path | None = None, warn: Warn | None = None) -> str:
    """``done``, ``running`` (in any process), ``partial`` (checkpoints to resume, in the runs
    or the carry directory) or ``to do``. ``warn``: a malformed ``result.json`` counts as
    none, with one line naming it (without ``warn`` it raises)."""
    run_dir = RunDir(runs / p.name)
    if run_dir.is_locked():
        return RUNNING
    if _finished(RunDir(results / p.name), p, warn):
        return DONE
    if _finished(run_dir, p, warn):  # finished while no queue watched: collect it
        collect(p, runs, results)
        return DONE
    carried = carry is not None and RunDir(carry / p.name).has_checkpoint()
    return PARTIAL if run_dir.has_checkpoint() or carried else TODO


# -- how long is left ------------------------------------------------------------------------
@dataclass(frozen=True)
class Pace:
    """Measured speed of a configuration: seconds per optimizer step, and steps per epoch."""

    seconds_per_step: float
    steps_per_epoch: float


def measured_paces(results: Path) -> dict[tuple[str, str], Pace]:
    """``{(task, model): Pace}`` from the finished results (every seed, every option)."""
    paces: dict[tuple[str, str], list[Pace]] = {}
    for path in results.rglob(RESULT):
        try:
            r = RunResult.load(path)
        except (ValueError, OSError):  # state() warns of it; a pace is only an estimate
            continue
        if r.steps and r.epochs and r.wall_time_s:
            key = (r.task, r.model)
            paces.setdefault(key, []).append(Pace(r.wall_time_s / r.steps, r.steps / r.epochs))
    return {k: Pace(sorted(v, key=lambda x: x.seconds_per_step)[len(v) // 2].seconds_per_step,
                    sorted(v, key=lambda x: x.steps_per_epoch)[len(v) // 2].steps_per_epoch)
            for k, v in paces.items()}


def progress(p: Planned, runs: Path, warn: Warn | None = None) -> tuple[float, int] | None:
    """``(epoch, step)`` of a run so far, from its metrics log, or None (``warn``: one line
    naming a malformed log)."""
    log = RunDir(runs / p.name).metrics_log
    if not log.exists():
        return None
    try:
        rows = [row for row in csv.DictReader(read_text_limited(log).splitlines()) if row.get("step")]
        if not rows:
            return None
        return float(rows[-1].get("epoch") or 0), int(float(rows[-1]["step"]))
    except (OSError, csv.Error, ValueError, TypeError) as e:  # TypeError: a row longer than its header
        if warn is not None:
            warn(f"skipping {e if isinstance(e, UnreadableFile) else f'{log}: {e}'}")
        return None


def seconds_left(p: Planned, pace: Pace | None, epochs_planned: int | None, done_steps: int = 0,
                 spent: float | None = None) -> float | None:
    """Estimated training seconds left: the budget, or the protocol's epochs at the measured pace.

    ``spent``: the budget seconds a stopped run has used (``RunDir.time_spent``); without it they
    are estimated as ``done_steps`` at the measured pace.
    """
    estimate = None
    if pace is not None and epochs_planned:
        estimate = max(epochs_planned * pace.steps_per_epoch - done_steps, 0) * pace.seconds_per_step
    if p.max_time is not None:
        if spent is None:
            spent = done_steps * pace.seconds_per_step if pace else 0.0
        estimate = min(estimate, p.max_time - spent) if estimate is not None else p.max_time - spent
    return None if estimate is None else max(estimate, 0.0)


def protocol_epochs(p: Planned) -> int | None:
    """The epochs the run's preset (or its --epochs) asks for."""
    cfg = p.config()
    try:
        return Training.resolve(build_task(cfg.task, None, cfg.preset, **cfg.variant), cfg).epochs
    except Exception:  # a task that cannot be built here: no estimate
        return None


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


# -- running ---------------------------------------------------------------------------------
class Queue:
    """Runs ``plan`` ``jobs`` at a time, each one ``seqbench train`` process with ``threads`` threads.

    ``echo`` receives the progress lines (one per start and end, and a summary every
    ``report_every`` seconds). ``carry``: where unfinished runs leave a copy of their run
    directory and are resumed from (see the module's docstring). ``stop_after``: seconds
    after which the queue stops its runs (they checkpoint) and starts no more.
    """

    def __init__(self, plan: list[Planned], runs: Path, results: Path, data_dir: str | None, jobs: int = 2,
                 threads: int = 1, echo: Callable[[str], None] = print, report_every: float = 600.0,
                 carry: Path | None = None, stop_after: float | None = None) -> None:
        self.plan, self.runs, self.results, self.data_dir = plan, Path(runs), Path(results), data_dir
        self.jobs, self.threads, self.echo, self.report_every = jobs, threads, echo, report_every
        self.carry, self.stop_after = (None if carry is None else Path(carry)), stop_after
        self._children: dict[str, subprocess.Popen] = {}
        self._stopping = False
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        self.echo(f"[{time.strftime('%H:%M:%S')}] {text}")

    def _launch(self, p: Planned, resume: bool) -> int:
        run_dir = RunDir(self.runs / p.name)
        if resume and not run_dir.has_checkpoint() and self.carry is not None:
            RunDir(self.carry / p.name).copy_to(run_dir)
        argv = p.argv(self.data_dir, str(self.runs), resume, self.threads, python=sys.executable)
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        log = self.runs / f"{p.name}.log"
        with open(log, "a") as f:
            child = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env)
            with self._lock:
                self._children[p.name] = child
            code = child.wait()
        with self._lock:
            self._children.pop(p.name, None)
        if code == 0 and run_dir.finished:
            collect(p, self.runs, self.results)
            if self.carry is not None:
                shutil.rmtree(self.carry / p.name, ignore_errors=True)
        elif self.carry is not None and run_dir.has_checkpoint():
            run_dir.copy_to(RunDir(self.carry / p.name))
            self._line(f"carry  {p.name}: its run directory is copied to {self.carry / p.name}")
        return code

    def stop(self, *_) -> None:
        """Stop the queue: no new runs; the running ones get SIGTERM (they checkpoint and exit)."""
        self._stopping = True
        with self._lock:
            for child in self._children.values():
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Run everything not done; returns the number of runs that failed."""
        self.runs.mkdir(parents=True, exist_ok=True)
        todo = [p for p in self.plan if state(p, self.runs, self.results, self.carry, self._line) in (TODO, PARTIAL)]
        started_at = time.monotonic()
        self._line(f"{len(todo)} of {len(self.plan)} planned runs to do, {self.jobs} at a time")
        failed, done, last_report = [], 0, time.monotonic()
        running: dict[Future, tuple[Planned, float]] = {}
        previous = {s: signal.signal(s, self.stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            with ThreadPoolExecutor(self.jobs) as pool:
                while (todo and not self._stopping) or running:
                    if self.stop_after is not None and not self._stopping \
                            and time.monotonic() - started_at > self.stop_after:
                        self._line(f"time limit ({self.stop_after:g} s) reached: stopping the runs")
                        self.stop()
                    while todo and len(running) < self.jobs and not self._stopping:
                        p = todo.pop(0)
                        now = state(p, self.runs, self.results, self.carry, lambda line: None)  # said above
                        if now in (DONE, RUNNING):  # another queue took it meanwhile
                            self._line(f"skip   {p.name} ({now} elsewhere)")
                            continue
                        self._line(f"start  {p.name} ({'resume' if now == PARTIAL else 'new'}); "
                                   f"log {self.runs / (p.name + '.log')}")
                        running[pool.submit(self._launch, p, now == PARTIAL)] = (p, time.monotonic())
                    finished, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                    for future in finished:
                        p, started = running.pop(future)
                        code = future.result()
                        done += code == 0
                        stopped = self._stopping and code in (143, -signal.SIGTERM)
                        if code != 0 and not stopped:
                            failed.append(p.name)
                        word = "done " if code == 0 else ("stopped" if stopped else "FAILED")
                        self._line(f"{word} {p.name} (exit {code}, "
                                   f"{format_duration(time.monotonic() - started)}); {done} done, "
                                   f"{len(running)} running, {len(todo)} waiting")
                    if running and time.monotonic() - last_report > self.report_every:
                        last_report = time.monotonic()
                        self._line(f"{done} done, {len(running)} running, {len(todo)} waiting, {len(failed)} failed")
                        for p, _ in running.values():
                            at = progress(p, self.runs, self._line)
                            self._line(f"       {p.name}: " + (f"epoch {at[0]:g}, step {at[1]}" if at else "starting"))
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if failed:
            self._line("failed (see their logs): " + ", ".join(failed))
        if self._stopping:
            self._line("stopped: the runs that were training checkpointed; run again to continue them")
        return len(failed)
