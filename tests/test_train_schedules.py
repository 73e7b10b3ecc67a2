"""Learning-rate schedules: each rule equals the official script's loop, written out as that script does it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqbench.training.schedules import SCHEDULES

losses = st.lists(st.floats(0.5, 2.0, allow_nan=False), min_size=1, max_size=30)


def _history(values, key="valid_nll"):
    return [{"epoch": i + 1, key: v} for i, v in enumerate(values)]


def _factors(name, values, higher_is_better=False):
    h = _history(values)
    return [SCHEDULES[name].scale(h[: i + 1], "valid_nll", higher_is_better) for i in range(len(h))]


def _official_drop_on_rise(values, after, window, factor, strict):
    """The scripts' own loop: ``if epoch > after and vloss > max(all_vloss[-window:]): lr *= factor``."""
    seen, out = [], []
    for epoch, v in enumerate(values, 1):
        rose = seen and (v > max(seen[-window:]) if strict else v >= max(seen[-window:]))
        out.append(factor if epoch > after and rose else 1.0)
        seen.append(v)
    return out


@given(losses)
def test_music_char_word_lambada_rules_match_their_scripts(values):
    assert _factors("official_music", values) == _official_drop_on_rise(values, 10, 3, 0.1, strict=True)
    assert _factors("official_char", values) == _official_drop_on_rise(values, 5, 3, 0.1, strict=True)
    assert _factors("official_word", values) == _official_drop_on_rise(values, 5, 5, 0.5, strict=False)
    assert _factors("official_lambada", values) == _official_drop_on_rise(values, 5, 5, 0.1, strict=False)


@given(losses)
def test_higher_is_better_metrics_are_mirrored(values):
    assert _factors("official_char", [-v for v in values], higher_is_better=True) == _factors("official_char", values)


@given(losses)
def test_halve_on_plateau_halves_whenever_the_best_is_not_beaten(values):
    expected = [0.5 if i and v >= min(values[:i]) else 1.0 for i, v in enumerate(values)]
    assert _factors("halve_on_plateau", values) == expected


def test_mnist_steps_every_ten_epochs_also_when_validating_within_epochs():
    per_epoch = [{"epoch": e, "valid_accuracy": 90.0} for e in range(1, 26)]
    scale = SCHEDULES["official_mnist"].scale
    drops = [h["epoch"] for i, h in enumerate(per_epoch) if scale(per_epoch[: i + 1], "valid_accuracy", True) != 1.0]
    assert drops == [10, 20]
    within = [{"epoch": e / 4, "valid_accuracy": 90.0} for e in range(1, 90, 3)]  # 0.25, 1.0, 1.75, ...
    drops = [h["epoch"] for i, h in enumerate(within) if scale(within[: i + 1], "valid_accuracy", True) != 1.0]
    assert drops == [10.0, 20.5]  # the first validation at or past each boundary


@pytest.mark.parametrize("task,name", [("jsb", "official_music"), ("nottingham", "official_music"),
                                       ("mnist", "official_mnist"), ("ptb_char", "official_char"),
                                       ("ptb", "official_word"), ("lambada", "official_lambada")])
def test_paper_presets_run_their_scripts_schedules(task, name):
    from seqbench import tasks

    assert tasks.get(task).presets["paper"].lr_schedule == name
