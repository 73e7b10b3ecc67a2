"""The task contract on the reference task (adding problem)."""

import torch

from seqbench import tasks
from seqbench.tasks import pad_collate


def test_adding_batch_and_statistics():
    t = tasks.get("adding", seq_len=50, train_size=64)
    ds = t.dataset("train")
    assert len(ds) == 64
    batch = t.collate([ds[i] for i in range(8)])
    assert batch["x"].shape == (8, 50, 2) and batch["y"].shape == (8, 1)
    assert torch.all(batch["x"][..., 1].sum(1) == 2)
    model = t.build_model("tcn")
    out = model(batch["x"])
    s, n = t.statistics(out, batch)["mse"]
    assert torch.isclose(s / n, t.loss(out, batch))


def test_recurrent_baselines_are_matched():
    t = tasks.get("adding", seq_len=600)
    target = t.build_model("tcn").num_parameters()
    for kind in ("lstm", "gru", "rnn"):
        assert abs(t.build_model(kind).num_parameters() - target) / target < 0.05


def test_pad_collate_masks_variable_lengths():
    items = [{"x": torch.ones(3, 2), "y": torch.ones(3, 2)}, {"x": torch.ones(5, 2), "y": torch.ones(5, 2)}]
    b = pad_collate(items)
    assert b["x"].shape == (2, 5, 2) and b["y"].shape == (2, 5, 2)
    assert b["mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert b["x"][0, 3:].abs().sum() == 0


def test_a_task_that_sees_the_whole_sequence_builds_non_causal_parameter_matched_models():
    from seqbench import tasks

    t = tasks.get("adding", seq_len=50)
    t.causal = False
    target = t.build_model("tcn").num_parameters()
    assert not t.build_model("tcn").encoder.causal
    for kind in ("lstm", "gru", "rnn", "transformer"):
        model = t.build_model(kind)
        assert not model.encoder.causal and abs(model.num_parameters() - target) / target < 0.02
    assert t.build_model("gru").encoder.rnn.bidirectional
