"""``causal=``: which models a custom task builds. One target per whole sequence (or text) is
given after the whole of it is seen, so the default models see all of it; forecasts and
per-step targets keep causal models. Old saved states (all causal) still load as causal."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from seqbench import tasks
from seqbench.tasks.custom import DataError, ReceptiveFieldWarning


def sequences(n=30, per_step=False, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for sid in range(n):
        for t in range(int(rng.integers(4, 9))):
            label = (sid + t) % 2 if per_step else sid % 2
            rows.append({"sequence_id": sid, "time": t, "level": label + 0.1 * rng.normal(), "label": f"c{label}"})
    return pd.DataFrame(rows)


def series(n=120):
    t = np.arange(n)
    return pd.DataFrame({"time": t, "load": np.sin(t / 6)})


def encoders(task):
    """``{kind: encoder}`` of every model kind the task builds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReceptiveFieldWarning)
        return {kind: task.build_model(kind).encoder for kind in ("tcn", "lstm", "gru", "rnn", "transformer")}


def test_the_default_depends_on_when_the_target_is_given():
    whole = tasks.custom(sequences(), target="label")
    assert not whole.causal and whole.head == "mean" and whole.variant["causal"] is False
    for t in (tasks.custom(sequences(per_step=True), target="label"),
              tasks.custom(series(), target="load", input_length=16)):
        assert t.causal and t.variant["causal"] is True and t.head in ("per_step", "last")
    assert any(line.startswith("models: see the whole sequence (non-causal TCN, bidirectional")
               for line in whole.describe())
    forecast = tasks.custom(series(), target="load", input_length=16)
    assert any(line.startswith("models: causal") and line.endswith("pass causal=False for models that see the "
                                                                   "whole window") for line in forecast.describe())


def test_non_causal_models_see_the_whole_sequence_and_stay_parameter_matched():
    t = tasks.custom(sequences(), target="label")
    enc = encoders(t)
    assert not enc["tcn"].causal and not enc["transformer"].causal
    assert all(enc[k].bidirectional for k in ("lstm", "gru", "rnn"))
    sizes = {k: t.build_model(k).num_parameters() for k in enc}
    assert max(sizes.values()) / min(sizes.values()) < 1.1, sizes
    causal = tasks.custom(sequences(), target="label", causal=True)
    enc = encoders(causal)
    assert causal.head == "last" and enc["tcn"].causal and enc["transformer"].causal
    assert not any(enc[k].bidirectional for k in ("lstm", "gru", "rnn"))
    per_step = tasks.custom(sequences(per_step=True), target="label", causal=False)
    assert per_step.head == "per_step" and encoders(per_step)["lstm"].bidirectional


def test_causal_is_saved_and_old_states_without_it_load_causal():
    t = tasks.custom(sequences(), target="label")
    state = json.loads(json.dumps(t.state()))
    assert state["spec"]["causal"] is False and not tasks.from_state(state).causal
    assert state["spec"]["version"] == 3
    del state["spec"]["causal"]  # a checkpoint from before causal=: every model was causal
    state["spec"]["version"] = 1
    old = tasks.from_state(state)
    assert old.causal and old.head == "last" and not encoders(old)["gru"].bidirectional
    state["spec"]["version"] = 5  # a format from a later seqbench: refused, not guessed at
    with pytest.raises(ValueError, match="reads versions 1, 2, 3, 4"):
        tasks.from_state(state)


def test_bad_causal_and_the_receptive_field_warning_of_a_non_causal_tcn():
    with pytest.raises(DataError, match="causal must be True, False or None"):
        tasks.custom(sequences(), target="label", causal=1)
    t = tasks.custom(sequences(), target="label", input_length=40)
    with pytest.warns(ReceptiveFieldWarning, match=r"no output step sees the whole input \(steps over 2 apart"):
        t.build_model("tcn", levels=1, kernel_size=2)


def test_the_command_line_says_causal_as_flags():
    import click
    from click.testing import CliRunner

    from seqbench.cli.custom_options import as_flags, custom_options, pop_custom

    assert as_flags("pass causal=False for models that see it; causal=True") == \
        "pass --no-causal for models that see it; --causal"

    @click.command()
    @click.argument("task")
    @custom_options
    def probe(task, **kw):
        click.echo(repr(sorted(pop_custom(task, kw).items())))

    runner = CliRunner()
    args = ["custom", "--file", "r.csv", "--text", "review", "--tokens", "char", "--max-vocab", "50",
            "--min-count", "2", "--max-length", "64"]
    out = runner.invoke(probe, args + ["--no-causal"]).output
    assert "('causal', False)" in out and "('tokens', 'char')" in out and "('max_length', 64)" in out
    assert "('max_vocab', 50)" in out and "('min_count', 2)" in out and "('text', 'review')" in out
    assert "('causal', True)" in runner.invoke(probe, args + ["--causal"]).output
    assert "causal" not in runner.invoke(probe, args).output
    assert "--causal applies to the custom task only" in runner.invoke(probe, ["adding", "--no-causal"]).output
