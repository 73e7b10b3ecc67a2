"""RunDir: the run directory's files where runs made before it put them, what a directory
holds (finished, stopped, nothing), the time a stopped run has spent, the lock, what starting
over deletes, and the paper's figures a run is put beside (asked of the task)."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import torch

import seqbench
from seqbench import paper, tasks
from seqbench.training import RunConfig, RunDir, Training, build_task
from seqbench.training.locking import RunLocked

from custom_datasets import labelled_sequences

# A run directory made by seqbench at 897d1e4, before RunDir: the command below with --epochs 2
# (and --threads 1)
MADE_BEFORE = Path(__file__).parent / "data" / "run-897d1e4"
ARGS = ["adding", "--name", "t", "--seq-len", "16", "--variant", "train_size=48", "--variant", "valid_size=16",
        "--variant", "test_size=16", "--hidden", "4", "--levels", "2", "--kernel-size", "2", "--batch-size", "8",
        "--checkpoint-every", "2", "--no-progress"]
TINY = dict(seq_len=16, train_size=48, valid_size=16, test_size=16, hidden_size=4, levels=2, kernel_size=2,
            dropout=0.2, epochs=2, batch_size=8, progress=False, checkpoint_every=2)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run (with a --max-time, so its checkpoints carry Lightning's timer) and
    the wall-clock seconds its training call took."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs")
    started = time.monotonic()
    result = seqbench.train("adding", "tcn", out=str(out), name="t", max_time=600, **TINY)
    yield RunDir(out / "t"), result, time.monotonic() - started
    torch.set_num_threads(threads)


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_run_writes_the_files_runs_before_it_wrote_where_they_wrote_them(finished):
    run_dir, result, _ = finished
    # the layout of a run directory made by seqbench before RunDir (897d1e4): it must not move
    assert _files(run_dir.path) == [".lock", "checkpoints/best.ckpt", "checkpoints/last.ckpt", "logs/metrics.csv",
                                    "result.json"]
    root = run_dir.path
    assert (run_dir.last, run_dir.best, run_dir.metrics_log, run_dir.lock_file, run_dir.result) == (
        root / "checkpoints" / "last.ckpt", root / "checkpoints" / "best.ckpt", root / "logs" / "metrics.csv",
        root / ".lock", root / "result.json")
    assert result["checkpoint"] == str(run_dir.best) and result["run_dir"] == str(run_dir) == os.fspath(run_dir)


def test_a_run_made_before_run_dir_resumes_evaluates_and_reports_the_same(tmp_path, cli):
    runs = tmp_path / "runs"
    shutil.copytree(MADE_BEFORE, runs)  # elsewhere than it was made: a moved run directory
    run_dir = RunDir(runs / "t")
    before = run_dir.read_result()
    assert run_dir.finished and run_dir.newest_step() == before.steps == 12 and run_dir.time_spent() is None
    code, _, err = cli(["train", *ARGS, "--out", str(runs)])
    assert code == 1 and "already holds a finished run" in err  # kept without --resume or --overwrite
    code, _, err = cli(["train", *ARGS, "--out", str(runs), "--epochs", "3", "--resume"])
    assert code == 0, err
    after = run_dir.read_result()
    # the third epoch validates worse: the run still delivers its epoch-2 checkpoint, as that seqbench did
    assert (after.epochs, after.steps, after.best_epoch, after.selection["step"]) == (3, 18, 2, 12)
    assert after.test_value == pytest.approx(before.test_value, rel=1e-6)
    assert after.valid_value == pytest.approx(before.valid_value, rel=1e-6)
    assert after.paper == before.paper and after.checkpoint == str(run_dir.best)
    assert [row["step"] for row in after.history] == [6, 12, 18]
    code, out, err = cli(["evaluate", str(run_dir.best), "--json"])
    assert code == 0 and json.loads(out)["metrics"]["mse"] == pytest.approx(before.test_value, rel=1e-6)
    code, _, err = cli(["report", str(runs)])
    assert code == 0, err
    runs_reported = json.loads((runs / "summary.json").read_text())["runs"]
    assert [r["metrics"]["test"]["mse"] for r in runs_reported] == [after.test_value]


def test_a_finished_run_is_finished_and_its_result_reads_back(finished):
    run_dir, result, _ = finished
    assert run_dir.finished and run_dir.holds_a_run() and not run_dir.is_locked()
    assert run_dir.newest_checkpoint() == run_dir.checkpoint_to_resume() == run_dir.last
    assert run_dir.newest_step() == result["steps"] == 12
    assert run_dir.read_result().to_dict() == result


def test_the_time_spent_is_the_timer_in_the_newest_checkpoint(finished):
    run_dir, _, wall = finished
    spent = run_dir.time_spent()
    assert spent is not None and 0 < spent < wall  # training only: less than the whole call took


def test_a_run_without_a_time_limit_has_no_timer_to_read(tmp_path):
    seqbench.train("adding", "tcn", out=str(tmp_path), name="t", **{**TINY, "epochs": 1})
    run_dir = RunDir(tmp_path / "t")
    assert run_dir.has_checkpoint() and run_dir.time_spent() is None


def test_what_a_stopped_or_empty_run_directory_holds(tmp_path):
    run_dir = RunDir(tmp_path / "r")
    assert not run_dir.holds_a_run() and not run_dir.finished and run_dir.newest_checkpoint() is None
    assert run_dir.newest_step() is None and run_dir.time_spent() is None and not run_dir.is_locked()
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        run_dir.checkpoint_to_resume()
    run_dir.metrics_log.parent.mkdir(parents=True)
    run_dir.metrics_log.write_text("epoch,step\n")
    run_dir.checkpoints.mkdir()
    (run_dir.checkpoints / ".last.123.tmp.ckpt").write_bytes(b"half")  # a kill mid-write
    assert not run_dir.holds_a_run()  # nothing to resume, nothing lost by starting again
    run_dir.last.write_bytes(b"")  # a checkpoint, even a broken one, is only replaced with --overwrite
    assert run_dir.holds_a_run() and not run_dir.finished and run_dir.newest_checkpoint() == run_dir.last
    assert run_dir.newest_step() is None and run_dir.time_spent() is None  # unreadable: no step, no time


def test_the_lock_is_held_by_one_process_and_released(tmp_path):
    run_dir = RunDir(tmp_path / "new" / "r")
    with run_dir.lock():
        assert run_dir.path.is_dir() and run_dir.is_locked()
        assert run_dir.lock_file.read_text() == str(os.getpid())
        with pytest.raises(RunLocked, match=f"in use by another seqbench process \\(pid {os.getpid()}\\)"):
            with run_dir.lock():
                pass
    assert not run_dir.is_locked()
    with RunDir(tmp_path / "child").lock(enabled=False):  # a DDP launcher's extra process: the first one locks
        assert (tmp_path / "child").is_dir() and not RunDir(tmp_path / "child").lock_file.exists()


def _config(out, **kw):
    cfg = RunConfig(task="adding", model="tcn", out=str(out), name="r", **kw)
    return cfg, Training.resolve(build_task("adding", None, cfg.preset, **cfg.variant), cfg)


def test_starting_over_deletes_only_the_run_s_own_files_and_only_with_overwrite(tmp_path):
    run_dir = RunDir(tmp_path / "r")
    for path in (run_dir.last, run_dir.metrics_log, run_dir.path / "ranks" / "rank0.json", run_dir.result,
                 run_dir.path / "notes.txt"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    before = _files(run_dir.path)
    with pytest.raises(FileExistsError, match="already holds a finished run; pass --resume with more --epochs"):
        run_dir.prepare(*_config(tmp_path))
    assert _files(run_dir.path) == before
    assert run_dir.prepare(*_config(tmp_path), launched_child=True) is None and _files(run_dir.path) == before
    assert run_dir.prepare(*_config(tmp_path, overwrite=True)) is None
    assert _files(run_dir.path) == ["notes.txt"]


def test_a_stopped_run_is_copied_without_its_lock_or_temporary_files(finished, tmp_path):
    run_dir, _, _ = finished
    (run_dir.checkpoints / ".last.99.tmp.ckpt").write_bytes(b"half")
    try:
        target = RunDir(tmp_path / "carry" / "t")
        run_dir.copy_to(target)
    finally:
        (run_dir.checkpoints / ".last.99.tmp.ckpt").unlink()
    assert _files(target.path) == [f for f in _files(run_dir.path) if f != ".lock"]
    assert target.last.read_bytes() == run_dir.last.read_bytes() and target.time_spent() == run_dir.time_spent()


# -- the paper's figures: the task's to give ------------------------------------------------
def test_the_paper_s_figures_come_from_the_task(finished):
    _, result, _ = finished
    figures = paper.RESULTS["adding"][3]
    assert tasks.AddingProblem(seq_len=600).paper_reference() == (figures, "")
    assert tasks.AddingProblem(seq_len=16).paper_reference() == (figures, "seq_len=600")
    assert tasks.CopyMemory(seq_len=50).paper_reference() == (paper.RESULTS["copy_memory"][3], "seq_len=1000")
    assert result["paper"] == {"value": figures["tcn"], "variant": "seq_len=600"}


def test_your_own_data_has_no_paper_figures(tmp_path):
    path = tmp_path / "d.csv"
    labelled_sequences(12).to_csv(path, index=False)
    assert tasks.custom(path, target="label").paper_reference() is None
