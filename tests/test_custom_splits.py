"""Fixed, stratified and resampled splits of the own-data task (issue 34): a test file kept
whole, a split column, stratified random splits and folds, a series' last steps, a cutoff,
rolling origins and backtests; and resampling_plan, the list of trainings a compare runs."""

import numpy as np
import pandas as pd
import pytest
from custom_datasets import CLASSES, labelled_sequences, official_split, sixty_sequences, yearly_series
from hypothesis import given, settings
from hypothesis import strategies as st

from seqbench import tasks
from seqbench.tasks.custom import DataError, resampling_plan


def labels_of(task, split):
    ds = task.dataset(split)
    return [task.spec.classes[int(ds[i]["y"])] for i in range(len(ds))]


# -- many sequences -----------------------------------------------------------------------------
def test_a_test_file_is_kept_whole_and_valid_is_drawn_stratified_from_the_training_file(tmp_path):
    train, test = official_split(tmp_path)
    t = tasks.custom(train, test_file=test, target="label")
    official = pd.read_csv(test)
    # exactly the official test sequences, in order (the files reuse ids: the test ids are the test file's)
    assert t.split_ids["test"] == list(dict.fromkeys(official["sequence_id"]))
    assert t.spec.split_sizes == (32, 8, 40)
    assert sorted(labels_of(t, "test")) == sorted(official.groupby("sequence_id")["label"].first())
    assert sorted(set(labels_of(t, "valid"))) == sorted(CLASSES)    # every class in valid
    assert set(t.split_ids["train"]).isdisjoint(t.split_ids["valid"])
    lines = t.describe()
    assert lines[1] == "train/valid/test: 32/8/40 sequences (test: the test file; valid: drawn from the training file)"
    assert lines[2] == "classes, train/valid/test: 'run' 8/2/10, 'sit' 8/2/10, 'stand' 8/2/10, 'walk' 8/2/10"
    assert t.variant["test_file"] == str(test)


def test_the_test_file_scales_nothing_it_holds_into_the_inputs(tmp_path):
    train, test = official_split(tmp_path)
    shifted = pd.read_csv(test).assign(ax=lambda d: d["ax"] + 1000.0)   # a test set far from train
    shifted.to_csv(test, index=False)
    t = tasks.custom(train, test_file=test, target="label")
    frame = pd.read_csv(train)
    kept = frame[frame["sequence_id"].isin(t.split_ids["train"])]
    assert np.isclose(t.spec.input_scaler.mean[0], kept["ax"].mean())   # train split only


def test_a_test_file_with_a_class_the_training_file_lacks_or_other_columns_is_refused(tmp_path):
    train, test = official_split(tmp_path)
    pd.read_csv(test).assign(label=lambda d: d["label"].replace("sit", "jump")).to_csv(test, index=False)
    with pytest.raises(DataError, match="test file test.csv holds class 'jump'"):
        tasks.custom(train, test_file=test, target="label")
    pd.read_csv(train).drop(columns=["az"]).to_csv(test, index=False)
    with pytest.raises(DataError, match="test file test.csv: feature column 'az' not found"):
        tasks.custom(train, test_file=test, target="label")


