"""The table of run settings drives RunConfig, the command line, run names and checks; every task's
own preset trains and compares; ``--budget`` is a deprecated alias of compare's ``--preset``."""

import dataclasses

import click
import numpy as np
import pytest
import scipy.io
from hypothesis import given, strategies as st

from seqbench import tasks
from seqbench.cli.compare import compare as compare_command
from seqbench.cli.reproduce import reproduce as reproduce_command
from seqbench.cli.train import train as train_command
from seqbench.run_settings import BASELINE_ONLY, BY_FIELD, MODEL_SETTINGS, NAMED_SETTINGS, SETTINGS, \
    settings_from_argv
from seqbench.training import RunConfig

# a run as today's main (897d1e4) writes it into result.json and checkpoints, and the name it gave it
OLD_RUN = {"task": "jsb", "model": "lstm", "preset": "paper", "variant": {"sequence_loss": "sum"}, "data_dir": None,
           "epochs": 3, "batch_size": 16, "lr": 0.002, "optimizer": "rmsprop", "clip": 0.5,
           "lr_schedule": "halve_on_plateau", "hidden_size": 64, "levels": 3, "kernel_size": 5, "dropout": 0.25,
           "num_layers": 2, "forget_bias": 1.0, "dropout_mode": "channel", "init": "official", "max_time": 60.0,
           "steps": None, "select": "loss", "test_every_epoch": True, "val_every": 10, "seed": 3,
           "deterministic": True, "flush_denormal": True, "out": "runs", "name": None, "resume": False,
           "overwrite": False, "checkpoint_every": 100, "devices": 1, "num_nodes": 1, "strategy": "auto",
           "accelerator": "auto", "precision": "32-true", "threads": None, "progress": True}
OLD_NAME = ("jsb-sequence_losssum-paper-lstm-hidden64-levels3-k5-dropout0.25-layers2-forget-bias1-lr0.002-batch16-"
            "rmsprop-channel-dropout-init-official-clip0.5-lr-halve_on_plateau-seed3")


def _params(command) -> dict:
    return {p.name: p for p in command.params}


def _refused_text(s) -> str | None:
    """A command-line value that row ``s`` refuses (None where the row has no such rule)."""
    if s.parse is not None:
        return {"devices": "0", "name": "..", }.get(s.field)
    if callable(s.choices) or s.choices:
        return "bogus"
    if s.low is not None:
        return str(s.low if s.low_open else s.low - 1)
    if s.high is not None:
        return str(s.high if s.high_open else s.high + 1)
    return "inf" if s.kind is float else None


def test_run_config_fields_are_the_table():
    fields = dataclasses.fields(RunConfig)
    assert [f.name for f in fields] == [s.field for s in SETTINGS]
    cfg = RunConfig(task="adding")
    assert all(getattr(cfg, s.field) == s.default for s in SETTINGS if s.field not in ("task", "preset"))
    # a saved run's fields are the table's, none lost (num_heads came later: a run without it reads as None)
    assert set(OLD_RUN) == {s.field for s in SETTINGS} - {"num_heads"}
    assert set(BASELINE_ONLY) == {"num_layers", "num_heads", "forget_bias"} and set(BASELINE_ONLY) < set(MODEL_SETTINGS)


@pytest.mark.parametrize("command, fields", [
    (train_command, [s.field for s in SETTINGS if s.flag]),
    (compare_command, [s.field for s in SETTINGS if s.part in ("budget", "runtime") and s.field != "name"]),
    (reproduce_command, ["data_dir", "out", "threads"]),
])
def test_every_setting_is_an_option_with_its_rows_help_and_check(command, fields):
    params = _params(command)
    for field in fields:
        s, p = BY_FIELD[field], params[field]
        assert s.flag in p.opts and (s.off_flag is None or s.off_flag in p.secondary_opts), field
        if command is not reproduce_command:  # reproduce words --out and --threads for its queue
            assert p.help == s.help and p.default == s.default, field
        bad = _refused_text(s)
        if bad is None:
            continue
        with pytest.raises(click.BadParameter):
            p.type.convert(bad, p, None)
        if s.field != "name":  # a name is checked in RunConfig too, but "--name .." is refused by text
            value = s.kind(bad) if s.kind in (int, float) else bad
            with pytest.raises(ValueError, match=field if not s.parse else "device"):
                RunConfig(task="adding", **{field: value})


def test_compare_has_a_preset_option_and_a_hidden_budget():
    params = _params(compare_command)
    assert params["preset"].opts == ["--preset"]
    assert params["old_budget"].opts == ["--budget"] and params["old_budget"].hidden


