"""A malformed run file (wrong types, not JSON, /dev/zero, a bad metrics.csv) is skipped with one
line naming it; names from result files are escaped in Markdown and quoted in commands."""

import json
import os
import re
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqbench.files import UnreadableFile, excerpt, read_text_limited
from seqbench.report import reproduce_command, write_report
from seqbench.report.tables import markdown_text
from seqbench.reproduction import PLAN
from seqbench.results import RunResult, find_results


def _result(model="tcn", task="jsb", **extra):
    r = {"task": task, "variant": {}, "model": model, "preset": "paper", "parameters": 10, "receptive_field": 13,
         "primary_metric": "nll", "higher_is_better": False, "metrics": {"valid": {"nll": 8.3}, "test": {"nll": 8.2}},
         "best_epoch": 3, "epochs": 4, "wall_time_s": 12.0, "seed": 0, "paper": {"value": 8.1, "variant": ""},
         "history": [{"epoch": e, "train_loss": 9.0 - e, "valid_nll": 9.5 - e} for e in range(1, 5)],
         "config": {"run": {"variant": {}}}}
    r.update(extra)
    return r


def _write(root, name, content):
    (root / name).mkdir(parents=True, exist_ok=True)
    path = root / name / "result.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize("field, value", [("metrics", "oops"), ("history", {"a": 1}), ("config", []),
                                          ("seed", "0"), ("parameters", True), ("task", 3), ("variant", "x")])
def test_a_field_of_the_wrong_type_is_a_value_error_naming_the_file(field, value):
    with pytest.raises(ValueError, match=f"r.json: field '{field}'"):
        RunResult.from_dict(_result(**{field: value}), "r.json")


@pytest.mark.parametrize("extra, where", [({"metrics": {"test": "oops"}}, "metrics['test']"),
                                          ({"metrics": {"test": {"nll": "8"}}}, "metrics['test']['nll']"),
                                          ({"config": {"run": "x"}}, "config['run']"),
                                          ({"history": [1, 2]}, "history[0]")])
def test_the_parts_readers_index_are_checked_too(extra, where):
    with pytest.raises(ValueError, match=re.escape(f"r.json: {where} must be")):
        RunResult.from_dict(_result(**extra), "r.json")


def test_a_float_field_takes_an_int_and_a_missing_optional_is_fine():
    r = RunResult.from_dict(_result(epochs=4, wall_time_s=12, receptive_field=None))
    assert r.epochs == 4 and r.receptive_field is None


def test_read_text_limited_refuses_devices_directories_and_oversize(tmp_path):
    link = tmp_path / "result.json"
    os.symlink("/dev/zero", link)
    with pytest.raises(UnreadableFile, match="result.json: not a regular file"):
        read_text_limited(link)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_text_limited(tmp_path)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(UnreadableFile, match="101 bytes, more than the 100"):
        read_text_limited(big, max_bytes=100)
    assert read_text_limited(big, max_bytes=101) == "x" * 101
    bad = tmp_path / "bad"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        read_text_limited(bad)


@given(st.text(max_size=300), st.integers(10, 80))
def test_excerpt_is_short_and_says_how_long_the_value_was(text, limit):
    out = excerpt(text, limit)
    assert len(out) <= limit + 40
    assert out == repr(text) or f"({len(repr(text)):,} characters)" in out


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    _write(root, "good-tcn", _result("tcn"))
    _write(root, "good-lstm", _result("lstm", seed=0))
    bad = {"wrong-type": _write(root, "wrong-type", _result("gru", metrics="oops")),
           "not-json": _write(root, "not-json", "{not json"),
           "list": _write(root, "list", "[1, 2]")}
    (root / "zero").mkdir()
    os.symlink("/dev/zero", root / "zero" / "result.json")
    bad["zero"] = root / "zero" / "result.json"
    return root, bad


def test_report_skips_malformed_result_files_with_a_warning_each(runs, cli, tmp_path):
    root, bad = runs
    code, out, err = cli(["report", str(root), "--out", str(tmp_path / "out")])
    assert code == 0, err
    warnings = err.splitlines()
    assert len(warnings) == len(bad) and all(w.startswith("warning: skipping ") for w in warnings)
    for path in bad.values():
        assert sum(str(path) in w for w in warnings) == 1
    page = (tmp_path / "out" / "report.md").read_text()
    assert "| jsb | TCN |" in page and "| jsb | LSTM |" in page and "GRU" not in page
    assert "'str' object" not in err


