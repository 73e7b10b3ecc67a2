"""A comparison on your own data: every model on every fold (variant) in one group, reference
predictors' result files as rows beside the models, statistics from the test items, and no
"paper" anywhere."""

import json

import numpy as np
import pandas as pd
import pytest

from seqbench.cli.compare import comparison_table
from seqbench.comparison import compare
from seqbench.report import load_results, summary, write_report
from seqbench.results import RunResult


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """Two folds (two split seeds) of a 60-sequence, two-class set; TCN and GRU, one seed, two epochs."""
    tmp = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(0)
    rows = [{"sequence_id": s, "time": t, "v": float(rng.normal(2.0 * (s % 2), 1.0)), "label": "ab"[s % 2]}
            for s in range(60) for t in range(4)]
    pd.DataFrame(rows).to_csv(tmp / "data.csv", index=False)
    base = {"file": str(tmp / "data.csv"), "target": "label"}
    variants = [{**base, "seed": 1, "label": "split 1"}, {**base, "seed": 2, "label": "split 2"}]
    result = compare("custom", ["tcn", "gru"], seeds=1, preset="small", variant=base, out=str(tmp),
                     variants=variants, epochs=2, threads=1, progress=False)
    return tmp, result


def test_every_model_runs_on_every_fold_with_its_items(group):
    _, result = group
    names = sorted(r["run_dir"].rsplit("/", 1)[1] for r in result["runs"] if r["preset"] != "reference")
    assert names == ["gru-split1-seed0", "gru-split2-seed0", "tcn-split1-seed0", "tcn-split2-seed0"]
    tcn = next(e for e in result["models"] if e["model"] == "tcn")
    assert [f["variant"]["seed"] for f in tcn["folds"]] == [1, 2] and tcn["runs"] == 2
    assert tcn["test"]["mean"] == pytest.approx(np.mean([f["mean"] for f in tcn["folds"]]))
    for r in (r for r in load_results(result["group"]) if r.preset != "reference"):
        assert r.primary_statistic == "accuracy" and len(r.test_items["accuracy"]["sum"]) == 6  # 10% of 60
        assert r.selection["rule"] == "loss" and r.preset == "small"


def test_intervals_stay_in_range_and_few_items_are_not_tested(group):
    _, result = group
    for e in result["models"]:
        assert 0.0 <= e["test"]["ci"][0] <= e["test"]["ci"][1] <= 1.0
    gru = next(e for e in result["models"] if e["model"] == "gru")
    assert gru["against_tcn"]["p"] is None and gru["against_tcn"]["reason"].startswith("too few test items")
    table = comparison_table(result)
    assert "too few test items to test (12 < 30)" in table and "paper" not in table.lower()
    assert "2 folds x 1 seed" in table and "steps" in table and "lowest validation nll" in table


def test_a_reference_result_in_the_group_is_a_row_beside_the_models(group):
    tmp, _ = group
    group_dir = next(tmp.glob("compare-custom-*"))
    for r in load_results(group_dir):
        if r.model != "tcn":
            continue
        # what a reference predictor writes: same variant (fold), same test items, in order
        items = r.test_items["accuracy"]["sum"]
        ref = RunResult(task=r.task, model="majority", seed=0, primary_metric="accuracy",
                        metrics={"valid": {"accuracy": 0.5}, "test": {"accuracy": 0.5, "nll": 0.69}},
                        parameters=0, epochs=0, steps=0, wall_time_s=0.01, variant=r.variant, preset="reference",
                        higher_is_better=True,  # no primary_statistic: a reference does not name it
                        test_items={"accuracy": {"sum": [float(i % 2) for i in range(len(items))],
                                                 "count": [1.0] * len(items)}},
                        config={"reference": {"name": "majority", "label": "always one class", "settings": {}}})
        fold = r.variant["seed"]
        (group_dir / f"reference-majority-fold{fold}").mkdir()
        ref.save(group_dir / f"reference-majority-fold{fold}" / "result.json")
    data = summary(load_results(group_dir))
    row = next(e for e in data["models"] if e["model"] == "majority")
    assert row["reference"] and row["label"] == "always one class" and row["runs"] == 2
    assert row["test"]["mean"] == 0.5 and row["against_tcn"]["method"].startswith("paired bootstrap")
    table = comparison_table({**data, "paths": {}})
    line = next(line for line in table.splitlines() if line.startswith("always one class"))
    assert line.split()[3:7] == ["0", "2", "-", "-"]  # parameters, runs, no epochs or steps
    page = write_report(group_dir)["markdown"].read_text()
    assert "always one class" in page and "paper" not in page.lower() and "protocol" not in page.lower()
    # the report recomputes the comparison's numbers from the files alone
    again = json.loads((group_dir / "summary.json").read_text())
    assert again["models"] == json.loads(json.dumps(data["models"]))


def test_a_test_file_names_the_group_by_its_stem():
    from seqbench.comparison import group_dir

    variant = {"file": "/data/GunPoint_TRAIN.ts", "test_file": "/data/GunPoint_TEST.ts", "target": "label"}
    assert group_dir("runs", "custom", variant, "default").name == \
        "compare-custom-GunPoint_TRAIN-targetlabel-test_fileGunPoint_TEST-default"
