"""The synthetic stress tests: the adding problem (and, next to it, copy memory)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import paper
from .base import Metric, Preset, Task, TensorDictDataset

# seeds of the three splits are derived from the task seed, so splits never overlap
_SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}


def adding_problem(n: int, seq_len: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` adding-problem sequences of length ``seq_len``, vectorised and seeded.

    Each input step has two channels: a value drawn from U(0, 1) and a marker that is 1 at
    exactly two steps (one in each half of the sequence, as in the official generator).
    The target is the sum of the two marked values.

    Returns:
        x: (n, seq_len, 2) float32; y: (n, 1) float32.
    """
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, seq_len, generator=g)
    half = seq_len // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, seq_len, (n,), generator=g)
    marker = torch.zeros(n, seq_len)
    rows = torch.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = torch.stack([values, marker], dim=-1)
    y = (values * marker).sum(1, keepdim=True)
    return x, y


class AddingProblem(Task):
    """Sum the two marked values of a length-``seq_len`` sequence (sequence-to-label, MSE).

    Variant: ``seq_len`` (paper: 200, 400, 600), ``train_size`` (50,000), ``valid_size`` /
    ``test_size`` (1,000), ``seed``. Always predicting 1.0 gives an MSE of about 1/6.
    """

    name = "adding"
    input_size, output_size, head = 2, 1, "last"
    metrics = (Metric("mse", higher_is_better=False),)

    def __init__(self, data_dir=None, seq_len: int = 600, train_size: int = 50_000, valid_size: int = 1_000,
                 test_size: int = 1_000, seed: int = 0) -> None:
        for name, v in [("seq_len", seq_len), ("train_size", train_size), ("valid_size", valid_size), ("test_size", test_size)]:
            if isinstance(v, bool) or not isinstance(v, int) or v < (2 if name == "seq_len" else 1):
                raise ValueError(f"adding: {name} must be an integer >= {2 if name == 'seq_len' else 1}, got {v!r}")
        super().__init__(data_dir, seq_len=seq_len, train_size=train_size, valid_size=valid_size,
                         test_size=test_size, seed=seed)
        # the paper tunes a TCN per T; other lengths take the nearest paper setting
        nearest = min((200, 400, 600), key=lambda t: abs(t - seq_len))
        cfg = paper.config("adding", seq_len=nearest)
        model = dict(kernel_size=cfg.kernel_size, levels=cfg.levels, hidden_size=cfg.hidden, dropout=cfg.dropout)
        self.presets = {
            "paper": Preset(model, **paper.TRAINING["adding"]),
            # the main job: a few minutes on 2 CPU cores
            "small": Preset(model, **{**paper.TRAINING["adding"], "epochs": 3},
                            variant=dict(train_size=4_000, valid_size=500, test_size=1_000)),
        }
        self.paper_results = paper.RESULTS["adding"][3] if seq_len == 600 else {}
        self._cache: dict[str, TensorDictDataset] = {}

    def dataset(self, split: str) -> TensorDictDataset:
        self.check_split(split)
        if split not in self._cache:
            v = self.variant
            x, y = adding_problem(v[f"{split}_size"], v["seq_len"], v["seed"] * 3 + _SPLIT_OFFSET[split])
            self._cache[split] = TensorDictDataset(x=x, y=y)
        return self._cache[split]

    def loss(self, output, batch):
        return F.mse_loss(output, batch["y"])

    def statistics(self, output, batch):
        err = (output.detach() - batch["y"]).pow(2).sum()
        return {"mse": (err, torch.tensor(float(batch["y"].numel())))}
