"""The own-data files (issue 34 and 35): UCR/UEA .ts files through aeon, the suffix table,
defensive reading (huge cells, overflowing values, duplicate columns, damaged .npz), whole
years, the scikit-learn shape of the task, and the split options on the command line."""

import json

import numpy as np
import pandas as pd
import pytest
from custom_datasets import official_split, yearly_series

from seqbench import tasks
from seqbench.tasks.custom import MAX_LENGTH_LIMIT, READERS, CustomTask, DataError

pytest.importorskip("aeon")


def write_ts(path, series, labels, regression=False):
    """A UCR/UEA .ts file of ``series`` (each (C, T_i)) and their labels or values."""
    dims = len(series[0])
    equal = len({len(s[0]) for s in series}) == 1
    head = ["@problemName Tiny", "@timeStamps false", "@missing false",
            f"@univariate {'true' if dims == 1 else 'false'}", f"@dimensions {dims}",
            f"@equalLength {'true' if equal else 'false'}"]
    if equal:
        head.append(f"@seriesLength {len(series[0][0])}")
    head.append("@targetLabel true" if regression else f"@classLabel true {' '.join(sorted(set(labels)))}")
    lines = head + ["@data"] + [":".join(",".join(f"{v:g}" for v in ch) for ch in s) + f":{y}"
                                for s, y in zip(series, labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_archive(tmp_path, n=24, seed=0):
    """Train and test .ts files: two channels, unequal lengths, classes a/b told by the level."""
    rng = np.random.default_rng(seed)
    files = []
    for name in ("Tiny_TRAIN.ts", "Tiny_TEST.ts"):
        series, labels = [], []
        for i in range(n):
            label = "ab"[i % 2]
            length = int(rng.integers(8, 15))
            series.append([rng.normal(size=length) + (2.0 if label == "b" else 0.0), rng.normal(size=length)])
            labels.append(label)
        files.append(write_ts(tmp_path / name, series, labels))
    return files


def test_official_ts_files_are_the_train_and_test_sets(tmp_path):
    train, test = tiny_archive(tmp_path)
    t = tasks.custom(train, test_file=test)
    assert t.spec.kind == "classify" and t.spec.classes == ("a", "b") and t.spec.source == "ts"
    assert t.spec.features == ("x0", "x1") and t.spec.split_sizes == (19, 5, 24)
    lengths = [len(t.dataset("test")[i]["x"]) for i in range(24)]
    assert len(set(lengths)) > 1 and min(lengths) >= 8                 # unequal lengths, cut to each one's own
    state = json.loads(json.dumps(t.state()))
    restored = tasks.from_state(state)
    predictions = restored.predict(restored.build_model("gru", hidden_size=4), test)
    assert len(predictions) == 24 and set(predictions["y"]) <= {"a", "b"}


def test_a_ts_regression_file_and_the_archives_that_aeon_ships(tmp_path):
    rng = np.random.default_rng(1)
    series = [[rng.normal(size=10) + v] for v in range(30)]
    path = write_ts(tmp_path / "R_TRAIN.ts", series, [float(v) for v in range(30)], regression=True)
    t = tasks.custom(path)
    assert t.spec.kind == "regress" and t.spec.features == ("x0",)
    import aeon
    from pathlib import Path
    shipped = Path(aeon.__file__).parent / "datasets" / "data" / "BasicMotions"
    if (shipped / "BasicMotions_TRAIN.ts").is_file():
        motions = tasks.custom(shipped / "BasicMotions_TRAIN.ts", test_file=shipped / "BasicMotions_TEST.ts")
        assert motions.spec.split_sizes == (32, 8, 40) and len(motions.spec.features) == 6
        assert len(motions.spec.classes) == 4


def test_a_damaged_ts_file_is_a_data_error(tmp_path):
    bad = tmp_path / "Bad_TRAIN.ts"
    bad.write_text("@problemName Bad\n@data\n1,2,3:what\n" + "x" * 500)
    with pytest.raises(DataError, match="cannot read Bad_TRAIN.ts as a .ts file") as info:
        tasks.custom(bad)
    assert len(str(info.value)) < 250                                   # no file echoed whole


def test_one_table_from_suffix_to_reader():
    assert {s: kind for s, (kind, _) in READERS.items()} == {
        ".csv": "table", ".tsv": "table", ".parquet": "table", ".pq": "table", ".npz": "npz", ".ts": "ts"}


# -- defensive reading (issue 35, finding 6) -------------------------------------------------------
def sequences(n=20):
    rows = [{"sequence_id": i, "time": t, "a": float(i + t), "label": i % 2} for i in range(n) for t in range(4)]
    return pd.DataFrame(rows)


def test_a_huge_cell_is_cut_in_a_message(tmp_path):
    frame = sequences()
    frame["a"] = frame["a"].astype(object)
    frame.loc[5, "a"] = "z" * 100_000
    path = tmp_path / "huge.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        tasks.custom(path, target="label")
    message = str(info.value)
    assert "non-numeric feature column 'a'" in message and "(100002 characters)" in message and len(message) < 400


@pytest.mark.parametrize("value", [1e308, -1e308, 1e200])
def test_values_whose_standardisation_overflows_are_refused_naming_file_row_and_column(tmp_path, value):
    frame = sequences()
    frame.loc[7, "a"] = value
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"big.csv: value .* in column 'a' at row 7 .* too large to standardise"):
        tasks.custom(path, target="label")
    x = np.zeros((10, 3, 1))
    x[4, 1, 0] = value
    np.savez(tmp_path / "big.npz", x=x, y=np.arange(10) % 2)
    with pytest.raises(DataError, match="big.npz: value .* in x of sequence 4 is too large"):
        tasks.custom(tmp_path / "big.npz")


def test_repeated_column_names_are_an_error_not_renamed(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("sequence_id,time,a,a,label\n" + "".join(f"{i},{t},1,2,{i % 2}\n" for i in range(10)
                                                              for t in range(3)))
    with pytest.raises(DataError, match="twice.csv names column 'a' more than once"):
        tasks.custom(path, target="label")


def test_max_length_is_bounded():
    frame = pd.DataFrame({"review": ["good film"] * 10 + ["bad film"] * 10, "label": [1] * 10 + [0] * 10})
    with pytest.raises(DataError, match=f"max_length must be at most {MAX_LENGTH_LIMIT} tokens"):
        tasks.custom(frame, text="review", target="label", max_length=MAX_LENGTH_LIMIT + 1)


def test_a_truncated_or_non_zip_npz_names_its_path(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, x=np.zeros((10, 3, 1)), y=np.arange(10) % 2)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:100])
    for path in (cut, tmp_path / "text.npz"):
        if path.name == "text.npz":
            path.write_text("not a zip")
        with pytest.raises(DataError, match=f"cannot read {path} as .npz"):
            tasks.custom(path)


