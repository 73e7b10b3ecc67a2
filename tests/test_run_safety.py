"""Nothing lost, nothing left behind: a run directory is replaced only with --overwrite and only
inside the runs directory; a comparison stopped at any point finishes with --resume; Ctrl-C
and a diverging loss stop with one line that says what to do; a data error leaves no run
directory behind."""

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback

import seqbench
import seqbench.training
import seqbench.training.runner
from seqbench.comparison import compare, group_dir
from seqbench.training import RunConfig, RunInterrupted

TINY = dict(seq_len=16, train_size=48, valid_size=16, test_size=16, hidden_size=4, levels=2, kernel_size=2,
            dropout=0.2, epochs=2, batch_size=8, progress=False, checkpoint_every=2)
CLI_TINY = ["--seq-len", "16", "--variant", "train_size=48", "--variant", "valid_size=16", "--variant",
            "test_size=16", "--hidden", "4", "--levels", "2", "--kernel-size", "2", "--epochs", "2",
            "--batch-size", "8", "--checkpoint-every", "2", "--no-progress"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- finding 2: replaced only with --overwrite, only inside the runs directory ------------------
def test_a_finished_run_without_its_checkpoints_is_kept_unless_overwrite(tmp_path, cli):
    out = tmp_path / "runs"
    args = ["train", "adding", "--out", str(out), "--name", "t", *CLI_TINY]
    assert cli(args)[0] == 0
    (out / "t" / "checkpoints" / "last.ckpt").unlink()  # to save space: the result stays
    before = _files(out)
    code, _, err = cli(args)
    assert code == 1 and "already holds a finished run" in err and "--overwrite" in err
    assert err.count("\n") == 1 and _files(out) == before
    code, _, err = cli([*args, "--overwrite"])
    assert code == 0, err
    assert (out / "t" / "checkpoints" / "last.ckpt").exists()


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../x", "a\\b", "/tmp/x"])
def test_a_run_name_must_stay_inside_the_runs_directory(tmp_path, cli, name):
    # what --name .. used to delete: the user's own files one level above the runs directory
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "mine.ckpt").write_text("mine")
    (tmp_path / "result.json").write_text("{}")
    before = _files(tmp_path)
    with pytest.raises(ValueError, match="one directory name"):
        RunConfig(task="adding", name=name)
    code, _, err = cli(["train", "adding", "--out", str(tmp_path / "runs"), "--name", name, "--overwrite",
                        *CLI_TINY])
    assert code == 2 and "one directory name" in err
    assert _files(tmp_path) == before and not (tmp_path / "runs").exists()


def test_a_run_directory_that_links_outside_the_runs_directory_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "checkpoints").mkdir(parents=True)
    (elsewhere / "checkpoints" / "theirs.ckpt").write_text("theirs")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "t").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="outside"):
        seqbench.train("adding", "tcn", out=str(tmp_path / "runs"), name="t", overwrite=True, **TINY)
    assert (elsewhere / "checkpoints" / "theirs.ckpt").read_text() == "theirs"


# -- finding 7: data read and checked before anything is written --------------------------------
def _tiny_task_and_config(out: Path, name: str):
    """A tiny adding task (built here, so a test can change it) and the run of ``TINY`` on it."""
    variant = {k: TINY[k] for k in ("seq_len", "train_size", "valid_size", "test_size")}
    task = seqbench.training.build_task("adding", None, "paper", **variant)
    cfg = RunConfig(task="adding", out=str(out), name=name, variant=variant,
                    **{k: v for k, v in TINY.items() if k not in variant})
    return task, cfg


def test_a_data_error_leaves_no_run_directory(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    code, _, err = cli(["train", "mnist", "--data-dir", str(tmp_path / "no-data"), "--variant", "download=false",
                        "--out", str(out), "--epochs", "1", "--no-progress"])
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())
    task, cfg = _tiny_task_and_config(out, "e")
    real = task.dataset
    monkeypatch.setattr(task, "dataset", lambda split: [] if split == "valid" else real(split))
    with pytest.raises(ValueError, match="valid split is empty"):
        seqbench.training.run(cfg, task=task)
    assert not (out / "e").exists()