def _value(s):
    """A hypothesis strategy of the values row ``s`` allows."""
    if s.choices:
        return st.sampled_from(s.allowed())
    if s.kind is int:
        return st.integers(min_value=int(s.low) + int(s.low_open), max_value=int(s.low) + 500)
    return st.integers(-1000, 1000).map(lambda k: k / 100).filter(s.in_range)  # written exactly by argv


@given(st.fixed_dictionaries({}, optional={s.field: _value(s) for s in NAMED_SETTINGS
                                           if not s.applies_to or "lstm" in s.applies_to}))
def test_a_run_name_round_trips_through_the_command_line(chosen):
    cfg = RunConfig(task="adding", model="lstm", **chosen)
    argv = [w for field, v in chosen.items() for w in BY_FIELD[field].argv(v)]
    assert RunConfig(task="adding", model="lstm", **settings_from_argv(argv)).run_name() == cfg.run_name()
    ctx = train_command.make_context("train", ["adding", "--model", "lstm", *argv])
    given_back = {k: ctx.params[k] for k in chosen}
    assert RunConfig(task="adding", model="lstm", **given_back).run_name() == cfg.run_name()
    for field in chosen:  # each named setting adds its word, in the table's order
        assert BY_FIELD[field].name(chosen[field]) in cfg.run_name()


def test_a_run_saved_by_main_loads_with_its_name_and_fields():
    cfg = RunConfig.from_dict(OLD_RUN)
    assert cfg.run_name() == OLD_NAME
    assert cfg.to_dict() == {**OLD_RUN, "num_heads": None}


def test_a_setting_of_another_kind_is_refused_by_its_row():
    with pytest.raises(ValueError, match="forget_bias applies to LSTM models only, not to 'gru'"):
        RunConfig(task="adding", model="gru", forget_bias=1.0)


@pytest.mark.parametrize("name", tasks.names())
def test_every_task_has_its_own_presets_for_train_and_compare(name):
    task = tasks.get(name)  # builds presets only: no data is read
    assert task.check_preset(task.preset_for()) == task.default_preset
    assert task.check_preset(task.preset_for(compare=True)) in task.presets
    with pytest.raises(ValueError, match=f"task {name} has no preset 'huge'"):
        task.check_preset("huge")


def _tiny_jsb(root):
    rng = np.random.default_rng(0)
    content = {}
    for key, lengths in (("traindata", (6, 9, 5)), ("validdata", (5, 7)), ("testdata", (6,))):
        cells = np.empty((1, len(lengths)), dtype=object)
        for i, n in enumerate(lengths):
            cells[0, i] = (rng.random((n, 88)) < 0.1).astype(np.uint8)
        content[key] = cells
    (root / "music").mkdir(parents=True)
    scipy.io.savemat(root / "music" / "JSB_Chorales.mat", content)


def test_compare_trains_a_task_without_a_small_preset_on_its_own(cli, tmp_path):
    """JSB has only the paper preset: compare's default is the task's, not a "small" it lacks."""
    _tiny_jsb(tmp_path / "data")
    out = tmp_path / "runs"
    code, stdout, err = cli(["compare", "jsb", "--models", "tcn", "--max-time", "10", "--epochs", "1",
                             "--data-dir", str(tmp_path / "data"), "--variant", "download=false",
                             "--variant", "verify=false", "--threads", "1", "--no-progress", "--out", str(out)])
    assert code == 0, err
    assert "preset paper" in err and "tcn" in stdout
    assert [p.name for p in out.iterdir()] == ["compare-jsb-downloadFalse-verifyFalse-paper"]


def test_budget_is_a_deprecated_alias_of_preset(cli, tmp_path):
    code, _, err = cli(["compare", "adding", "--budget", "huge", "--out", str(tmp_path)])
    assert code == 2 and "deprecated" in err and "--preset" in err and "huge" in err
    code, _, err = cli(["compare", "adding", "--budget", "small", "--preset", "paper", "--out", str(tmp_path)])
    assert code == 2 and "disagree" in err
    assert not any(tmp_path.iterdir())


def test_the_python_compare_takes_the_old_budget_keyword_with_a_warning(tmp_path):
    import seqbench

    with pytest.warns(DeprecationWarning, match="preset"), pytest.raises(ValueError, match="no preset 'huge'"):
        seqbench.compare("adding", ["tcn"], budget="huge", out=str(tmp_path), variant={"seq_len": 8})
    assert not any(tmp_path.iterdir())  # refused before any run
