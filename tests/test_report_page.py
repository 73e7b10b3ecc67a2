"""The report page: reproduce commands and appended notes, regenerated from result files."""

import json
import math

import pytest

from seqbench.report import write_report
from seqbench.report import TRAIN_LOSS_AS_METRIC, reproduce_command
from seqbench.results import RunResult


def _result(model, **run):
    return {
        "task": "jsb", "variant": {}, "model": model, "preset": "paper", "parameters": 10, "receptive_field": 13,
        "primary_metric": "nll", "higher_is_better": False, "metrics": {"test": {"nll": 8.2}}, "best_epoch": 3,
        "epochs": 4, "wall_time_s": 12.0, "seed": 1, "paper": {"value": 8.1, "variant": ""},
        "stopped_by_time_limit": bool(run.get("max_time")),
        "history": [{"epoch": e, "train_loss": 9.0 - e, "valid_nll": 9.5 - e} for e in range(1, 5)],
        "config": {"run": {"variant": {"train_size": 100}, **run}},
    }


def test_reproduce_command_carries_variant_and_overrides():
    cmd = reproduce_command(RunResult.from_dict(_result("gru", epochs=4, lr=0.002, hidden_size=64, max_time=3600.0)))
    assert cmd == ("seqbench train jsb --model gru --preset paper --seed 1 --variant train_size=100 "
                   "--epochs 4 --lr 0.002 --hidden 64 --max-time 3600")


def test_page_holds_table_commands_and_notes(tmp_path):
    for model, run in (("tcn", {}), ("lstm", {"max_time": 60.0})):
        (tmp_path / "runs" / model).mkdir(parents=True)
        (tmp_path / "runs" / model / "result.json").write_text(json.dumps(_result(model, **run)))
    notes = tmp_path / "notes.md"
    notes.write_text("## Discussion\n\nWhy we differ.\n")
    page = tmp_path / "docs" / "results.md"
    paths = write_report(tmp_path / "runs", tmp_path / "docs" / "results", page=page, title="Results", notes=notes)
    text = page.read_text()
    assert text.startswith("# Results")
    assert "| jsb | LSTM (seed 1) |" in text and "(budget-limited)" in text
    assert "seqbench train jsb --model tcn --preset paper --seed 1" in text
    assert "![learning curves](results/curves.png)" in text and paths["curves"].exists()
    assert "configurations" not in paths  # no run with options: no configurations figure
    assert text.rstrip().endswith("Why we differ.")


def test_headline_is_the_mean_over_the_protocol_seeds_and_marks_budgets_and_fewer_seeds(tmp_path):
    # (model, seed, options, valid nll, test nll)
    runs = [("tcn", 0, {}, 8.30, 8.20), ("tcn", 1, {}, 8.25, 8.05), ("tcn", 0, {"dropout_mode": "channel"}, 8.0, 7.9),
            ("lstm", 0, {"max_time": 60.0}, 8.5, 8.4), ("tcn", 0, {"summed": True}, 7.5, 7.4),
            ("tcn", 0, {"kernel_size": 5, "levels": 4, "dropout": 0.25}, 7.0, 7.0)]
    for i, (model, seed, run, valid, test) in enumerate(runs):
        summed = run.pop("summed", False)
        r = _result(model, **run)
        if summed:  # a variant that changes the training loss is an option too
            r["variant"] = {"sequence_loss": "sum"}
        r["seed"], r["metrics"] = seed, {"valid": {"nll": valid}, "test": {"nll": test}}
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "result.json").write_text(json.dumps(r))
    paths = write_report(tmp_path, tmp_path / "out")
    text = paths["markdown"].read_text()
    # the ablations get their own figure; the protocol's curves stay readable
    assert paths["configurations"].exists() and "![configurations](curves_configurations.png)" in text
    # the two protocol seeds of the TCN: 8.125 ± 0.106; the channel-dropout run is not the protocol's model;
    # the LSTM has one seed (fewer than the TCN's) and stopped at its budget
    assert "| jsb: nll, lower is better | 8.12 ± 0.11 (2) (8.10) | 8.40 (1) † § (8.10) | 5.19 (RNN-NADE) \\[1\\] |" in text
    assert "Not tested: jsb LSTM (2 vs 1 runs): not testable (needs 2+ seeds each, with spread)" in text
    assert "| TCN: protocol; LSTM: 1 min |" in text  # every row says what budget its numbers had ("each" for 2+ runs)
    assert "| jsb | TCN (channel dropout) |" in text and "| jsb | TCN (seed 1) |" in text
    assert "| jsb | TCN (summed loss) |" in text
    assert "| jsb | TCN (levels 4, k 5, dropout 0.25) |" in text  # another architecture: never the headline


