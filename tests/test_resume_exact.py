"""Resume is exact wherever a run is stopped: a kill or SIGTERM on, during or just after a
validation within an epoch (``val_every``) gives the same history, best checkpoint and test
metric as a run that was never stopped, also when it is stopped twice.

The stops are caused in this process: SIGTERM is sent to it (Lightning's handler sees it as it
would a scheduler's), and a kill -9 is an exception raised at that moment (nothing after it
runs: no checkpoint is written, what is on disk is what a kill leaves). The real signals from
outside are in tests/test_train_run.py and scripts/fault_suite.py.
"""

import csv
import os
import signal
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback

import seqbench
from seqbench.training import RunInterrupted

# 6 steps an epoch, 12 in all; validation every 2 steps and a checkpoint every 2 steps: on the
# same steps, as the README's --val-every 200 with the default --checkpoint-every 100
TINY = dict(seq_len=16, train_size=48, valid_size=16, test_size=16, hidden_size=4, levels=2, kernel_size=2,
            dropout=0.2, epochs=2, batch_size=8, progress=False, val_every=2, checkpoint_every=2)


class Killed(Exception):
    """What a kill -9 leaves: nothing runs after it."""


class StopAt(Callback):
    """Stops the run at step ``step``: ``how`` is ``"sigterm"`` (after the step's training batch),
    ``"kill-in-validation"`` (while the step's validation runs) or ``"kill-after-validation"``
    (once the step is done, as the next batch starts)."""

    def __init__(self, how: str, step: int) -> None:
        self.how, self.step = how, step

    def on_train_batch_end(self, trainer, *args):
        if self.how == "sigterm" and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_validation_batch_end(self, trainer, *args):
        if self.how == "kill-in-validation" and trainer.state.fn == "fit" and trainer.global_step == self.step:
            raise Killed()

    def on_train_batch_start(self, trainer, *args):
        if self.how == "kill-after-validation" and trainer.global_step == self.step:
            raise Killed()


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The run never stopped, and its CSV log."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("straight")
    torch.manual_seed(0)
    r = seqbench.train("adding", "tcn", out=str(out), name="r", **TINY)
    torch.set_num_threads(before)
    return r, _csv_rows(out / "r")


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _csv_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "logs" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _without_time(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in history]


def _stopped(out: Path, stop: StopAt, resume: bool) -> None:
    with pytest.raises((RunInterrupted, Killed)):
        seqbench.train("adding", "tcn", out=str(out), name="r", resume=resume, callbacks=[stop], **TINY)


def _assert_same_run(resumed: dict, straight: dict, out: Path, straight_rows: list[dict]) -> None:
    assert _without_time(resumed["history"]) == _without_time(straight["history"])
    assert resumed["best_epoch"] == straight["best_epoch"]
    assert resumed["metrics"] == straight["metrics"]
    assert _csv_rows(out / "r") == straight_rows


@pytest.mark.parametrize("how, step", [
    ("sigterm", 4),                  # SIGTERM on a step that validates and checkpoints
    ("sigterm", 3),                  # ... on one that does neither
    ("sigterm", 6),                  # ... on the last step of an epoch (validation at the epoch's end)
    ("sigterm", 12),                 # ... on the last step of the run
    ("kill-in-validation", 4),       # kill -9 while the validation of a checkpointed step runs
    ("kill-in-validation", 6),       # ... while the epoch's last validation runs
    ("kill-after-validation", 4),    # kill -9 just after a validation and its checkpoint
    ("kill-after-validation", 6),    # ... just after an epoch ended
])
def test_a_run_stopped_on_or_near_a_validation_resumes_exactly(tmp_path, one_thread, straight, how, step):
    torch.manual_seed(0)
    _stopped(tmp_path, StopAt(how, step), resume=False)
    resumed = seqbench.train("adding", "tcn", out=str(tmp_path), name="r", resume=True, **TINY)
    _assert_same_run(resumed, straight[0], tmp_path, straight[1])


def test_a_run_stopped_twice_keeps_every_history_row(tmp_path, one_thread, straight):
    torch.manual_seed(0)
    _stopped(tmp_path, StopAt("kill-in-validation", 4), resume=False)
    _stopped(tmp_path, StopAt("sigterm", 8), resume=True)
    _stopped(tmp_path, StopAt("kill-in-validation", 10), resume=True)
    resumed = seqbench.train("adding", "tcn", out=str(tmp_path), name="r", resume=True, **TINY)
    assert [h["step"] for h in resumed["history"]] == [2, 4, 6, 8, 10, 12]
    _assert_same_run(resumed, straight[0], tmp_path, straight[1])


def test_sigterm_on_a_validating_step_checkpoints_after_that_validation(tmp_path, one_thread):
    from seqbench.training.load import read_checkpoint

    with pytest.raises(RunInterrupted, match="after step 4") as stop:
        seqbench.train("adding", "tcn", out=str(tmp_path), name="r", callbacks=[StopAt("sigterm", 4)], **TINY)
    assert stop.value.exit_code == 143
    ckpt = read_checkpoint(tmp_path / "r" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 4 and [h["step"] for h in ckpt["seqbench"]["history"]] == [2, 4]


class TimeLimitAt(Callback):
    """Stops the run after step ``step`` as ``--max-time``'s timer does (``trainer.should_stop``)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            trainer.should_stop = True


def test_a_run_stopped_by_its_time_limit_mid_epoch_resumes_where_it_stopped(tmp_path, one_thread, straight):
    # the reproduction queue resumes time-limited runs: the rest of the epoch must not be skipped
    torch.manual_seed(0)
    stopped = seqbench.train("adding", "tcn", out=str(tmp_path), name="r", callbacks=[TimeLimitAt(3)], **TINY)
    assert stopped["stopped_by_time_limit"] and stopped["steps"] == 3
    resumed = seqbench.train("adding", "tcn", out=str(tmp_path), name="r", resume=True, **TINY)
    # the stop validated at step 3 too; every other validation saw the uninterrupted run's weights
    assert [h["step"] for h in resumed["history"]] == [2, 3, 4, 6, 8, 10, 12]
    valid = {h["step"]: h["valid_mse"] for h in resumed["history"] if h["step"] != 3}
    assert valid == {h["step"]: h["valid_mse"] for h in straight[0]["history"]}
