"""Faults a user or an attacker can cause: crafted and broken checkpoints, a stopped run, two
runs in one directory, an output directory that cannot be written. Each gives a clear
one-line error and a non-zero exit status, runs no code from a file, and loses nothing.

(Kill -9 and SIGTERM mid-epoch, then ``--resume``: tests/test_train_run.py; on or near a
validation, and twice: tests/test_resume_exact.py; Ctrl-C, a stopped comparison, run directories
kept and names checked, a diverging loss: tests/test_run_safety.py.
``scripts/fault_suite.py`` tries the slow ones for real: kill -9 and SIGTERM from outside,
a full disk on a small tmpfs, a read-only mount, corrupt data files of every format.)
"""

import errno
import re
import json
import os
import sys
from pathlib import Path

import pytest
import torch

import seqbench
from seqbench.training import CheckpointError, RunDir, UnsafeCheckpointError, evaluate, load_run, read_checkpoint

TINY = dict(seq_len=16, train_size=48, valid_size=16, test_size=16, hidden_size=4, levels=2, kernel_size=2,
            dropout=0.2, epochs=2, batch_size=8, progress=False)
CLI_TINY = ["--seq-len", "16", "--variant", "train_size=48", "--variant", "valid_size=16", "--variant",
            "test_size=16", "--hidden", "4", "--levels", "2", "--kernel-size", "2", "--epochs", "2",
            "--batch-size", "8", "--no-progress"]


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny finished run: its directory and best checkpoint."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("trained")
    r = seqbench.train("adding", "tcn", out=str(out), name="t", **TINY)
    torch.set_num_threads(before)
    return out / "t", Path(r["checkpoint"])


def _malicious(good: Path, path: Path, marker: Path, legacy: bool) -> Path:
    ckpt = torch.load(good, weights_only=True)
    ckpt["hyper_parameters"]["payload"] = Payload(marker)
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
def test_a_crafted_checkpoint_is_refused_by_every_entry_point_and_its_payload_never_runs(
        trained, tmp_path, cli, legacy):
    run_dir, good = trained
    marker = tmp_path / "payload-ran"
    bad = _malicious(good, tmp_path / "shared.ckpt", marker, legacy)
    # the payload is real: the full unpickler runs it
    torch.load(bad, weights_only=False)
    assert marker.exists()
    marker.unlink()

    for call in (read_checkpoint, load_run, evaluate):  # the Python API
        with pytest.raises(UnsafeCheckpointError, match="refused to load"):
            call(bad)
    for args in (["evaluate", str(bad)], ["predict", str(bad), "--file", str(tmp_path / "new.csv")]):
        code, _, err = cli(args)
        assert code == 1 and "refused to load" in err and err.count("\n") == 1 and "Traceback" not in err
    # resume: a crafted last.ckpt in a run directory
    victim = tmp_path / "runs" / "t"
    (victim / "checkpoints").mkdir(parents=True)
    _malicious(good, victim / "checkpoints" / "last.ckpt", marker, legacy)
    code, _, err = cli(["train", "adding", "--out", str(tmp_path / "runs"), "--name", "t", "--resume", *CLI_TINY])
    assert code == 1 and "refused to load" in err
    assert not marker.exists()


def test_what_training_writes_loads_as_plain_data(trained):
    run_dir, best = trained
    for path in (best, run_dir / "checkpoints" / "last.ckpt"):
        ckpt = torch.load(path, weights_only=True)  # no allow-listed globals needed
        assert ckpt["hyper_parameters"]["run_config"]["task"] == "adding"


@pytest.mark.parametrize("damage, needle", [
    ("empty", "empty (0 bytes)"),
    ("truncated", "not a readable checkpoint"),
    ("text", "not a readable checkpoint"),
    ("plain_state_dict", "not a seqbench checkpoint"),
    ("other_model", "do not fit"),
    ("other_task", "do not fit"),
    ("unknown_model", "cannot rebuild"),
])
def test_broken_or_foreign_checkpoints_are_one_line_errors(trained, tmp_path, cli, damage, needle):
    _, good = trained
    path = tmp_path / f"{damage}.ckpt"
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "text":
        path.write_text("hello\n")
    elif damage == "plain_state_dict":
        torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    else:
        ckpt = torch.load(good, weights_only=True)
        run = ckpt["hyper_parameters"]["run_config"]
        if damage == "other_model":
            run["model"] = "gru"  # a GRU's weights are not the TCN's in the file
        elif damage == "other_task":
            run["task"], run["variant"] = "copy_memory", {"seq_len": 16}  # its TCN has other shapes
        else:
            run["model"] = "cnn"
        torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=re.escape(needle)):
        load_run(path)
    code, _, err = cli(["evaluate", str(path)])
    assert code == 1 and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_predict_refuses_a_benchmark_checkpoint(trained, tmp_path, cli):
    _, good = trained
    code, _, err = cli(["predict", str(good), "--file", str(tmp_path / "x.csv")])
    assert code == 1 and "seqbench evaluate" in err