def test_training_curve_is_drawn_in_the_metrics_units():
    nll = 1.5  # nats per token
    assert TRAIN_LOSS_AS_METRIC["perplexity"](nll) == pytest.approx(math.exp(1.5))
    assert TRAIN_LOSS_AS_METRIC["bpc"](nll) == pytest.approx(1.5 / math.log(2))
    assert TRAIN_LOSS_AS_METRIC["nll"](nll) == nll
    assert "accuracy" not in TRAIN_LOSS_AS_METRIC  # a loss is not an accuracy: no train curve


@pytest.mark.parametrize("tcn, lstm, scale", [((5e-5, 0.09), (0.020, 0.021), "log"),
                                              ((8.2, 8.25), (8.3, 8.4), "linear")])
def test_seed_plot_draws_seeds_that_span_decades_on_a_log_axis(tmp_path, monkeypatch, tcn, lstm, scale):
    from seqbench.report import curves

    figures = []
    monkeypatch.setattr(curves, "_save", lambda fig, path: figures.append(fig) or path)
    results = []
    for model, values in (("tcn", tcn), ("lstm", lstm)):
        for seed, v in enumerate(values):
            r = _result(model)
            r["seed"], r["metrics"] = seed, {"valid": {"nll": v}, "test": {"nll": v}}
            results.append(RunResult.from_dict(r))
    curves.seed_plot(results, tmp_path / "seeds.png")
    assert figures[0].axes[0].get_yscale() == scale  # at 5e-5 against 0.09 a linear axis shows one seed at 0


def test_best_published_column_matches_the_task_and_its_length_and_lists_its_source(tmp_path):
    from seqbench.published import BEST, best_published
    assert best_published("adding", {"seq_len": 600}).value == 5.3e-5
    assert best_published("adding", {"seq_len": 200}) is None  # another length: nothing to compare with
    assert best_published("custom", {}) is None
    assert all(p.reference and p.source and p.parameters for p in BEST)
    for i, (task, variant) in enumerate([("adding", {"seq_len": 600}), ("adding", {"seq_len": 200})]):
        r = _result("tcn")
        r.update(task=task, variant=variant, primary_metric="mse", metrics={"test": {"mse": 1e-4}})
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "result.json").write_text(json.dumps(r))
    text = write_report(tmp_path, tmp_path / "out")["markdown"].read_text()
    assert "| TCN | best published | budget |" in text
    assert "| adding (T=600): mse, lower is better | 1.00e-04 (1) (8.10) | 5.3e-05 (GRU) \\[1\\] |" in text
    assert "| adding (T=200): mse, lower is better | 1.00e-04 (1) (8.10) | - |" in text
    assert "1. GRU, about 70K parameters; Bai, Kolter and Koltun (2018)" in text and "\n2. " not in text
    # at a length no paper reports (the quick presets'), neither the column nor its sources
    (tmp_path / "0" / "result.json").unlink()
    text = write_report(tmp_path, tmp_path / "out")["markdown"].read_text()
    assert "| TCN | budget |" in text and "best published" not in text.lower()
