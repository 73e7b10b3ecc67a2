"""Copy memory and adding problem: layout, the known baseline losses, determinism."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqbench import tasks
from seqbench.tasks.synthetic import adding_problem, copy_memory


def test_copy_memory_layout():
    x, y = copy_memory(50, seq_len=30, seed=3)
    assert x.shape == y.shape == (50, 50)
    digits = x[:, :10]
    assert digits.min() >= 1 and digits.max() <= 8
    assert torch.all(x[:, 10:39] == 0) and torch.all(x[:, 39:] == 9)  # T-1 blanks, then 11 nines
    assert torch.all(y[:, :40] == 0) and torch.equal(y[:, 40:], digits)


@pytest.mark.parametrize("seq_len", [5, 100, 1000])
def test_copy_memory_guessing_loss(seq_len):
    t = tasks.get("copy_memory", seq_len=seq_len, test_size=8)
    batch = t.collate([t.dataset("test")[i] for i in range(8)])
    # the memoryless guess: blank (0) for sure on the first T+10 steps, uniform over 1..8 after
    guess = torch.full((8, seq_len + 20, 10), -1e4)
    guess[:, : seq_len + 10, 0] = 0.0
    guess[:, seq_len + 10:, 1:9] = 0.0
    s, n = t.statistics(guess, batch)["loss"]
    expected = 10 * math.log(8) / (seq_len + 20)
    assert float(s / n) == pytest.approx(expected, rel=1e-5)
    assert float(t.loss(guess, batch)) == pytest.approx(expected, rel=1e-5)
    if seq_len == 1000:
        assert expected == pytest.approx(0.0204, abs=1e-4)


@pytest.mark.parametrize("seq_len", [5, 100])
def test_copy_memory_baseline_is_the_memoryless_guess(seq_len):
    t = tasks.get("copy_memory", seq_len=seq_len, test_size=400, valid_size=300)
    name, m = t.baseline("test")
    assert "memoryless" in name
    assert m["loss"] == pytest.approx(10 * math.log(8) / (seq_len + 20), rel=1e-5)
    # ties go to the first of the digits: the guess answers 1 at every recall step
    recall = t.dataset("test").y[:, -10:]
    assert m["accuracy"] == pytest.approx(100.0 * float((recall == 1).float().mean()))
    assert t.baseline("valid")[1]["accuracy"] != m["accuracy"]  # each split scored on its own data


def test_adding_baseline_is_the_train_mean():
    t = tasks.get("adding", seq_len=10, train_size=4_000, test_size=20_000)
    name, m = t.baseline("test")
    y, train_y = t.dataset("test").tensors["y"], t.dataset("train").tensors["y"]
    assert "train mean" in name
    assert m["mse"] == pytest.approx(float((y - train_y.mean()).pow(2).mean()), rel=1e-5)
    assert m["mse"] == pytest.approx(1 / 6, rel=0.03)  # the variance of a sum of two U(0, 1)


def test_copy_memory_input_options_and_presets():
    one = tasks.get("copy_memory", seq_len=20, train_size=4)
    hot = tasks.get("copy_memory", seq_len=20, train_size=4, one_hot=True)
    a, b = one.dataset("train")[0], hot.dataset("train")[0]
    assert one.input_size == 1 and a["x"].shape == (40, 1)
    assert hot.input_size == 10 and b["x"].shape == (40, 10)
    assert torch.equal(b["x"].argmax(-1).float(), a["x"][:, 0]) and torch.all(b["x"].sum(-1) == 1)
    assert one.build_model("tcn")(a["x"][None]).shape == (1, 40, 10)
    p = tasks.get("copy_memory").presets
    assert p["paper"].optimizer == "rmsprop" and p["paper"].clip == 1.0 and p["small"].variant["train_size"] < 10_000
    assert p["small"].variant["seq_len"] == 100  # the main job's setting
    assert tasks.get("copy_memory", seq_len=1000).paper_results["tcn"] == 3.5e-5
    with pytest.raises(ValueError, match="seq_len"):
        tasks.get("copy_memory", seq_len=0)


def test_adding_markers_are_two_distinct_uniform_positions():
    x, y = adding_problem(20_000, 10, seed=0)
    marker = x[..., 1]
    assert torch.all(marker.sum(1) == 2) and set(marker.unique().tolist()) == {0.0, 1.0}
    assert torch.allclose(y[:, 0], (x[..., 0] * marker).sum(1))
    # every position is marked equally often (the official generator's pairs), 2/10 of sequences each
    share = marker.mean(0)
    assert torch.allclose(share, torch.full((10,), 0.2), atol=0.015)
    # both markers in the first half happens (a quarter-ish of pairs: 10/45), unlike one-per-half
    both_early = (marker[:, :5].sum(1) == 2).float().mean()
    assert float(both_early) == pytest.approx(10 / 45, abs=0.02)


def test_adding_always_one_is_about_one_sixth():
    t = tasks.get("adding", seq_len=100, test_size=20_000)
    y = t.dataset("test").tensors["y"]
    s, n = t.statistics(torch.ones_like(y), {"y": y})["mse"]
    assert float(s / n) == pytest.approx(1 / 6, abs=0.01)


def test_splits_differ_and_seed_matters():
    x, _ = adding_problem(10, 20, seed=0)
    x2, _ = adding_problem(10, 20, seed=1)
    assert not torch.equal(x, x2)
    t = tasks.get("copy_memory", seq_len=10, train_size=10, valid_size=10)
    assert not torch.equal(t.dataset("train").digits, t.dataset("valid").digits)


def test_same_seed_same_data_in_another_process():
    code = ("from seqbench.tasks.synthetic import adding_problem, copy_memory;"
            "x, y = adding_problem(64, 50, 7); d, _ = copy_memory(64, 30, 7);"
            "print(repr(float(x.sum())), repr(float(y.sum())), int(d.sum()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).parents[1] / "src")}).stdout.split()
    x, y = adding_problem(64, 50, 7)
    d, _ = copy_memory(64, 30, 7)
    assert out == [repr(float(x.sum())), repr(float(y.sum())), str(int(d.sum()))]


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="no variant seqlen.*seq_len"):
        tasks.get("adding", seqlen=10)
    assert tasks.names() == ["adding", "copy_memory", "mnist", "pmnist", "jsb", "nottingham", "muse", "piano",
                             "ptb", "ptb_char", "wikitext2", "wikitext103", "lambada", "text8"]
