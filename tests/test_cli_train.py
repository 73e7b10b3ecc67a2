"""The command line: train -> evaluate -> report on a tiny task, and one-line errors for bad input."""

import json
import math

import pytest

from seqbench.cli import main

TINY = ["--seq-len", "12", "--variant", "train_size=32", "--variant", "valid_size=8", "--variant", "test_size=8",
        "--hidden", "4", "--levels", "2", "--kernel-size", "2", "--epochs", "1", "--batch-size", "8", "--no-progress"]


def _run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_train_evaluate_report(tmp_path, capsys):
    main(["train", "adding", "--model", "rnn", "--out", str(tmp_path), "--name", "r", *TINY])
    out = capsys.readouterr().out
    assert "adding rnn: test mse" in out
    result = json.loads((tmp_path / "r" / "result.json").read_text())
    main(["evaluate", result["checkpoint"], "--split", "test", "--json"])
    scored = json.loads(capsys.readouterr().out)
    assert scored["metrics"]["mse"] == pytest.approx(result["metrics"]["test"]["mse"], rel=1e-6)
    main(["report", str(tmp_path)])
    table = capsys.readouterr().out
    assert "| adding (T=12) | RNN (hidden 4, levels 2, k 2, batch 8) |" in table and "(seq_len=600)" in table
    for name in ("report.md", "curves.png", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    code, _, err = _run(["train", "adding", "--out", str(tmp_path), "--name", "r", *TINY], capsys)
    assert code == 1 and err.count("\n") == 1 and "--resume" in err


@pytest.mark.parametrize("args, code, needle", [
    (["train", "nosuch"], 2, "unknown task"),
    (["train", "adding", "--model", "cnn"], 2, "cnn"),
    (["train", "adding", "--epochs", "many"], 2, "many"),
    (["train", "adding", "--bogus"], 2, "--bogus"),
    (["train", "adding", "--preset", "huge"], 2, "huge"),
    (["train", "adding", "--variant", "colour=red"], 2, "colour"),
    (["train", "adding", "--variant", "nokey"], 2, "KEY=VALUE"),
    (["compare", "adding", "--models", "tcn,cnn"], 2, "cnn"),
    (["compare", "adding", "--preset", "huge"], 2, "huge"),
    (["compare", "adding", "--budget", "huge"], 2, "huge"),
    (["evaluate", "missing.ckpt"], 2, "missing.ckpt"),
])
def test_bad_input_is_one_line_without_traceback(args, code, needle, capsys):
    got, _, err = _run(args, capsys)
    assert got == code
    assert needle in err and "Traceback" not in err


def test_runtime_errors_exit_1(tmp_path, capsys):
    bogus = tmp_path / "x.ckpt"
    bogus.write_bytes(b"not a checkpoint")
    code, _, err = _run(["evaluate", str(bogus)], capsys)
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1
    code, _, err = _run(["report", str(tmp_path)], capsys)
    assert code == 1 and "no result.json" in err
    code, _, err = _run(["train", "adding", "--resume", "--out", str(tmp_path), *TINY], capsys)
    assert code == 1 and "nothing to resume" in err


def test_model_options_reach_the_model_and_the_run_name(tmp_path, capsys):
    main(["train", "adding", "--out", str(tmp_path), "--dropout", "0.2", "--dropout-mode", "channel",
          "--init", "normal", *TINY])
    capsys.readouterr()
    run_dir = tmp_path / ("adding-seq_len12-test_size8-train_size32-valid_size8-paper-tcn-hidden4-levels2-k2-dropout0.2-batch8"
                          "-channel-dropout-init-normal-seed0")
    result = json.loads((run_dir / "result.json").read_text())
    assert result["config"]["run"]["dropout_mode"] == "channel" and result["config"]["run"]["init"] == "normal"
    # the checkpoint rebuilds the same model: channel dropout, so evaluate reproduces the test metric
    main(["evaluate", result["checkpoint"], "--json"])
    assert json.loads(capsys.readouterr().out)["metrics"]["mse"] == pytest.approx(result["metrics"]["test"]["mse"], rel=1e-6)
    from seqbench.training import RunConfig, build_task
    cfg = RunConfig.from_dict(result["config"]["run"])
    model = build_task("adding", **cfg.variant).build_model("tcn", **cfg.model_overrides())
    assert type(model.encoder.blocks[0].drop1).__name__ == "Dropout1d"
    main(["report", str(tmp_path)])
    assert "--dropout-mode channel --init normal" in (tmp_path / "report.md").read_text()
    code, _, err = _run(["train", "adding", "--dropout-mode", "spatial"], capsys)
    assert code == 2 and "spatial" in err


def test_compare_prints_the_table_when_a_budget_stops_mid_epoch(tmp_path, capsys):
    # validation within the epoch (as a --max-time stop also leaves it) records a fractional epoch
    main(["compare", "adding", "--models", "tcn,lstm", "--out", str(tmp_path), "--seq-len", "12",
          "--variant", "train_size=96", "--variant", "valid_size=8", "--variant", "test_size=8",
          "--val-every", "2", "--no-progress"])  # 3 steps an epoch, validated every 2: the last at epoch 2.7
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("tcn ", "lstm "))]
    assert [r[0] for r in rows] == ["tcn", "lstm"]
    assert all("." in r[3] for r in rows), out  # epochs to one decimal, e.g. 2.6
    assert (tmp_path / "compare-adding-seq_len12-test_size8-train_size96-valid_size8-small" / "report.md").exists()


