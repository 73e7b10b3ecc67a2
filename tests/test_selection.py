"""Which checkpoint a run delivers: chosen on the validation loss by default for your own data,
ties to the later validation, ``select=`` to change it; and budgets in optimizer steps."""

import pytest
import torch
import torch.nn.functional as F

import seqbench
from seqbench import tasks
from seqbench.tasks import Metric, Preset, Task, TensorDictDataset
from seqbench.training import RunConfig, Training


class ChanceAccuracy(Task):
    """Two classes, learnable from the inputs' mean; the reported accuracy is held at chance
    (0.5 for every item), as on a validation split too small or too hard for it to move, while
    the NLL is the model's own and falls as it learns. The loss decides, as for your own data."""

    name = "chance_accuracy"
    input_size, output_size, head = 1, 2, "last"
    metrics = (Metric("accuracy", higher_is_better=True), Metric("nll"))
    selection = "loss"

    def __init__(self, data_dir=None, n=16):
        super().__init__(data_dir, n=n)
        self.presets = {"paper": Preset(dict(hidden_size=4, levels=2, kernel_size=2), lr=0.05, batch_size=8,
                                        epochs=4)}

    def dataset(self, split):
        g = torch.Generator().manual_seed({"train": 0, "valid": 1, "test": 2}[self.check_split(split)])
        x = torch.randn(self.variant["n"], 5, 1, generator=g)
        return TensorDictDataset(x=x, y=(x.mean((1, 2)) > 0).long())

    def loss(self, output, batch):
        return F.cross_entropy(output, batch["y"])

    def statistics(self, output, batch):
        n = torch.tensor(float(len(batch["y"])))
        return {"accuracy": (n / 2, n), "nll": (F.cross_entropy(output.detach(), batch["y"], reduction="sum"), n)}


@pytest.fixture
def chance(monkeypatch):
    monkeypatch.setitem(tasks._REGISTRY, "chance_accuracy", ChanceAccuracy)


def _train(tmp_path, **kw):
    return seqbench.train("chance_accuracy", "tcn", out=str(tmp_path), progress=False, threads=1, **kw)


def test_accuracy_tied_at_chance_does_not_deliver_the_first_epoch(tmp_path, chance):
    r = _train(tmp_path)
    nll = [row["valid_nll"] for row in r["history"]]
    assert nll[-1] < nll[0]  # it learned
    best = max(i for i, v in enumerate(nll) if v == min(nll))  # the lowest loss, the later of ties
    assert r["best_epoch"] == r["history"][best]["epoch"] > 1
    assert r["metrics"]["valid"]["nll"] == min(nll)
    assert r["selection"] == {"rule": "loss", "metric": "nll", "epoch": r["best_epoch"],
                              "step": r["history"][best]["step"]}


def test_ties_go_to_the_later_validation_and_last_takes_the_last(tmp_path, chance):
    on_metric = _train(tmp_path / "metric", select="metric")  # accuracy ties at every epoch
    assert on_metric["best_epoch"] == on_metric["epochs"] == 4
    assert on_metric["selection"]["rule"] == "metric"
    last = _train(tmp_path / "last", select="last")
    assert last["selection"] == {"rule": "last", "metric": None, "epoch": 4, "step": last["steps"]}


def test_select_is_checked():
    with pytest.raises(ValueError, match="select"):
        RunConfig(task="adding", select="best")


def test_steps_bound_a_run_and_the_preset_floor_raises_epochs(tmp_path, chance):
    r = _train(tmp_path, steps=3)  # 2 steps an epoch: the run stops within its second epoch
    assert r["steps"] == 3 and not r["stopped_by_time_limit"]
    task = ChanceAccuracy()
    task.presets = {"paper": task.presets["paper"].with_overrides(min_steps=10)}
    assert Training.resolve(task, RunConfig(task="chance_accuracy")).epochs == 5  # 10 steps of 2 an epoch
    assert Training.resolve(task, RunConfig(task="chance_accuracy", epochs=2)).epochs == 2  # the run's word wins


def test_custom_data_selects_on_loss_with_a_step_floor(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = [{"sequence_id": s, "time": t, "v": float(rng.normal(s % 2, 1.0)), "label": "ab"[s % 2]}
            for s in range(20) for t in range(4)]
    task = tasks.custom(pd.DataFrame(rows), target="label")
    assert task.default_preset == "default" and "paper" not in task.presets
    cfg = RunConfig(task="custom", variant={"file": "<DataFrame>"}, preset="small")
    training = Training.resolve(task, cfg)
    # 16 train sequences at batch 32: one step an epoch, so the small preset's 150-step floor rules
    assert training.select == "loss" and training.epochs == 150
    assert RunConfig(task="custom").preset == "default"
