"""Prediction on new files with the saved task state: scaling, units, future times, mismatches, atomic writes."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from seqbench import tasks
from seqbench.tasks import CustomTask
from seqbench.tasks.custom import DataError, write_table


def runs(n=24, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for sid in range(n):
        for t in range(int(rng.integers(3, 9))):
            rows.append({"run": f"r{sid}", "time": t, "a": sid % 3 + rng.normal(), "b": 100 + 10 * rng.normal(),
                         "kind": ["p", "q", "r"][sid % 3], "score": float(sid)})
    return pd.DataFrame(rows)


def restored(task):
    """The task as a checkpoint would bring it back: through JSON."""
    return CustomTask.from_state(json.loads(json.dumps(task.state())))


def zero_output(model):
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    return model


def test_classify_predictions_match_the_model_on_the_scaled_test_split(tmp_path):
    path = tmp_path / "runs.csv"
    runs().drop(columns="score").to_csv(path, index=False)
    task = tasks.custom(path, target="kind", id_column="run")
    model = task.build_model("tcn").eval()
    preds = restored(task).predict(model, path)
    assert list(preds.columns) == ["run", "kind", "p_p", "p_q", "p_r"] and len(preds) == 24
    assert np.allclose(preds[["p_p", "p_q", "p_r"]].sum(axis=1), 1.0)
    test = task.dataset("test")
    for i, run in enumerate(task.split_ids["test"]):
        expected = task.spec["classes"][int(model(test[i]["x"][None]).argmax())]
        assert preds.set_index("run").loc[run, "kind"] == expected
    with pytest.raises(DataError, match="holds no data"):
        restored(task).dataset("train")


def test_regression_predictions_are_in_the_targets_units():
    frame = runs().drop(columns="kind")
    task = tasks.custom(frame, target="score", id_column="run", task="regress")
    preds = task.predict(zero_output(task.build_model("tcn")), frame.drop(columns="score"))
    train_scores = [float(r[1:]) for r in task.split_ids["train"]]
    assert np.allclose(preds["score"], np.mean(train_scores))  # a zero output is the train mean, unscaled


def test_forecast_predicts_the_horizon_after_each_series_end():
    t = np.arange(60)
    frame = pd.concat([pd.DataFrame({"site": s, "minute": 5 * t, "v": np.sin(t / 4) + s}) for s in (0, 1)])
    task = tasks.custom(frame, target="v", id_column="site", time_column="minute", task="forecast",
                        input_length=8, horizon=3, scaling="global")   # one scaler: its mean is every series' 
    preds = task.predict(zero_output(task.build_model("lstm", hidden_size=4)), frame.sample(frac=1, random_state=0))
    assert preds[["site", "step", "minute"]].values.tolist() == [[0, 1, 300], [0, 2, 305], [0, 3, 310],
                                                                 [1, 1, 300], [1, 2, 305], [1, 3, 310]]
    assert np.allclose(preds["v"], task.spec["scaling"]["target_mean"][0])
    dated = pd.DataFrame({"time": pd.date_range("2024-03-01", periods=60, freq="D").astype(str), "v": np.sin(t)})
    task = tasks.custom(dated, target="v", input_length=8, horizon=2)
    preds = task.predict(task.build_model("tcn"), dated)
    assert [str(x.date()) for x in preds["time"]] == ["2024-04-30", "2024-05-01"]
    with pytest.raises(DataError, match=r"too short: the series has 5 rows; forecasting needs the last input_length = 8"):
        task.predict(task.build_model("tcn"), dated.tail(5))


def test_per_step_predictions_one_row_per_step():
    frame = runs()
    frame["phase"] = frame["time"] % 2
    task = tasks.custom(frame.drop(columns=["kind", "score"]), target="phase", id_column="run", task="classify")
    preds = task.predict(task.build_model("tcn"), frame)
    assert len(preds) == len(frame) and list(preds.columns[:3]) == ["run", "time", "phase"]


def test_mismatched_columns_at_predict_time(tmp_path):
    frame = runs().drop(columns="score")
    task = tasks.custom(frame, target="kind", id_column="run")
    model = task.build_model("tcn")
    with pytest.raises(DataError, match=r"^mismatched columns: the table lacks feature column 'b' the model was "
                                        r"trained on \(it needs: a, b\)$"):
        task.predict(model, frame.drop(columns="b"))
    with pytest.raises(DataError, match="lacks the id column 'run'"):
        task.predict(model, frame.drop(columns="run"))
    with pytest.raises(DataError, match="non-numeric feature column 'a'"):
        task.predict(model, frame.assign(a="high"))
    with pytest.raises(DataError, match=r"NaN/inf values in 'a' at row 2 "):
        task.predict(model, frame.assign(a=frame.a.where(frame.index != 2)))
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).normal(size=(6, 4, 2)), y=np.arange(6) % 2)
    with pytest.raises(DataError, match="trained on a table with columns a, b; predict from a .csv"):
        task.predict(model, tmp_path / "x.npz")
    npz_task = tasks.custom(tmp_path / "x.npz", split=(0.5, 0.25, 0.25))
    np.savez(tmp_path / "x3.npz", x=np.zeros((2, 4, 3)))
    with pytest.raises(DataError, match="trained on 2 features per step, x3.npz's x has 3"):
        npz_task.predict(npz_task.build_model("tcn"), tmp_path / "x3.npz")
    preds = npz_task.predict(npz_task.build_model("tcn"), tmp_path / "x.npz")
    assert list(preds.columns) == ["index", "y", "p_0", "p_1"]


def test_write_table_is_atomic(tmp_path):
    out = tmp_path / "preds.csv"
    out.write_text("old\n")

    class Breaks(pd.DataFrame):
        def to_csv(self, path, **kwargs):
            with open(path, "w") as f:
                f.write("half a fi")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_table(Breaks({"a": [1]}), out)
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["preds.csv"]
    write_table(pd.DataFrame({"a": [1, 2]}), out)
    assert pd.read_csv(out)["a"].tolist() == [1, 2]
    write_table(pd.DataFrame({"a": [3]}), tmp_path / "p.parquet")
    assert pd.read_parquet(tmp_path / "p.parquet")["a"].tolist() == [3]
    with pytest.raises(DataError, match="use a .csv, .tsv or .parquet name"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "p.json")
