"""Bad user data: each problem gets a one-line error that names it (and the keyword argument that fixes it)."""

import numpy as np
import pandas as pd
import pytest

from seqbench import tasks
from seqbench.tasks.custom import DataError, fill_array


def frame(n=12, length=5):
    rows = [{"sequence_id": i, "time": t, "a": float(i + t), "b": float(i % 2), "label": i % 2}
            for i in range(n) for t in range(length)]
    return pd.DataFrame(rows)


def error_of(**kwargs) -> str:
    with pytest.raises(DataError) as info:
        tasks.custom(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_target_column(tmp_path):
    path = tmp_path / "d.csv"
    frame().to_csv(path, index=False)
    message = error_of(file=path, target="labels")
    assert "target column 'labels' not found" in message and "target=" in message and "label" in message


def test_non_numeric_features():
    f = frame().assign(city="Paris")
    message = error_of(file=f, target="label")
    assert "non-numeric feature column 'city' (e.g. 'Paris')" in message and "features=" in message
    assert tasks.custom(f, target="label", features="a,b").input_size == 2  # choosing the columns fixes it


def test_nan_and_inf_are_reported_by_row_and_column():
    f = frame()
    f.loc[7, "a"] = np.nan
    f.loc[[3, 40], "b"] = np.inf
    message = error_of(file=f, target="label")
    assert "NaN/inf values in 'a' at row 7; 'b' at rows 3, 40 (counting rows from 0 below the header)" in message
    assert "fill=" in message and "drop=True" in message


def test_fill_and_drop_policies_repair_the_features():
    f = frame()
    f.loc[6, "a"] = np.nan  # sequence 1, time 1: between 1.0 and 3.0
    dropped = tasks.custom(f, target="label", drop=True)
    assert "dropped 1 of 60 rows" in "\n".join(dropped.describe())
    for policy, expected in (("ffill", 1.0), ("interpolate", 2.0), ("zero", 0.0)):
        t = tasks.custom(f, target="label", fill=policy)
        assert any(f"fill={policy!r}" in note for note in t.notes)
        s = t.spec["scaling"]
        for split, ids in t.split_ids.items():
            if 1 in ids:
                x = t.dataset(split)[ids.index(1)]["x"][:, 0].double().numpy() * s["std"][0] + s["mean"][0]
                assert np.isclose(x[1], expected, atol=1e-5)
    with pytest.raises(DataError, match=r"fill=\.\.\. or drop=True, not both"):
        tasks.custom(f, target="label", fill="zero", drop=True)
    with pytest.raises(DataError, match="fill must be one of ffill, interpolate, zero"):
        tasks.custom(f, target="label", fill="mean")


def test_labels_are_never_filled():
    f = frame().astype({"label": float})
    f.loc[9, "label"] = np.nan
    message = error_of(file=f, target="label", task="classify", fill="ffill")
    assert "missing target values in 'label' at row 9" in message and "drop=True" in message
    assert tasks.custom(f, target="label", task="classify", drop=True).spec["classes"] == [0.0, 1.0]


def test_fill_needs_something_to_fill_from():
    f = frame()
    f.loc[f.sequence_id == 2, "a"] = np.nan
    assert "cannot fill 'a' in sequence 2" in error_of(file=f, target="label", fill="ffill")


def test_file_too_short_for_input_length_and_horizon(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame({"time": range(30), "v": np.arange(30.0)}).to_csv(path, index=False)
    message = error_of(file=path, target="v", input_length=24, horizon=12)
    assert message.startswith("s.csv: file too short") and "30 rows" in message and "24 + horizon 12 = 36" in message


def test_empty_split_of_a_series_and_of_sequences():
    series = pd.DataFrame({"v": np.arange(40.0)})
    message = error_of(file=series, target="v", task="forecast", input_length=20, horizon=7)
    assert "the valid split is empty: its 6 rows (in time order) hold no window" in message and "split" in message
    message = error_of(file=frame(n=4), target="label")
    assert "the valid split is empty: 4 sequences split 80%/10%/10% give 4/0/0" in message


def test_structural_mistakes():
    f = frame()
    assert "needs many sequences told apart by an id column" in error_of(
        file=f.drop(columns="sequence_id"), target="label", task="classify")
    assert "id column 'run' not found" in error_of(file=f, target="label", id_column="run")
    dup = pd.concat([f, f.iloc[[0]]], ignore_index=True)
    assert "time column 'time' repeats 0 in sequence 0" in error_of(file=dup, target="label")
    assert "at least two classes" in error_of(file=f.assign(label=1), target="label", task="classify")
    assert "regress needs numbers" in error_of(file=f.assign(label="x"), target="label", task="regress")


def test_bad_files(tmp_path):
    assert error_of(file=tmp_path / "nope.csv", target="y").startswith("no such file")
    (tmp_path / "d.xlsx").write_bytes(b"x")
    assert "use a .csv, .tsv, .parquet, .pq, .npz or .ts file" in error_of(file=tmp_path / "d.xlsx", target="y")
    (tmp_path / "empty.csv").write_text("a,b\n")
    assert "has no rows" in error_of(file=tmp_path / "empty.csv", target="a")
    np.savez(tmp_path / "bad.npz", inputs=np.zeros((2, 3, 1)))
    assert "has no array 'x'" in error_of(file=tmp_path / "bad.npz")
    x = np.ones((6, 4, 2))
    x[2, 1, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.arange(6) % 2)
    assert "NaN/inf values in x of sequence 2 at step 1" in error_of(file=tmp_path / "nan.npz")
    assert "forecasting reads one long series from a table" in error_of(file=tmp_path / "nan.npz", task="forecast")


def test_fill_array_policies():
    a = np.array([[np.nan, 1.0], [2.0, np.inf], [np.nan, 3.0], [4.0, np.nan]])
    assert fill_array(a, "ffill").tolist() == [[2.0, 1.0], [2.0, 1.0], [2.0, 3.0], [4.0, 3.0]]
    assert fill_array(a, "interpolate").tolist() == [[2.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 3.0]]
    assert fill_array(a, "zero").tolist() == [[0.0, 1.0], [2.0, 0.0], [0.0, 3.0], [4.0, 0.0]]


def test_an_error_names_the_training_file(tmp_path):
    """Every data error's one line says which file it is about: the training file's name is
    put in front of a message that does not already hold it."""
    path = tmp_path / "sensors.csv"
    pd.DataFrame({"sequence_id": range(6), "time": 0, "a": ["x"] * 6, "y": [0, 1] * 3}).to_csv(path, index=False)
    message = error_of(file=path, target="y")
    assert message.startswith("sensors.csv: non-numeric feature column 'a'")