def test_a_resume_of_nothing_and_a_failure_before_the_first_checkpoint_leave_no_directory(tmp_path, monkeypatch):
    out = tmp_path / "runs"
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        seqbench.train("adding", "tcn", out=str(out), name="r", resume=True, **TINY)
    assert not (out / "r").exists()

    from seqbench.training import TrainingDiverged

    task, cfg = _tiny_task_and_config(out, "n")
    real = task.loss
    monkeypatch.setattr(task, "loss", lambda output, batch: real(output, batch) * float("nan"))
    with pytest.raises(TrainingDiverged, match="at step 1 .*no checkpoint was written"):
        seqbench.training.run(cfg, task=task)
    assert not (out / "n").exists()


# -- item 5: a non-finite training loss stops the run -------------------------------------------
class NaNLossFrom(Callback):
    """Makes the training loss NaN from step ``step`` on (the weights turned to NaN)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if trainer.global_step + 1 == self.step:
            with torch.no_grad():
                for p in module.parameters():
                    p.fill_(float("nan"))


def test_a_non_finite_training_loss_stops_the_run_at_that_step_and_keeps_it_resumable(tmp_path):
    from seqbench.training import TrainingDiverged

    out = tmp_path / "runs"
    with pytest.raises(TrainingDiverged) as stop:
        seqbench.train("adding", "tcn", out=str(out), name="d", callbacks=[NaNLossFrom(5)], **TINY)
    message = str(stop.value)
    assert str(out / "d") in message and "nan at step 5 (epoch 1)" in message and "at step 4" in message
    assert "\n" not in message
    assert not (out / "d" / "result.json").exists()
    resumed = seqbench.train("adding", "tcn", out=str(out), name="d", resume=True, **TINY)  # the step-4 state
    assert resumed["epochs"] == 2 and all(torch.isfinite(torch.tensor(h["train_loss"])) for h in resumed["history"])


def test_a_diverging_run_exits_1_with_one_line(tmp_path, cli):
    code, _, err = cli(["train", "adding", "--out", str(tmp_path), "--name", "d", "--lr", "1e30",
                        "--optimizer", "sgd", *CLI_TINY])
    assert code == 1 and "training loss is" in err and "training stopped" in err and err.count("\n") == 1
    assert "mse" not in err


# -- finding 3: Ctrl-C, and a comparison stopped at any point -----------------------------------
class CtrlCAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


def test_ctrl_c_stops_with_exit_130_and_says_how_to_go_on(tmp_path, cli, monkeypatch):
    out = tmp_path / "runs"
    real = seqbench.training.runner.run

    def with_ctrl_c(cfg, callbacks=(), task=None):
        return real(cfg, callbacks=[CtrlCAt(5)], task=task)

    monkeypatch.setattr("seqbench.training.run", with_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # what Python starts with
    try:
        code, _, err = cli(["train", "adding", "--out", str(out), "--name", "c", *CLI_TINY])
        handler = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130, err
    assert err.count("\n") == 1 and "interrupted (Ctrl-C)" in err and "at step 4" in err and "--resume" in err
    assert handler is signal.default_int_handler  # Lightning leaves Ctrl-C ignored
    monkeypatch.setattr("seqbench.training.run", real)
    code, _, err = cli(["train", "adding", "--out", str(out), "--name", "c", "--resume", *CLI_TINY])
    assert code == 0, err


MODELS = ("tcn", "gru", "rnn")
SMALL = dict(seq_len=16, train_size=48, valid_size=16, test_size=16)
RUN_OPTIONS = dict(epochs=2, batch_size=8, checkpoint_every=2, progress=False, threads=1)


def _compare(out, **kw):
    return compare("adding", MODELS, seeds=1, preset="small", variant=SMALL, out=out, **RUN_OPTIONS, **kw)


@pytest.mark.parametrize("stop", ["sigterm", "kill", "ctrl-c"])
def test_a_comparison_stopped_in_its_second_model_finishes_with_resume(tmp_path, monkeypatch, stop):
    class Killed(Exception):
        """As a kill -9 leaves the run: nothing written after its step-2 checkpoint."""

    real = seqbench.training.runner.run

    class Stop(Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 3:
                if stop == "sigterm":
                    os.kill(os.getpid(), signal.SIGTERM)
                elif stop == "ctrl-c":
                    raise KeyboardInterrupt
                else:
                    raise Killed()

    def stopping_in_gru(cfg, callbacks=(), task=None):
        return real(cfg, callbacks=[Stop()] if cfg.model == "gru" else [], task=task)

    monkeypatch.setattr("seqbench.training.run", stopping_in_gru)
    with pytest.raises((RunInterrupted, Killed)):
        _compare(tmp_path)
    monkeypatch.setattr("seqbench.training.run", real)
    group = group_dir(tmp_path, "adding", SMALL, "small")
    finished = (group / "tcn-seed0" / "result.json").read_bytes()
    assert (group / "gru-seed0" / "checkpoints" / "last.ckpt").exists() and not (group / "rnn-seed0").exists()

    # without --resume or --overwrite: refused, nothing changed
    before = _files(group)
    with pytest.raises(FileExistsError, match="--resume .* --overwrite"):
        _compare(tmp_path)
    assert _files(group) == before

    summary = _compare(tmp_path, resume=True)
    assert sorted(r["model"] for r in summary["runs"]) == sorted(MODELS)
    assert (group / "tcn-seed0" / "result.json").read_bytes() == finished  # kept, not trained again
    assert Path(summary["paths"]["markdown"]).is_file()
    gru = json.loads((group / "gru-seed0" / "result.json").read_text())
    assert gru["epochs"] == 2 and [h["epoch"] for h in gru["history"]] == [1, 2]


def test_a_comparison_starts_over_only_with_overwrite(tmp_path):
    _compare(tmp_path)
    group = group_dir(tmp_path, "adding", SMALL, "small")
    with pytest.raises(FileExistsError, match="--resume"):
        _compare(tmp_path)
    again = _compare(tmp_path, resume=True)  # everything finished: the report again, nothing trained
    assert sorted(r["model"] for r in again["runs"]) == sorted(MODELS)
    first = json.loads((group / "tcn-seed0" / "result.json").read_text())["wall_time_s"]
    _compare(tmp_path, overwrite=True)
    assert json.loads((group / "tcn-seed0" / "result.json").read_text())["wall_time_s"] != first
    with pytest.raises(ValueError, match="exclude"):
        _compare(tmp_path, resume=True, overwrite=True)


def test_compare_cli_refuses_resume_with_overwrite(cli, tmp_path):
    code, _, err = cli(["compare", "adding", "--models", "tcn", "--resume", "--overwrite", "--out", str(tmp_path)])
    assert code == 2 and "exclude" in err


def test_a_resume_on_data_that_reads_otherwise_now_is_refused(tmp_path, cli):
    """A run of your own data resumes only on the data as it was read: a changed file (here one
    value) changes the train split's scaling, and the checkpoint's weights learned the old one."""
    import numpy as np

    path = tmp_path / "load.csv"
    values = np.sin(np.arange(120) / 5)
    path.write_text("time,load\n" + "".join(f"{i},{v:.5f}\n" for i, v in enumerate(values)))
    args = ["train", "custom", "--file", str(path), "--target", "load", "--input-length", "8", "--epochs", "1",
            "--out", str(tmp_path / "runs"), "--name", "r", "--no-progress", "--threads", "1"]
    assert cli(args)[0] == 0
    code, _, err = cli(args + ["--resume", "--epochs", "2"])  # the same data: it resumes
    assert code == 0, err
    conformal = [a.replace("r", "c") if a == "r" else a for a in args] + ["--conformal", "0.8"]
    assert cli(conformal)[0] == 0  # a calibration refitted at each validation is the model's, not the data's
    code, _, err = cli(conformal + ["--resume", "--epochs", "2"])
    assert code == 0, err
    path.write_text(path.read_text().replace(f"3,{values[3]:.5f}", "3,9.00000"))
    code, _, err = cli(args + ["--resume", "--epochs", "3"])
    last = err.strip().splitlines()[-1]  # after what the custom task announces of the file
    assert code == 1 and last.startswith("error:") and "reads otherwise now" in last and "--overwrite" in last
