"""The training path on tiny tasks: results record, determinism, exact resume after SIGKILL."""

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import seqbench
from seqbench.training import evaluate

TINY = dict(seq_len=16, train_size=48, valid_size=16, test_size=16, hidden_size=4, levels=2, kernel_size=2,
            dropout=0.2, epochs=2, batch_size=8, progress=False)
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the killed subprocess runs with one thread too: same arithmetic
    yield
    torch.set_num_threads(before)


def test_result_record_and_evaluate(tmp_path, one_thread):
    r = seqbench.train("adding", "gru", out=str(tmp_path), name="g", **TINY)
    for key in ("task", "variant", "model", "config", "parameters", "receptive_field", "primary_metric",
                "metrics", "wall_time_s", "epochs", "seed", "versions", "history"):
        assert key in r
    assert r["model"] == "gru" and r["receptive_field"] is None and r["epochs"] == 2
    assert set(r["metrics"]) == {"valid", "test"} and r["metrics"]["test"]["mse"] > 0
    assert json.loads((tmp_path / "g" / "result.json").read_text())["metrics"] == r["metrics"]
    assert [h["epoch"] for h in r["history"]] == [1, 2]
    # the reported valid metric is the best epoch's, and the test metric is that checkpoint's
    assert r["metrics"]["valid"]["mse"] == min(h["valid_mse"] for h in r["history"])
    again = evaluate(r["checkpoint"], "test")
    assert again["metrics"]["mse"] == pytest.approx(r["metrics"]["test"]["mse"], rel=1e-6)
    assert (tmp_path / "g" / "logs" / "metrics.csv").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        seqbench.train("adding", "gru", out=str(tmp_path), name="g", **TINY)


def test_test_every_epoch_and_validation_within_epochs(tmp_path, one_thread):
    r = seqbench.train("adding", "tcn", out=str(tmp_path), name="t", test_every_epoch=True,
                       **{**TINY, "epochs": 3})
    tests = [h["test_mse"] for h in r["history"]]
    assert len(tests) == 3 and r["test_last3_mean"]["mse"] == pytest.approx(sum(tests) / 3)
    # the per-epoch test of the best epoch is what the best checkpoint scores on test
    best = r["history"][r["best_epoch"] - 1]
    assert best["test_mse"] == pytest.approx(r["metrics"]["test"]["mse"], rel=1e-6)
    # 6 steps per epoch, validation every 4 steps: at steps 4, 8, 12 (epochs 0.667, 1.333, 2.0)
    v = seqbench.train("adding", "tcn", out=str(tmp_path), name="v", val_every=4, **TINY)
    assert [h["step"] for h in v["history"]] == [4, 8, 12]
    assert [h["epoch"] for h in v["history"]] == pytest.approx([4 / 6, 8 / 6, 2.0], abs=1e-4)
    assert v["test_last3_mean"] is None and v["epochs"] == 2 and not v["stopped_by_time_limit"]


def test_adam_and_sgd_use_the_fused_kernel_rmsprop_the_plain_one():
    from seqbench.training.module import make_optimizer

    w = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(4))]
    assert make_optimizer("adam", w, 1e-3).defaults["fused"] is True
    assert make_optimizer("sgd", w, 1e-3).defaults["fused"] is True
    assert not make_optimizer("rmsprop", w, 1e-3).defaults.get("fused")
    # the fused step is the same algorithm: a few steps agree with the for-loop Adam
    a = [p.detach().clone().requires_grad_() for p in w]
    b = [p.detach().clone().requires_grad_() for p in w]
    fused, loop = make_optimizer("adam", a, 1e-2), torch.optim.Adam(b, lr=1e-2)
    for step in range(5):
        for ps in (a, b):
            for p in ps:
                p.grad = torch.full_like(p, float(step + 1)) * p.detach()
        fused.step()
        loop.step()
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)


def test_same_command_same_numbers(tmp_path, one_thread):
    a = seqbench.train("adding", "tcn", out=str(tmp_path), name="a", **{**TINY, "epochs": 1})
    b = seqbench.train("adding", "tcn", out=str(tmp_path), name="b", **{**TINY, "epochs": 1})
    c = seqbench.train("adding", "tcn", out=str(tmp_path), name="c", seed=1, **{**TINY, "epochs": 1})
    assert a["metrics"] == b["metrics"] and a["history"][0]["train_loss"] == b["history"][0]["train_loss"]
    assert a["metrics"] != c["metrics"]


INTERRUPTED = textwrap.dedent("""
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    from lightning.pytorch import Callback
    import seqbench
    from seqbench.training import RunInterrupted

    class SignalAfterStep(Callback):  # the signal in the middle of the second epoch (6 steps per epoch)
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == {AT}:
                os.kill(os.getpid(), signal.{SIGNAL})

    try:
        seqbench.train("adding", "tcn", out=sys.argv[1], name="r", checkpoint_every={EVERY},
                       callbacks=[SignalAfterStep()], **{TINY!r})
    except RunInterrupted as e:
        print(e, file=sys.stderr)
        sys.exit(e.exit_code)
""")


