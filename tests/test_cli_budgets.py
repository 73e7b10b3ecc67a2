"""``train`` and ``compare`` on your own data: the task's own preset (never "paper"), budgets in
epochs or optimizer steps for every model alike, and the checkpoint rule on the command line."""

import json

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def labelled(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"sequence_id": s, "time": t, "v": float(rng.normal(2.0 * (s % 2), 1.0)), "label": "ab"[s % 2]}
            for s in range(60) for t in range(4)]
    path = tmp_path / "data.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_train_your_data_with_a_step_budget_and_a_rule(tmp_path, labelled, cli):
    code, out, err = cli(["train", "custom", "--file", str(labelled), "--target", "label", "--steps", "3",
                          "--select", "last", "--out", str(tmp_path / "runs"), "--no-progress", "--threads", "1"])
    assert code == 0, err
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert "-default-tcn-" in run_dir.name and "paper" not in run_dir.name
    result = json.loads((run_dir / "result.json").read_text())
    assert result["steps"] == 3 and result["preset"] == "default"  # 48 train sequences: 2 steps an epoch
    assert result["selection"] == {"rule": "last", "metric": None, "epoch": 1, "step": 2}
    assert "last validation (epoch 1)" in out and "3 steps" in out


def test_compare_your_data_with_epochs_for_every_model(tmp_path, labelled, cli):
    code, out, err = cli(["compare", "custom", "--file", str(labelled), "--target", "label", "--models", "tcn,gru",
                          "--epochs", "2", "--out", str(tmp_path), "--no-progress", "--threads", "1"])
    assert code == 0, err
    (group,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert group.name.endswith("-default")  # the task's own preset, not "small" or "paper"
    results = [r for r in (json.loads(p.read_text()) for p in group.glob("*/result.json")) if r["preset"] != "reference"]
    assert sorted(r["model"] for r in results) == ["gru", "tcn"] and {r["epochs"] for r in results} == {2}
    assert {r["selection"]["rule"] for r in results} == {"loss"}
    header = next(line for line in out.splitlines() if line.startswith("model "))
    assert "steps" in header and "paper" not in out.lower()


def test_budget_options_are_checked_before_any_work(tmp_path, cli):
    code, _, err = cli(["compare", "adding", "--select", "best", "--out", str(tmp_path)])
    assert code == 2 and "--select" in err
    code, _, err = cli(["train", "adding", "--steps", "0", "--out", str(tmp_path)])
    assert code == 2 and "--steps" in err
    assert not any(tmp_path.iterdir())
    code, out, _ = cli(["compare", "--help"])
    assert "default for your own data" in " ".join(out.split())
