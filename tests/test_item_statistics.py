"""Per-item statistics add up to the batch's: what paired tests and item resampling rely on."""

import pandas as pd
import torch

from seqbench import tasks
from seqbench.training.totals import ItemTotals, item_statistics

from test_custom_tasks import batch_of, sequences_frame, series_frame


def _check_adds_up(task, split="train"):
    batch = batch_of(task, split, n=8)
    torch.manual_seed(0)
    out = task.build_model("tcn")(batch["x"], batch.get("mask"))
    whole = task.statistics(out, batch)
    items = item_statistics(task, out, batch)
    assert set(items) == set(whole)
    for name, (sums, counts) in items.items():
        assert sums.shape == counts.shape == (len(batch["x"]),)
        assert torch.isclose(sums.sum(), whole[name][0].double().sum(), rtol=1e-6, atol=1e-9), name
        assert torch.isclose(counts.sum(), torch.as_tensor(whole[name][1]).double().sum()), name
    totals = ItemTotals(task)
    totals.add(out, batch)
    totals.add(out, batch)
    d = totals.to_dict()
    assert len(d[task.primary_metric.name]["sum"]) == 2 * len(batch["x"])


def test_item_statistics_of_padded_sequences_add_up():
    frame = sequences_frame(n=30)
    _check_adds_up(tasks.custom(frame.drop(columns=["amount"]), target="label"))
    _check_adds_up(tasks.custom(sequences_frame(n=30, per_step=True).drop(columns=["amount"]), target="label"))


def test_item_statistics_of_forecast_windows_add_up():
    _check_adds_up(tasks.custom(series_frame(), target="load", input_length=16, horizon=3))
