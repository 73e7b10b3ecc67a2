"""``compare TASK --models tcn,ssm`` on every kind of task, on tiny data and budgets: per-step
(adding, copy memory), last step (MNIST from IDX files the test writes), a language model (a
tiny corpus) and the user's own data (a classification and a forecast)."""

import json

import numpy as np
import pandas as pd
import pytest

from custom_datasets import labelled_sequences
from seqbench.training.load import model_state, read_checkpoint
from test_tasks_mnist import write_mnist

TINY = ["--epochs", "1", "--threads", "1", "--no-progress"]
SMALL_SETS = ["--variant", "train_size=64", "--variant", "valid_size=8", "--variant", "test_size=8"]


def _compared(cli, out, args) -> dict:
    """Run ``compare ... --models tcn,ssm`` and return its summary, checking both models ran and are reported."""
    code, stdout, err = cli(["compare", *args, "--models", "tcn,ssm", "--out", str(out), *TINY])
    assert code == 0, err
    rows = [line.split()[0] for line in stdout.splitlines() if line.startswith(("tcn ", "ssm "))]
    assert rows == ["tcn", "ssm"], stdout
    summary = json.loads(next(out.glob("compare-*/summary.json")).read_text())
    entries = {e["model"]: e for e in summary["models"]}
    assert {"tcn", "ssm"} <= set(entries) and "against_tcn" in entries["ssm"]  # own data adds reference models
    results = [json.loads(p.read_text()) for p in out.glob("compare-*/ssm-*/result.json")]
    assert results and all(np.isfinite(v) for r in results for v in r["metrics"]["test"].values())
    return summary


@pytest.mark.parametrize("task", ["adding", "copy_memory"])
def test_per_step_and_synthetic_tasks(cli, tmp_path, task):
    _compared(cli, tmp_path, [task, "--seq-len", "12", *SMALL_SETS])


def test_sequential_mnist_a_last_step_task(cli, tmp_path):
    write_mnist(tmp_path / "data", n_train=24, n_test=8)
    _compared(cli, tmp_path / "runs", ["mnist", "--data-dir", str(tmp_path / "data"), "--variant", "download=false",
                                       "--variant", "verify=false", "--variant", "valid_size=8", "--steps", "1"])


def test_a_word_language_model(cli, tmp_path):
    folder = tmp_path / "data" / "ptb"
    folder.mkdir(parents=True)
    for split, text in (("train", "the cat sat\nthe dog sat down\n\na cat\n"), ("valid", "the cat\n"),
                        ("test", "a dog sat\n")):
        (folder / f"ptb.{split}.txt").write_text(text)
    variant = ["--variant", "download=false", "--variant", "verify=false", "--variant", "batch_size=1",
               "--variant", "eval_batch_size=1", "--variant", "seq_len=4", "--variant", "valid_seq_len=2"]
    _compared(cli, tmp_path / "runs", ["ptb", "--data-dir", str(tmp_path / "data"), *variant])


def test_own_data_classification_reads_whole_sequences_both_ways(cli, tmp_path):
    data = tmp_path / "moves.csv"
    labelled_sequences(40).to_csv(data, index=False)
    _compared(cli, tmp_path / "runs", ["custom", "--file", str(data), "--target", "label"])
    (checkpoint,) = tmp_path.glob("runs/compare-*/ssm-*/checkpoints/best.ckpt")
    weights = model_state(read_checkpoint(checkpoint))
    assert any(name.endswith("ssm.c_backward") for name in weights)  # a label after the whole sequence: both ways


def test_own_data_forecast(cli, tmp_path):
    t = np.arange(160)
    data = tmp_path / "meter.csv"
    pd.DataFrame({"time": t, "kwh": np.sin(t / 4), "temp": np.cos(t / 9)}).to_csv(data, index=False)
    _compared(cli, tmp_path / "runs", ["custom", "--file", str(data), "--target", "kwh", "--input-length", "12",
                                       "--horizon", "3"])
