"""Known future inputs (issue 39): columns known in advance and calendar features, read by
every model kind for the steps it forecasts, and required by predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from custom_datasets import hourly_sites
from seqbench import tasks
from seqbench.cli import main
from seqbench.tasks.custom import DataError
from seqbench.tasks.custom.known import KnownInputs, with_leads


def north(weeks: int = 3) -> pd.DataFrame:
    df = hourly_sites(weeks=weeks)
    return df[df.site == "north"].drop(columns="site").reset_index(drop=True)


def test_leads_are_the_known_channels_of_the_next_horizon_steps():
    x = torch.zeros(5, 1)
    known = np.arange(7, dtype=float)[:, None]          # 5 steps + 2 forecast steps, one channel
    out = with_leads(x, known, horizon=2)
    assert out.shape == (5, 3)
    assert out[:, 1:].tolist() == [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]
    assert with_leads(x, known[:5], horizon=2)[-1, 1:].tolist() == [0, 0]   # past the end: zeros


def test_calendar_values_are_sines_and_cosines_of_the_cycle():
    times = pd.Series(pd.date_range("2026-01-05", periods=48, freq="h"))
    values = KnownInputs.of(calendar="hour,dayofweek").calendar_values(times)
    assert values.shape == (48, 4)
    assert np.allclose(values[0], [0, 1, 0, 1]) and np.allclose(values[6, :2], [1, 0], atol=1e-12)
    assert np.allclose(values[24, 2:], [np.sin(2 * np.pi / 7), np.cos(2 * np.pi / 7)])


@pytest.mark.parametrize("kind", ["tcn", "lstm", "transformer"])
def test_known_inputs_change_the_forecast_and_are_required(kind):
    df = north()
    history, ahead = df.iloc[:-4], df.iloc[-4:]
    task = tasks.custom(history, target="y", input_length=32, horizon=4, test_size=100,
                        known_features="price", calendar="hour,dayofweek")
    assert task.input_size == 2 + 4 * (1 + 4)
    torch.manual_seed(0)
    model = task.build_model(kind).eval()
    first = task.predict(model, history, future=ahead)
    changed = task.predict(model, history, future=ahead.assign(price=ahead.price + 3))
    assert not np.allclose(first["y"], changed["y"])
    # the future times come from the file: a day later, another calendar, another forecast
    later = task.predict(model, history, future=ahead.assign(time=ahead.time + pd.Timedelta(hours=7)))
    assert list(later["time"]) == list(ahead.time + pd.Timedelta(hours=7))
    assert not np.allclose(first["y"], later["y"])
    with pytest.raises(DataError, match="known future inputs price"):
        task.predict(model, history)
    with pytest.raises(DataError, match="lacks column 'price'"):
        task.predict(model, history, future=ahead.drop(columns="price"))
    with pytest.raises(DataError, match="holds 2 rows"):
        task.predict(model, history, future=ahead.iloc[:2])


def test_training_windows_read_the_known_inputs_of_their_target_steps():
    df = north()
    task = tasks.custom(df, target="y", input_length=8, horizon=2, test_size=100, known_features="price")
    ds = task.dataset("train")
    s, start = ds.starts[5]
    item = ds[5]
    price = task.spec.input_scaler.select([0]).transform(df[["price"]].to_numpy())[:, 0]
    end = start + 8
    assert item["x"].shape == (8, 2 + 2)
    assert item["x"][-1, 2:].tolist() == pytest.approx(price[end:end + 2].tolist(), abs=1e-6)


def test_calendar_alone_needs_no_future_file_and_round_trips():
    df = north()
    task = tasks.custom(df, target="y", input_length=24, horizon=3, test_size=100, calendar="hour")
    model = task.build_model("gru").eval()
    rows = task.predict(model, df)
    assert list(rows["time"]) == list(pd.date_range(df.time.iloc[-1], periods=4, freq="h")[1:])
    restored = type(task).from_state(task.state())
    assert restored.spec.known == task.spec.known and restored.spec.to_dict()["version"] == 4
    assert np.allclose(restored.predict(model, df)["y"], rows["y"])


@pytest.mark.parametrize("options, message", [
    (dict(known_features="y"), "names the target"),
    (dict(known_features="rain"), "not an input column"),
    (dict(calendar="hour,fortnight"), "not one of"),
])
def test_malformed_known_inputs_are_refused(options, message):
    with pytest.raises(DataError, match=message):
        tasks.custom(north(), target="y", input_length=24, test_size=100, **options)


def test_calendar_needs_dates():
    df = north().assign(time=np.arange(3 * 168))
    with pytest.raises(DataError, match="time column of dates"):
        tasks.custom(df, target="y", input_length=24, test_size=100, calendar="hour")


def test_predict_cli_refuses_a_forecast_without_its_known_inputs(tmp_path, capsys):
    df = north()
    data = tmp_path / "north.csv"
    df.to_csv(data, index=False)
    main(["train", "custom", "--file", str(data), "--target", "y", "--input-length", "24", "--horizon", "2",
          "--test-size", "100", "--known-features", "price", "--calendar", "hour", "--model", "gru",
          "--epochs", "1", "--threads", "1", "--out", str(tmp_path / "runs"), "--name", "r"])
    ckpt = str(tmp_path / "runs" / "r" / "checkpoints" / "best.ckpt")
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["predict", ckpt, "--file", str(data)])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 1 and len(err.splitlines()) == 1 and "price" in err and "--future" in err
    future = tmp_path / "future.csv"
    pd.DataFrame({"time": pd.date_range(df.time.iloc[-1], periods=3, freq="h")[1:], "price": [0.1, 0.9]}).to_csv(
        future, index=False)
    out = tmp_path / "preds.csv"
    main(["predict", ckpt, "--file", str(data), "--future", str(future), "--out", str(out)])
    assert pd.read_csv(out)["step"].tolist() == [1, 2]
    with pytest.raises(SystemExit) as info:
        main(["predict", ckpt, "--file", str(data), "--future", str(data.with_name("absent.csv"))])
    assert info.value.code == 1