def _csv_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "logs" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _interrupted_then_resumed(tmp_path, signal_name: str, every: int, move: bool = False, at: int = 9):
    """Train in a subprocess that gets ``signal_name`` at step ``at`` and resume (from another
    directory if ``move``); returns its process and its run directory's last checkpoint,
    having checked that the resumed and the uninterrupted results agree."""
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED.replace("{TINY!r}", repr(TINY)).replace("{SIGNAL}", signal_name)
                      .replace("{EVERY}", str(every)).replace("{AT}", str(at)))
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "stopped")], env=env,
                          capture_output=True, text=True, timeout=300)
    run_dir = tmp_path / "stopped" / "r"
    assert (run_dir / "checkpoints" / "last.ckpt").exists() and not (run_dir / "result.json").exists()
    assert not list((run_dir / "checkpoints").glob("*.tmp"))  # no half-written files left behind
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    out = tmp_path / "stopped"
    if move:  # carried to another machine or clone: the checkpoints name the old directory
        out = tmp_path / "elsewhere" / "runs"
        out.parent.mkdir()
        (tmp_path / "stopped").rename(out)
    resumed = seqbench.train("adding", "tcn", out=str(out), name="r", resume=True, checkpoint_every=every, **TINY)
    straight = seqbench.train("adding", "tcn", out=str(tmp_path / "straight"), name="r", checkpoint_every=every,
                              **TINY)
    assert resumed["metrics"] == straight["metrics"]
    assert [h["train_loss"] for h in resumed["history"]] == [h["train_loss"] for h in straight["history"]]
    # the step-by-step log too: the rows from before the stop kept, none twice
    assert _csv_rows(out / "r") == _csv_rows(tmp_path / "straight" / "r")
    assert Path(resumed["checkpoint"]).parent == (out / "r" / "checkpoints").resolve()
    return proc, ckpt


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path, one_thread):
    proc, ckpt = _interrupted_then_resumed(tmp_path, "SIGKILL", every=2)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert ckpt["global_step"] == 8 and ckpt["seqbench"]["batches_done"] == 2  # the last one before the kill


def test_sigkill_keeps_the_csv_log_row_logged_just_after_the_checkpoint(tmp_path, one_thread):
    # Lightning logs the row of step 9 just after it writes the checkpoint of step 10 (its steps
    # count from 0), and the resumed run starts after both: the row must be kept, not dropped
    proc, ckpt = _interrupted_then_resumed(tmp_path, "SIGKILL", every=2, at=11)
    assert proc.returncode == -9 and ckpt["global_step"] == 10, proc.stderr[-2000:]


def test_sigterm_mid_epoch_checkpoints_at_once_then_resume_matches_uninterrupted(tmp_path, one_thread):
    proc, ckpt = _interrupted_then_resumed(tmp_path, "SIGTERM", every=4)
    assert proc.returncode == 143, proc.stderr[-2000:]
    assert "stopped by SIGTERM after step 9" in proc.stderr and "--resume" in proc.stderr
    assert ckpt["global_step"] == 9 and ckpt["seqbench"]["batches_done"] == 3  # the step it stopped at


def test_a_run_directory_moved_elsewhere_resumes_the_same(tmp_path, one_thread):
    proc, _ = _interrupted_then_resumed(tmp_path, "SIGTERM", every=4, move=True)
    assert proc.returncode == 143, proc.stderr[-2000:]


def test_the_best_checkpoint_keeps_its_score_when_the_run_directory_moved(tmp_path):
    from seqbench.training.checkpoints import BestCheckpoint

    old = tmp_path / "old" / "checkpoints"
    saved = BestCheckpoint(dirpath=old, filename="best", monitor="valid/mse", save_top_k=1)
    saved.best_model_score, saved.best_model_path = torch.tensor(0.25), str(old / "best.ckpt")
    saved.best_k_models = {str(old / "best.ckpt"): torch.tensor(0.25)}
    moved = BestCheckpoint(dirpath=tmp_path / "new" / "checkpoints", filename="best", monitor="valid/mse", save_top_k=1)
    moved.load_state_dict(saved.state_dict())
    new = str((tmp_path / "new" / "checkpoints" / "best.ckpt").resolve())
    assert float(moved.best_model_score) == 0.25  # Lightning alone forgets it: the next validation would replace best.ckpt
    assert moved.best_model_path == new and list(moved.best_k_models) == [new]


@pytest.mark.parametrize("flush", [True, False])
def test_subnormal_floats_are_flushed_while_training_only(tmp_path, flush):
    import lightning.pytorch as pl

    seen = []

    class Probe(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            seen.append(float(torch.tensor([1e-40]) * 1.0))  # a subnormal float32

    seqbench.train("adding", "tcn", out=str(tmp_path), name="f", flush_denormal=flush, callbacks=[Probe()],
                   **{**TINY, "epochs": 1})
    assert seen and all((v == 0.0) == flush for v in seen)
    assert float(torch.tensor([1e-40]) * 1.0) > 0  # torch's default again after the run


def test_run_name_separates_what_is_trained_not_its_budget():
    from seqbench.training import RunConfig

    base = RunConfig(task="jsb").run_name()
    assert RunConfig(task="jsb", epochs=5, max_time=60.0).run_name() == base  # `--resume --epochs N` finds it
    changes = [{"kernel_size": 5}, {"levels": 4}, {"dropout": 0.25}, {"hidden_size": 64}, {"num_layers": 2},
               {"lr": 2e-3}, {"batch_size": 8}, {"optimizer": "sgd"}, {"clip": 1.0}, {"clip": 0.0}]
    names = {RunConfig(task="jsb", **c).run_name() for c in changes}
    assert len(names) == len(changes) and base not in names

