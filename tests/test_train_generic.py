"""The training path is generic: a per-step task with variable-length (masked) batches,
defined here and nowhere else, trains through the same code as the adding problem."""

import math

import torch

import seqbench
from seqbench import tasks
from seqbench.tasks import Metric, Preset, Task, TensorDictDataset


class RunningMean(Task):
    """Per step: the mean of the inputs so far; sequences of 3..8 steps, right-padded in batches."""

    name = "running_mean"
    input_size, output_size, head = 1, 1, "per_step"
    metrics = (Metric("mse"),)
    masks_seen = 0

    def __init__(self, data_dir=None, n=24):
        super().__init__(data_dir, n=n)
        self.presets = {"paper": Preset(dict(hidden_size=4, levels=2, kernel_size=2), optimizer="sgd", lr=0.05,
                                        batch_size=6, epochs=3, clip=1.0, lr_schedule="halve_on_plateau")}

    def dataset(self, split):
        g = torch.Generator().manual_seed({"train": 0, "valid": 1, "test": 2}[self.check_split(split)])
        items = []
        for _ in range(self.variant["n"]):
            length = int(torch.randint(3, 9, (1,), generator=g))
            x = torch.rand(length, 1, generator=g)
            items.append({"x": x, "y": x.cumsum(0) / torch.arange(1, length + 1).unsqueeze(1)})
        return items

    def _err(self, output, batch):
        mask = batch.get("mask")
        if mask is not None:
            RunningMean.masks_seen += 1
        w = torch.ones(output.shape[:2], device=output.device) if mask is None else mask.float()
        return ((output - batch["y"]).pow(2).squeeze(-1) * w).sum(), w.sum()

    def loss(self, output, batch):
        s, n = self._err(output, batch)
        return s / n

    def statistics(self, output, batch):
        s, n = self._err(output.detach(), batch)
        return {"mse": (s, n)}


def test_masked_per_step_task_trains_with_sgd_clip_and_schedule(tmp_path, monkeypatch):
    monkeypatch.setitem(tasks._REGISTRY, "running_mean", RunningMean)
    RunningMean.masks_seen = 0
    for kind in ("tcn", "lstm"):
        r = seqbench.train("running_mean", kind, out=str(tmp_path), progress=False)
        assert r["config"]["training"] == {"optimizer": "sgd", "lr": 0.05, "batch_size": 6, "epochs": 3,
                                           "clip": 1.0, "lr_schedule": "halve_on_plateau", "select": "metric"}
        assert all(math.isfinite(v) for split in r["metrics"].values() for v in split.values())
        # a row's lr is the rate its epoch trained at; it halves after an epoch whose
        # validation did not beat the best so far
        hist = r["history"]
        assert hist[0]["lr"] == 0.05
        for i in range(2, len(hist)):
            improved = hist[i - 1]["valid_mse"] < min(h["valid_mse"] for h in hist[: i - 1])
            assert hist[i]["lr"] == hist[i - 1]["lr"] * (1.0 if improved else 0.5)
    assert RunningMean.masks_seen > 0


def test_schedule_scales_the_rate_of_the_epochs_after_it_fires(tmp_path, monkeypatch):
    """The wiring (the rules themselves: test_train_schedules.py): a schedule that fires at
    every validation divides each later epoch's rate, as the history records."""
    from seqbench.training import schedules

    monkeypatch.setitem(tasks._REGISTRY, "running_mean", RunningMean)
    monkeypatch.setitem(schedules.SCHEDULES, "official_mnist", schedules.StepEvery(0.1, 1))
    r = seqbench.train("running_mean", "tcn", out=str(tmp_path), progress=False, lr_schedule="official_mnist")
    assert [round(h["lr"], 12) for h in r["history"]] == [0.05, 0.005, 0.0005]
    assert r["config"]["training"]["lr_schedule"] == "official_mnist"