def test_resume_refuses_another_runs_checkpoint(trained, tmp_path, cli):
    _, good = trained
    victim = tmp_path / "runs" / "t"
    (victim / "checkpoints").mkdir(parents=True)
    (victim / "checkpoints" / "last.ckpt").write_bytes(good.read_bytes())  # a TCN run's file
    code, _, err = cli(["train", "adding", "--model", "gru", "--out", str(tmp_path / "runs"), "--name", "t",
                         "--resume", *CLI_TINY])
    assert code == 1 and "cannot be resumed as this run" in err


def test_resume_refuses_a_run_whose_preset_changed_since_it_began(tmp_path, cli):
    # a preset is code: a change to it does not change the run's name, so only the settings
    # saved in the checkpoint can tell that the run would go on under other settings
    out = str(tmp_path / "runs")
    code, _, err = cli(["train", "adding", "--out", out, "--name", "t", *CLI_TINY])
    assert code == 0, err
    last = tmp_path / "runs" / "t" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, weights_only=True)
    lr = ckpt["hyper_parameters"]["training"]["lr"]
    resume = ["train", "adding", "--out", out, "--name", "t", "--resume", *CLI_TINY, "--epochs", "3"]
    ckpt["hyper_parameters"]["training"]["lr"] = 4.0  # as if the preset had said 4 when the run began
    torch.save(ckpt, last)
    code, _, err = cli(resume)
    assert code == 1 and f"trained with lr 4.0, not {lr!r}" in err and "--overwrite" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    # a checkpoint from before the settings were saved resumes as it did
    del ckpt["hyper_parameters"]["training"]
    torch.save(ckpt, last)
    code, _, err = cli(resume)
    assert code == 0, err


def test_a_second_process_on_a_run_directory_is_refused_and_changes_nothing(tmp_path, cli):
    run_dir = tmp_path / "runs" / "t"
    with RunDir(run_dir).lock():  # another process is training here (flock conflicts per open file, in-process too)
        (run_dir / "marker").write_text("theirs")
        code, _, err = cli(["train", "adding", "--out", str(tmp_path / "runs"), "--name", "t", "--overwrite",
                             *CLI_TINY])
        assert code == 1 and "in use by another seqbench process" in err and str(os.getpid()) in err
        assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "marker"]
    # once the other process is gone the directory is free again
    code, _, err = cli(["train", "adding", "--out", str(tmp_path / "runs"), "--name", "t", *CLI_TINY])
    assert code == 0, err
    assert (run_dir / "result.json").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
@pytest.mark.parametrize("where", ["proc", "under_a_file"])
def test_an_output_directory_that_cannot_be_written_is_a_clear_error(tmp_path, cli, where):
    if where == "proc":
        out = "/proc/seqbench-cannot-write-here"  # refuses root too, unlike a chmod
    else:
        (tmp_path / "file").write_text("x")
        out = str(tmp_path / "file" / "runs")
    code, _, err = cli(["train", "adding", "--out", out, "--name", "t", *CLI_TINY])
    assert code == 1 and "cannot write the run directory" in err and err.count("\n") == 1


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint_and_resume_continues(tmp_path, monkeypatch,
                                                                                          cli):
    import seqbench.training.checkpoints as checkpoints

    real_save, calls = torch.save, []

    def save_until_the_disk_fills(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) == 3:  # the third checkpoint write: half a file, then ENOSPC
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **kw)

    monkeypatch.setattr(checkpoints.torch, "save", save_until_the_disk_fills)
    out = tmp_path / "runs"
    code, _, err = cli(["train", "adding", "--out", str(out), "--name", "t", "--checkpoint-every", "2", *CLI_TINY])
    assert code == 1 and "No space left on device" in err and "unchanged" in err and err.count("\n") == 1
    ckpt_dir = out / "t" / "checkpoints"
    assert not list(ckpt_dir.glob(".*.tmp"))
    assert read_checkpoint(ckpt_dir / "last.ckpt")["global_step"] > 0  # the earlier checkpoint, whole
    monkeypatch.setattr(checkpoints.torch, "save", real_save)
    code, out_text, err = cli(["train", "adding", "--out", str(out), "--name", "t", "--resume", *CLI_TINY])
    assert code == 0, err
    assert json.loads((out / "t" / "result.json").read_text())["epochs"] == 2


def test_lazy_exports_of_the_training_package_survive_importing_its_modules():
    import importlib
    import pkgutil

    import seqbench.training as training

    for info in pkgutil.iter_modules(training.__path__):
        importlib.import_module(f"seqbench.training.{info.name}")
    for name in training.__all__:
        assert not isinstance(getattr(training, name), type(training)), f"seqbench.training.{name} is a module"


def test_evaluate_reads_the_data_from_the_given_directory(trained, tmp_path, cli):
    _, good = trained
    # adding's data is generated, so any directory works; what matters is that the option reaches the task
    code, out, err = cli(["evaluate", str(good), "--data-dir", str(tmp_path), "--json"])
    assert code == 0, err
    assert json.loads(out)["metrics"]["mse"] > 0
    assert load_run(good, data_dir=tmp_path).config.data_dir == str(tmp_path)