def test_compare_shows_every_metric_and_the_model_free_baseline(tmp_path, capsys):
    main(["compare", "copy_memory", "--models", "tcn,gru", "--out", str(tmp_path), "--seq-len", "12",
          "--variant", "train_size=16", "--variant", "valid_size=8", "--variant", "test_size=8", "--no-progress"])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("model "))
    assert header.split()[6:11] == ["ours", "±", "std", "paper", "accuracy"]
    baseline = next(line for line in out.splitlines() if line.startswith("baseline on test"))
    assert "memoryless guess" in baseline and f"loss {10 * math.log(8) / 32:.4g}" in baseline
    (group,) = tmp_path.iterdir()
    summary = json.loads((group / "summary.json").read_text())
    assert all(r["baseline"]["name"] == "memoryless guess" for r in summary["runs"])
    assert "memoryless guess, loss" in (group / "report.md").read_text()


def test_threads_sets_torchs_thread_count_for_the_run(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        main(["train", "adding", "--out", str(tmp_path), "--threads", "1", *TINY])
        (run_dir,) = tmp_path.iterdir()
        assert json.loads((run_dir / "result.json").read_text())["machine"]["torch_threads"] == 1
    finally:
        torch.set_num_threads(before)
    code, _, err = _run(["train", "adding", "--threads", "0"], capsys)
    assert code == 2 and "--threads" in err


def test_clip_zero_turns_the_presets_clipping_off(tmp_path, capsys):
    main(["train", "copy_memory", "--out", str(tmp_path), "--clip", "0", "--seq-len", "12", "--variant", "train_size=16",
          "--variant", "valid_size=8", "--variant", "test_size=8", "--hidden", "4", "--levels", "2",
          "--kernel-size", "2", "--epochs", "1", "--batch-size", "8", "--no-progress"])
    capsys.readouterr()
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.endswith("-paper-tcn-hidden4-levels2-k2-batch8-noclip-seed0")
    result = json.loads((run_dir / "result.json").read_text())
    assert result["config"]["training"]["clip"] is None  # the preset's 1.0 is off
    main(["report", str(tmp_path)])
    assert "--clip 0" in (tmp_path / "report.md").read_text() and "TCN (hidden 4, levels 2, k 2, batch 8, no clipping)" in (tmp_path / "report.md").read_text()
    code, _, err = _run(["train", "adding", "--clip", "-1"], capsys)
    assert code == 2 and "-1" in err


def test_compare_over_seeds_prints_mean_std_and_a_verdict_and_saves_every_seed(tmp_path, capsys):
    main(["compare", "adding", "--models", "tcn,gru", "--seeds", "3", "--out", str(tmp_path), "--seq-len", "12",
          "--variant", "train_size=64", "--variant", "valid_size=8", "--variant", "test_size=32", "--no-progress"])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("tcn ", "gru "))}
    assert rows["tcn"].split()[2] == "3" and rows["gru"].split()[2] == "3"  # runs (seeds) per model
    assert "[" in rows["gru"] and ("better (p=" in rows["gru"] or "no significant difference (p=" in rows["gru"])
    (group,) = tmp_path.iterdir()
    assert sorted(p.name for p in group.iterdir() if p.is_dir()) == [f"{m}-seed{s}" for m in ("gru", "tcn")
                                                                       for s in range(3)]
    summary = json.loads((group / "summary.json").read_text())
    by_model = {m["model"]: m for m in summary["models"]}
    assert by_model["tcn"]["seeds"] == [0, 1, 2] and len(by_model["tcn"]["test"]["values"]) == 3
    # the seeds were scored on the same 32 test items: paired over them
    assert by_model["gru"]["against_tcn"]["method"].startswith("paired bootstrap over test items")
    assert (group / "seeds.png").stat().st_size > 0 and "![seeds](seeds.png)" in (group / "report.md").read_text()
    code, _, err = _run(["compare", "adding", "--seed", "3"], capsys)
    assert code == 2 and "--seeds" in err


def test_train_and_compare_read_your_data_file_once(tmp_path, monkeypatch, capsys):
    import importlib

    import numpy as np
    import pandas as pd

    reading = importlib.import_module("seqbench.tasks.custom.reading")
    reads = []
    real = reading.read_table
    monkeypatch.setattr(reading, "read_table", lambda source: reads.append(source) or real(source))
    rng = np.random.default_rng(0)
    rows = [{"sequence_id": i, "time": t, "x": rng.normal(), "label": i % 2} for i in range(40) for t in range(6)]
    pd.DataFrame(rows).to_csv(tmp_path / "d.csv", index=False)
    custom = ["--file", str(tmp_path / "d.csv"), "--target", "label", "--no-progress", "--max-time", "2"]
    main(["train", "custom", "--out", str(tmp_path / "t"), "--hidden", "4", "--epochs", "1", *custom])
    assert len(reads) == 1
    main(["compare", "custom", "--models", "tcn,gru", "--out", str(tmp_path / "c"), *custom])
    assert len(reads) == 2  # once more for the comparison, not once per model