def test_a_small_official_training_file_warns_of_its_valid_split_or_refuses_a_class_missing_from_it(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    labelled_sequences(50, seed=5).to_csv(train, index=False)
    labelled_sequences(40, seed=6).to_csv(test, index=False)
    t = tasks.custom(train, test_file=test, target="label", split=(0.85, 0.1, 0.05))
    assert t.spec.split_sizes[1] == 5 and sorted(set(labels_of(t, "valid"))) == sorted(CLASSES)
    assert any(line.startswith("warning: the valid split holds only 5 sequences") and "split=" in line
               for line in t.describe())
    # a class of one sequence can be in train or valid, not both: an error that says what to do
    labelled_sequences(50, seed=5, classes=CLASSES, counts=(20, 20, 9, 1)).to_csv(train, index=False)
    with pytest.raises(DataError, match=r"class 'stand' has no sequence in the (train|valid) split .*"
                                        r"give more data, a larger valid fraction \(split=\.\.\.\), or folds="):
        tasks.custom(train, test_file=test, target="label")


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_random_split_of_labelled_sequences_is_stratified(seed):
    frame = sixty_sequences()
    t = tasks.custom(frame, target="label", seed=seed)
    for split in ("valid", "test"):
        held = labels_of(t, split)
        assert set(held) == {"walk", "run", "sit"}      # the 10-member class too
    counts = pd.Series(labels_of(t, "train")).value_counts()
    assert counts["walk"] > counts["run"] > counts["sit"]


def test_a_split_column_places_each_sequence_and_is_no_feature():
    frame = sixty_sequences()
    ids = list(dict.fromkeys(frame["sequence_id"]))
    place = {sid: ("test" if i % 4 == 0 else "valid" if i % 4 == 1 else "train") for i, sid in enumerate(ids)}
    frame["part"] = frame["sequence_id"].map(place)
    t = tasks.custom(frame, target="label", split_column="part")
    assert "part" not in t.spec.features
    for split in ("train", "valid", "test"):
        assert t.split_ids[split] == [sid for sid in ids if place[sid] == split]
    frame.loc[frame.index[0], "part"] = "holdout"
    with pytest.raises(DataError, match="split column 'part'"):
        tasks.custom(frame, target="label", split_column="part")


def test_folds_are_disjoint_cover_every_sequence_once_and_are_stratified():
    frame = sixty_sequences()
    plan = resampling_plan({"file": "x.csv", "target": "label", "folds": 5})
    assert [p["fold"] for p in plan] == [0, 1, 2, 3, 4]
    assert [p["label"] for p in plan] == [f"fold {i} of 5" for i in range(1, 6)]
    seen = []
    for p in plan:
        t = tasks.custom(frame, **{k: v for k, v in p.items() if k != "file"})
        assert t.variant["fold"] == p["fold"] and t.label == p["label"]
        test = t.split_ids["test"]
        seen += test
        assert len(test) == 12 and set(test).isdisjoint(t.split_ids["train"] + t.split_ids["valid"])
        counts = pd.Series(labels_of(t, "test")).value_counts()
        assert (counts["walk"], counts["run"], counts["sit"]) == (6, 4, 2)    # 30/20/10 over 5 folds
        assert set(labels_of(t, "valid")) == {"walk", "run", "sit"}
    assert sorted(seen) == sorted(set(frame["sequence_id"]))                # each sequence once


def test_resamples_draw_other_splits_and_plan_with_folds():
    frame = sixty_sequences()
    plan = resampling_plan({"target": "label", "resamples": 3})
    assert [p["label"] for p in plan] == ["resample 1 of 3", "resample 2 of 3", "resample 3 of 3"]
    tests = [tuple(tasks.custom(frame, **p).split_ids["test"]) for p in plan]
    assert len(set(tests)) == 3
    assert tasks.custom(frame, **plan[1]).split_ids == tasks.custom(frame, **plan[1]).split_ids   # seeded
    both = resampling_plan({"target": "label", "folds": 2, "resamples": 2})
    assert [(p["resample"], p["fold"]) for p in both] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert resampling_plan({"target": "label"}) == [{"target": "label"}]
    assert tasks.custom.resampling_plan is resampling_plan          # seqbench.tasks.custom.resampling_plan(...)
    assert resampling_plan({"target": "label", "folds": 5, "fold": 3}) == [{"target": "label", "folds": 5, "fold": 3}]


@pytest.mark.parametrize("options, message", [
    (dict(test_file="t.csv", split_column="part"), "test_file=... and split_column=... both choose the test set"),
    (dict(folds=5, test_file="t.csv"), "folds=... make their own test sets: leave out test_file"),
    (dict(resamples=3, split_column="part"), "resamples=... draw their own test sets"),
    (dict(fold=2), "fold=... picks one of folds=..."),
    (dict(folds=3, fold=3), r"fold must be an integer in \[0, 3\)"),
    (dict(stride=2), "stride=... spaces the origins of a backtest"),
    (dict(folds=1), "folds must be an integer of at least 2"),
    (dict(test_size=5, cutoff=1990), "test_size=... and cutoff=... both choose the test set"),
])
def test_conflicting_split_options_are_data_errors(options, message):
    with pytest.raises(DataError, match=message):
        resampling_plan(options)
    with pytest.raises(DataError, match=message):
        tasks.custom(sixty_sequences(), target="label", **options)


def test_series_options_are_refused_for_sequences_and_sequence_options_for_a_series():
    with pytest.raises(DataError, match="test_size=... cuts a series in time"):
        tasks.custom(sixty_sequences(), target="label", test_size=5)
    with pytest.raises(DataError, match="resamples=... draw sequences at random; a series takes folds"):
        tasks.custom(yearly_series(), target="value", time_column="year", resamples=2)


# -- one series ---------------------------------------------------------------------------------
def unscaled_targets(task, split):
    ds, scaler = task.dataset(split), task.spec.target_scaler
    return [scaler.inverse(ds[i]["y"].reshape(task.spec.horizon, -1).numpy())[:, 0] for i in range(len(ds))]


def test_test_size_puts_exactly_the_last_steps_in_test_and_valid_before_them():
    frame = yearly_series()
    values = frame["value"].to_numpy()
    t = tasks.custom(frame, target="value", time_column="year", test_size=30, horizon=1, input_length=10)
    assert t.spec.split_sizes[2] == 30
    assert np.allclose(np.concatenate(unscaled_targets(t, "test")), values[-30:])
    assert np.allclose(np.concatenate(unscaled_targets(t, "valid")), values[-60:-30])
    train_targets = np.concatenate(unscaled_targets(t, "train"))
    assert np.allclose(train_targets, values[10:-60])                  # nothing of valid or test
    one = tasks.custom(frame, target="value", time_column="year", test_size=30, horizon=30, input_length=10)
    (window,) = unscaled_targets(one, "test")
    assert np.allclose(window, values[-30:])
    lines = one.describe()
    assert lines[1] == "train/valid/test: 21/1/1 windows (test: the last 30 steps)"
    assert lines[2].startswith("warning: the test split holds only 1 forecast window(s)") and "backtest=" in lines[2]


def test_a_cutoff_tests_the_steps_after_it_and_years_stay_whole_numbers():
    t = tasks.custom(yearly_series(), target="value", time_column="year", cutoff="1989", horizon=1, input_length=10)
    assert t.spec.split_sizes[2] == 30                                  # 1990..2019
    assert t.describe()[1].endswith("(test: the steps after 1989)")
    with pytest.raises(DataError, match="cutoff 'soon' is not a value of the time column 'year' \\(e.g. 2019\\)"):
        tasks.custom(yearly_series(), target="value", time_column="year", cutoff="soon")


def test_a_cutoff_date():
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=100, freq="D").astype(str),
                          "v": np.sin(np.arange(100) / 5)})
    t = tasks.custom(frame, target="v", time_column="date", cutoff="2020-03-10", input_length=5)
    assert t.spec.split_sizes[2] == 30 and t.describe()[1].endswith("(test: the steps after 2020-03-10)")


