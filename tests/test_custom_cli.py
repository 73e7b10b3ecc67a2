"""``seqbench predict``: one-line errors with exit status 1, and nothing written half-way."""

import io

import numpy as np
import pandas as pd
import pytest
import torch

from seqbench import tasks
from seqbench.cli import main


def series(n=120):
    t = np.arange(n)
    return pd.DataFrame({"time": t, "load": np.sin(t / 6), "temp": np.cos(t / 9)})


def save_checkpoint(path, custom_task, model, kind="tcn", state=True, **run):
    """A checkpoint laid out as training writes it: run configuration, weights, task state."""
    ckpt = {"hyper_parameters": {"run_config": {"task": "custom", "model": kind, "preset": "paper",
                                                "variant": {}, **run}},
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}
    if state:
        ckpt["seqbench"] = {"task_state": custom_task.state()}
    torch.save(ckpt, path)


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


@pytest.fixture
def trained(tmp_path):
    data = tmp_path / "load.csv"
    series().to_csv(data, index=False)
    task = tasks.custom(data, target="load", input_length=16, horizon=4)
    model = task.build_model("gru", hidden_size=6)
    ckpt = tmp_path / "best.ckpt"
    save_checkpoint(ckpt, task, model, kind="gru", hidden_size=6)
    return task, model, data, ckpt


def test_predict_writes_the_forecast(trained, tmp_path, capsys):
    task, model, data, ckpt = trained
    out = tmp_path / "preds.csv"
    data.unlink()  # the checkpoint is enough: the training file is not needed
    series().tail(30).to_csv(tmp_path / "new.csv", index=False)
    main(["predict", str(ckpt), "--file", str(tmp_path / "new.csv"), "--out", str(out)])
    preds = pd.read_csv(out)
    assert preds["step"].tolist() == [1, 2, 3, 4] and preds["time"].tolist() == [120, 121, 122, 123]
    assert np.allclose(preds["load"], task.predict(model.eval(), tmp_path / "new.csv")["load"], atol=1e-5)
    assert "wrote 4 prediction rows" in capsys.readouterr().err


def test_predict_errors_are_one_line_with_status_1(trained, tmp_path, capsys):
    task, model, data, ckpt = trained
    out = tmp_path / "preds.csv"
    series().drop(columns="temp").to_csv(tmp_path / "fewer.csv", index=False)
    series().head(10).to_csv(tmp_path / "short.csv", index=False)
    cases = {
        "mismatched columns: fewer.csv lacks feature column 'temp'": ["--file", str(tmp_path / "fewer.csv")],
        "short.csv too short: the series has 10 rows": ["--file", str(tmp_path / "short.csv")],
        "no such file": ["--file", str(tmp_path / "absent.csv")],
    }
    for expected, args in cases.items():
        code, stdout, err = run_cli(["predict", str(ckpt), *args, "--out", str(out)], capsys)
        assert code == 1 and expected in err and err.count("\n") == 1, err
        assert not out.exists() and stdout == ""
    torch.save({"weights": 1}, tmp_path / "other.ckpt")
    code, _, err = run_cli(["predict", str(tmp_path / "other.ckpt"), "--file", str(data)], capsys)
    assert code == 1 and "not a seqbench checkpoint" in err
    save_checkpoint(tmp_path / "adding.ckpt", task, model, task="adding")
    code, _, err = run_cli(["predict", str(tmp_path / "adding.ckpt"), "--file", str(data)], capsys)
    assert code == 1 and "holds a model of task 'adding'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adding.ckpt", "best.ckpt", "fewer.csv", "load.csv",
                                                           "other.ckpt", "short.csv"]


def test_predict_without_saved_state_rebuilds_from_the_training_file(trained, tmp_path, capsys):
    task, model, data, _ = trained
    ckpt = tmp_path / "old.ckpt"
    save_checkpoint(ckpt, task, model, kind="gru", state=False, hidden_size=6,
                    variant={"file": str(data), "target": "load", "input_length": 16, "horizon": 4})
    main(["predict", str(ckpt), "--file", str(data)])
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert printed["step"].tolist() == [1, 2, 3, 4]


def test_custom_options_become_the_task_variant(tmp_path):
    import click
    from click.testing import CliRunner

    from seqbench.cli.custom_options import custom_options, pop_custom

    @click.command()
    @click.argument("task")
    @custom_options
    def probe(task, **kw):
        click.echo(repr(sorted(pop_custom(task, kw).items())) + f" rest={sorted(kw)}")

    runner = CliRunner()
    ok = runner.invoke(probe, ["custom", "--file", "d.csv", "--target", "y", "--task", "forecast",
                               "--input-length", "8", "--fill", "ffill", "--split", "0.6,0.2,0.2"])
    assert ok.exit_code == 0, ok.output
    assert "('task', 'forecast')" in ok.output and "('split', [0.6, 0.2, 0.2])" in ok.output
    assert f"('file', '{(tmp_path.cwd() / 'd.csv').resolve()}')" in ok.output and "rest=[]" in ok.output
    assert "needs your data: pass --file" in runner.invoke(probe, ["custom"]).output
    assert "--file applies to the custom task only" in runner.invoke(probe, ["adding", "--file", "d.csv"]).output
    assert "expected three fractions" in runner.invoke(probe, ["custom", "--file", "d", "--split", "0.5"]).output


def test_announce_reads_the_file_and_says_what_was_inferred(tmp_path, capsys):
    from seqbench.cli.custom_options import announce_custom

    series().to_csv(tmp_path / "load.csv", index=False)
    announce_custom("custom", {"file": str(tmp_path / "load.csv"), "target": "load", "input_length": 16})
    err = capsys.readouterr().err
    assert "custom task: forecast load: the next 1 step(s) from the last 16" in err
    announce_custom("adding", {})
    assert capsys.readouterr().err == ""


def test_the_tasks_keyword_arguments_are_said_as_flags(tmp_path, capsys):
    from seqbench.cli.custom_options import announce_custom, as_flags
    from seqbench.tasks.custom import DataError

    assert as_flags("pass fill='ffill'|'interpolate'|'zero' or drop=True") == "pass --fill ffill|interpolate|zero or --drop"
    assert as_flags("(pass id_column=...), or use task='forecast'") == "(pass --id-column), or use --task forecast"
    untouched = "needs the last input_length = 8; plan_tcn(20) suggests kernel_size=2, levels=5"
    assert as_flags(untouched) == untouched
    frame = series()
    frame.loc[3, "load"] = np.nan
    frame.to_csv(tmp_path / "gap.csv", index=False)
    variant = {"file": str(tmp_path / "gap.csv"), "target": "load", "input_length": 16}
    with pytest.raises(DataError, match=r"'load' at row 3 .*; pass --fill ffill\|interpolate\|zero or --drop$"):
        announce_custom("custom", variant)
    announce_custom("custom", dict(variant, fill="zero"))
    assert "note: filled NaN/inf values in 1 rows (--fill zero)" in capsys.readouterr().err
