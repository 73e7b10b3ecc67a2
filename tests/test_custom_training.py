"""End to end on a tiny file: ``seqbench train custom``, then ``evaluate`` and ``predict`` from
the checkpoint alone (the training file removed), the way a user runs them."""

import json

import numpy as np
import pandas as pd
import pytest



@pytest.mark.slow
def test_train_then_predict_from_the_checkpoint_alone(tmp_path, cli):
    t = np.arange(160)
    data = tmp_path / "meter.csv"
    frame = pd.DataFrame({"time": t, "kwh": np.sin(t / 4), "temp": np.cos(t / 9)})
    frame.loc[30, "kwh"] = np.nan
    frame.to_csv(data, index=False)
    common = ["--file", str(data), "--target", "kwh", "--input-length", "12", "--horizon", "3",
              "--out", str(tmp_path / "runs"), "--no-progress"]
    code, _, err = cli(["train", "custom", *common, "--epochs", "1", "--hidden", "8"])
    assert code == 1 and "NaN/inf values in 'kwh' at row 30" in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # refused before anything was written
    code, out, err = cli(["train", "custom", *common, "--fill", "interpolate", "--epochs", "1", "--hidden", "8"])
    assert code == 0, err
    assert "custom task: forecast kwh: the next 3 step(s) from the last 12" in err
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("custom-meter-")  # the file's stem, not its path
    result = json.loads((run_dir / "result.json").read_text())
    assert result["primary_metric"] == "nmse" and set(result["metrics"]["test"]) == {"nmse", "rmse", "mae"}
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    code, out, err = cli(["evaluate", str(ckpt)])
    assert code == 0 and "nmse" in out, err
    data.rename(tmp_path / "elsewhere.csv")
    frame.tail(20).fillna(0).to_csv(tmp_path / "new.csv", index=False)
    code, _, err = cli(["predict", str(ckpt), "--file", str(tmp_path / "new.csv"),
                        "--out", str(tmp_path / "forecast.csv")])
    assert code == 0, err
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert forecast["time"].tolist() == [160, 161, 162] and forecast["kwh"].notna().all()


def test_predicting_reads_checkpoints_without_importing_lightning():
    import subprocess
    import sys

    code = ("import sys, seqbench.cli.predict, seqbench.training.load; "
            "sys.exit(any(m.split('.')[0] in ('lightning', 'pytorch_lightning') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