def test_a_backtest_forecasts_from_each_origin_and_no_training_window_reads_the_test_period():
    frame = yearly_series()
    n, horizon, length = len(frame), 5, 20
    t = tasks.custom(frame, target="value", time_column="year", backtest=10, horizon=horizon, input_length=length)
    first = n - horizon - 9 * horizon                                   # stride: the horizon
    origins = [first + j * horizon for j in range(10)]
    assert [s + length for _, s in t.dataset("test").starts] == origins
    assert np.allclose(np.stack(unscaled_targets(t, "test")),
                       np.stack([frame["value"].to_numpy()[o:o + horizon] for o in origins]))
    for split in ("train", "valid"):                                    # inputs and targets end before the first origin
        assert max(s + length + horizon for _, s in t.dataset(split).starts) <= first
    assert "10 forecast origin(s) 5 steps apart from step 70, 1970, one training on the data before them" \
        in t.describe()[1]
    strided = tasks.custom(frame, target="value", time_column="year", backtest=4, stride=2, horizon=3, input_length=8)
    assert [s + 8 for _, s in strided.dataset("test").starts] == [111, 113, 115, 117]


def test_refit_every_k_origins_is_several_trainings_each_before_its_origins():
    frame = yearly_series()
    plan = resampling_plan({"target": "value", "time_column": "year", "backtest": 10, "horizon": 5,
                            "input_length": 20, "refit_every": 4})
    assert [p["label"] for p in plan] == ["refit 1 of 3 (origins 1-4 of 10)", "refit 2 of 3 (origins 5-8 of 10)",
                                          "refit 3 of 3 (origins 9-10 of 10)"]
    origins = []
    for p in plan:
        t = tasks.custom(frame, **p)
        mine = [s + 20 for _, s in t.dataset("test").starts]
        origins += mine
        assert max(s + 25 for _, s in t.dataset("train").starts) <= mine[0]
        assert max(s + 25 for _, s in t.dataset("valid").starts) <= mine[0]
        assert not any(line.startswith("warning") for line in t.describe())   # scored over all 10 origins
    assert origins == [70 + 5 * j for j in range(10)]


def test_rolling_origin_folds_of_a_series_test_after_their_training_stretch():
    frame = yearly_series()
    plan = resampling_plan({"target": "value", "time_column": "year", "folds": 3, "horizon": 2, "input_length": 10})
    tested = []
    for p in plan:
        t = tasks.custom(frame, **p)
        test_targets = [s + 10 for _, s in t.dataset("test").starts]
        tested.append((min(test_targets), max(test_targets) + 2))
        assert max(s + 12 for _, s in t.dataset("train").starts) <= min(test_targets) - 24   # valid between
    assert tested == [(48, 72), (72, 96), (96, 120)]                   # 120 // (3 + 2) = 24 steps each


def test_a_test_file_of_a_series_continues_it():
    frame = yearly_series()
    train, test = frame.iloc[:100], frame.iloc[100:]
    t = tasks.custom(train, test_file=test, target="value", time_column="year", horizon=1, input_length=10)
    assert t.spec.split_sizes[2] == 20
    assert np.allclose(np.concatenate(unscaled_targets(t, "test")), test["value"].to_numpy())
    with pytest.raises(DataError, match="do not come after the training file's: they start at 1900"):
        tasks.custom(train, test_file=frame.iloc[:30], target="value", time_column="year", input_length=10)
