"""Malformed or conflicting options exit 2 before any work: no run directory, no lock, no file read."""

import numpy as np
import pytest

from seqbench.training import RunConfig

TINY = ["--seq-len", "8", "--variant", "train_size=16", "--variant", "valid_size=4", "--variant", "test_size=4",
        "--epochs", "1", "--no-progress"]


@pytest.mark.parametrize("extra, needle", [
    (["--max-time", "inf"], "--max-time"),
    (["--max-time", "nan"], "--max-time"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--clip", "inf"], "--clip"),
    (["--dropout", "nan"], "--dropout"),
    (["--forget-bias", "inf", "--model", "lstm"], "--forget-bias"),
    (["--precision", "bogus"], "--precision"),
    (["--strategy", "bogus"], "--strategy"),
    (["--accelerator", "bogus"], "--accelerator"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
    (["--devices", "0"], "--devices"),
    (["--resume", "--overwrite"], "exclude"),
])
def test_train_refuses_malformed_values_before_any_work(cli, tmp_path, extra, needle):
    out = tmp_path / "runs"
    code, _, err = cli(["train", "adding", "--out", str(out), *TINY, *extra])
    assert code == 2, err
    assert needle in err and "Traceback" not in err
    assert not out.exists()  # no run directory, no .lock


@pytest.mark.parametrize("extra, needle", [
    (["--max-time", "inf"], "--max-time"),
    (["--precision", "bogus"], "--precision"),
    (["--seed", "-1"], "--seed"),
])
def test_compare_refuses_malformed_values_before_any_work(cli, tmp_path, extra, needle):
    out = tmp_path / "runs"
    code, _, err = cli(["compare", "adding", "--out", str(out), "--seq-len", "8", "--no-progress", *extra])
    assert code == 2 and needle in err
    assert not out.exists()


def test_lightning_names_are_accepted(cli, tmp_path):
    """The check knows what Lightning knows: a valid name is not refused (this run then stops at --epochs 0)."""
    code, _, err = cli(["train", "adding", "--out", str(tmp_path), "--precision", "bf16-mixed", "--strategy", "ddp",
                        "--accelerator", "cpu", "--epochs", "0"])
    assert code == 2 and "--epochs" in err and "Lightning" not in err


def test_a_model_setting_the_preset_refuses_is_a_usage_error(cli, tmp_path):
    """ptb ties the decoder to the embedding: --hidden 8 cannot be built; say so before a run directory exists."""
    for folder, text in (("ptb.train.txt", "the cat sat\nthe dog sat down\n"), ("ptb.valid.txt", "the cat\n"),
                         ("ptb.test.txt", "a dog sat\n")):
        (tmp_path / "data" / "ptb").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "ptb" / folder).write_text(text)
    out = tmp_path / "runs"
    code, _, err = cli(["train", "ptb", "--data-dir", str(tmp_path / "data"), "--variant", "verify=false",
                        "--variant", "download=false", "--hidden", "8", "--out", str(out), "--no-progress"])
    assert code == 2 and "tie_weights" in err and "Traceback" not in err
    assert not out.exists()


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "d.csv"
    rows = ["sequence_id,time,a,y,txt"] + [f"{s},{t},{s * t},{s % 2},hello world" for s in range(8) for t in range(3)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("extra, needle", [
    (["--split", "0.5,0.5,0.5"], "add up to 1"),
    (["--split", "0,0.5,0.5"], "add up to 1"),
    (["--split", "0.8,0.2"], "three fractions"),
    (["--fill", "zero", "--drop"], "--fill and --drop"),
    (["--text", "txt", "--task", "forecast"], "--task forecast"),
    (["--text", "txt", "--features", "a"], "--features"),
    (["--max-vocab", "10"], "--max-vocab"),
    (["--tokens", "char", "--min-count", "2"], "--tokens, --min-count"),
    (["--text", "txt", "--max-length", str(10**12)], "--max-length"),
])
def test_conflicting_own_data_options_are_usage_errors(cli, tmp_path, table, extra, needle):
    out = tmp_path / "runs"
    code, _, err = cli(["train", "custom", "--file", str(table), "--target", "y", "--out", str(out), *extra])
    assert code == 2, err
    assert needle in err and err.count("Error:") == 1
    assert not out.exists()


def test_an_empty_npz_is_a_data_error_not_an_abort(cli, tmp_path):
    """numpy raises EOFError for an empty file, which click takes for Ctrl-D ("aborted", 130)."""
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    code, _, err = cli(["train", "custom", "--file", str(empty), "--out", str(tmp_path / "runs")])
    assert code == 1 and "aborted" not in err
    assert err.strip().count("\n") == 0 and err.startswith("error:")


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e999"])
def test_finite_float_range_refuses_non_finite(text):
    import click

    from seqbench.cli._options import FiniteFloatRange

    with pytest.raises(click.BadParameter, match="finite"):
        FiniteFloatRange(min=0, min_open=True).convert(text, None, None)
    assert FiniteFloatRange(min=0, min_open=True).convert("0.5", None, None) == 0.5


@pytest.mark.parametrize("field, value", [("lr", float("inf")), ("lr", float("nan")), ("max_time", float("inf")),
                                          ("clip", float("inf")), ("seed", -1), ("seed", 2**32),
                                          ("seed", np.float64(1.0))])
def test_run_config_refuses_what_the_options_refuse(field, value):
    with pytest.raises(ValueError, match=field):
        RunConfig(task="adding", **{field: value})


def test_an_error_quoting_a_huge_value_stays_one_short_line(cli, tmp_path):
    """A 10 MB cell echoed into a message is cut to one line of a few hundred characters."""
    path = tmp_path / "d.csv"
    path.write_text("sequence_id,time,a,y\n" + "".join(f"{s},0,{'x' * 10_000_000 if s == 0 else 1},{s % 2}\n"
                                                       for s in range(6)))
    code, _, err = cli(["train", "custom", "--file", str(path), "--target", "y", "--out", str(tmp_path / "runs")])
    assert code == 1 and err.startswith("error:")
    assert err.count("\n") == 1 and len(err) < 700