def test_find_results_without_warn_still_raises_naming_the_file(runs):
    root, bad = runs
    with pytest.raises(ValueError, match="result.json"):
        find_results(root)


def test_report_writes_nothing_when_it_fails(tmp_path, monkeypatch):
    """A failure after the figures are drawn leaves no curves.png without its report.md."""
    from seqbench.report import page

    _write(tmp_path / "runs", "a", _result())
    monkeypatch.setattr(page, "_markdown", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(tmp_path / "runs", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


HOSTILE = "<img src=x onerror=alert(1)>*x*|y`z_"


def test_names_from_result_files_are_escaped_in_the_page_and_quoted_in_commands(tmp_path):
    r = _result("tcn", task=HOSTILE, variant={"k": "$(rm -rf ~)"})
    r["config"]["run"]["variant"] = {"k": "$(rm -rf ~); `id`\n```"}
    _write(tmp_path / "runs", "a", r)
    paths = write_report(tmp_path / "runs", tmp_path / "out")
    text, commands = paths["markdown"].read_text().split("## Reproduce")
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;\\*x\\*\\|y\\`z\\_" in text
    command = reproduce_command(RunResult.from_dict(r))
    words = shlex.split(command)
    assert words[:3] == ["seqbench", "train", HOSTILE] and "k=$(rm -rf ~); `id`\n```" in words
    # the commands' fence is longer than any backtick run inside them: the block stays whole
    assert "````bash" in commands and commands.count("\n````\n") == 1


@given(st.text(max_size=40))
def test_markdown_text_leaves_no_active_character(text):
    out = markdown_text(text)
    plain = re.sub(r"\\.", "", out)  # what is left once the escaped characters are taken out
    assert not set(plain) & set("*`[]|~<>\\\n\r")


def test_reproduce_list_skips_a_malformed_result_and_metrics_log(tmp_path, cli):
    p = next(p for p in PLAN if p.task == "jsb" and p.model == "lstm")
    results, runs = tmp_path / "results", tmp_path / "runs"
    _write(results, p.name, _result("lstm", metrics="oops"))
    log = runs / p.name / "logs"
    log.mkdir(parents=True)
    (log / "metrics.csv").write_text("epoch,step,train_loss\nabc,def,1\n")
    (runs / p.name / "checkpoints").mkdir()
    (runs / p.name / "checkpoints" / "last.ckpt").write_bytes(b"")
    code, out, err = cli(["reproduce", "--list", "--only", p.name, "--out", str(runs), "--results", str(results)])
    assert code == 0, err
    assert out.splitlines()[0].startswith("partial") and p.name in out
    lines = err.splitlines()
    assert any(str(results / p.name / "result.json") in w and "'metrics'" in w for w in lines)
    assert any(str(log / "metrics.csv") in w for w in lines)
    assert all(w.startswith("warning: skipping ") for w in lines)


def test_a_resume_keeps_the_readable_rows_of_a_malformed_metrics_log(tmp_path):
    """A row whose step is no number is left out instead of stopping the resume."""
    import csv

    from seqbench.training.csv_log import ResumableCSVLogger

    log = tmp_path / "logs" / "metrics.csv"
    log.parent.mkdir()
    log.write_text("epoch,step,train/loss\n0,9,0.9\nabc,def,1\n0,19,0.8\n0,39,0.7\n")
    logger = ResumableCSVLogger(tmp_path, resumed_at_step=30)
    logger.log_metrics({"train/loss": 0.5, "epoch": 1}, step=30)
    logger.save()
    with open(log, newline="") as f:
        assert [r["step"] for r in csv.DictReader(f)] == ["9", "19", "30"]


def test_a_resume_sets_an_unreadable_metrics_log_aside(tmp_path):
    from seqbench.training.csv_log import ResumableCSVLogger

    log = tmp_path / "logs" / "metrics.csv"
    log.parent.mkdir()
    log.write_bytes(b"epoch,step\n\xff\xfe\n")
    logger = ResumableCSVLogger(tmp_path, resumed_at_step=30)
    with pytest.warns(UserWarning, match="not kept"):
        logger.log_metrics({"train/loss": 0.5, "epoch": 1}, step=30)
        logger.save()
    assert (tmp_path / "logs" / "metrics.unreadable.csv").read_bytes() == b"epoch,step\n\xff\xfe\n"
    assert "0.5" in log.read_text()  # the new log started afresh