def test_whole_years_stay_whole_in_forecasts(tmp_path):
    t = tasks.custom(yearly_series(), target="value", time_column="year", horizon=3, input_length=10)
    out = t.predict(t.build_model("gru", hidden_size=4), yearly_series())
    assert out["year"].tolist() == [2020, 2021, 2022]
    path = tmp_path / "p.csv"
    out.to_csv(path, index=False)
    assert "2020.0" not in path.read_text()


# -- the scikit-learn shape -----------------------------------------------------------------------
def test_construction_stores_settings_and_fit_reads_the_file(tmp_path):
    train, test = official_split(tmp_path)
    unfitted = CustomTask(target="label", test_file=test)
    assert unfitted.spec is None and unfitted.describe() == ["custom task: not fitted yet (fit(file) reads the data)"]
    with pytest.raises(DataError, match="fit\\(file\\)"):
        unfitted.dataset("train")
    fitted = unfitted.fit(train)
    assert fitted is unfitted and fitted.spec.split_sizes == (32, 8, 40)
    same = tasks.get("custom", file=train, target="label", test_file=test)
    assert same.split_ids == fitted.split_ids and same.variant == fitted.variant


# -- the command line -----------------------------------------------------------------------------
@pytest.mark.parametrize("flags, message", [
    (["--folds", "5", "--test-file", "t.csv"], "--folds make their own test sets: leave out --test-file"),
    (["--test-file", "t.csv", "--split-column", "part"], "--test-file and --split-column both choose the test set"),
    (["--stride", "3"], "--stride spaces the origins of a backtest: pass --backtest too"),
    (["--folds", "1"], "--folds"),
])
def test_conflicting_split_flags_are_usage_errors(tmp_path, cli, flags, message):
    train, _ = official_split(tmp_path)
    code, _, err = cli(["train", "custom", "--file", str(train), "--target", "label", *flags,
                        "--out", str(tmp_path / "runs")])
    assert code == 2 and message in err
    assert not (tmp_path / "runs").exists()


def test_train_keeps_the_official_test_file(tmp_path, cli):
    train, test = official_split(tmp_path)
    code, _, err = cli(["train", "custom", "--file", str(train), "--test-file", str(test), "--target", "label",
                        "--model", "gru", "--hidden", "4", "--epochs", "1", "--out", str(tmp_path / "runs"),
                        "--no-progress", "--threads", "1"])
    assert code == 0, err
    lines = err.splitlines()
    assert lines[1] == "train/valid/test: 32/8/40 sequences (test: the test file; valid: drawn from the training file)"
    assert "(--split)" in lines[3]                                      # the flags, not the keywords
    (result,) = (tmp_path / "runs").glob("*/result.json")
    assert json.loads(result.read_text())["variant"]["test_file"] == str(test.resolve())
    assert "test_filetest" in result.parent.name and "work" not in result.parent.name   # the stem, not the path
