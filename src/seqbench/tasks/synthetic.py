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
    exactly two steps, a pair of distinct positions drawn uniformly from the whole sequence
    (as the official generator does; Hochreiter's original puts one in each half).
    The target is the sum of the two marked values.

    Returns:
        x: (n, seq_len, 2) float32; y: (n, 1) float32.
    """
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, seq_len, generator=g)
    first = torch.randint(0, seq_len, (n,), generator=g)
    # a uniform draw from the other seq_len - 1 positions: skip over the first one
    second = torch.randint(0, seq_len - 1, (n,), generator=g)
    second = second + (second >= first).long()
    marker = torch.zeros(n, seq_len)
    rows = torch.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = torch.stack([values, marker], dim=-1)
    y = (values * marker).sum(1, keepdim=True)
    return x, y


def _paper_reference(task: Task) -> tuple[dict[str, float], str]:
    """:meth:`Task.paper_reference` of the synthetic tasks: the paper reports them at one
    sequence length, and a run at another length is put beside those figures, named
    (``"seq_len=600"``)."""
    note = ", ".join(f"{k}={v}" for k, v in paper.RESULTS_VARIANT[task.name].items())
    return Task.paper_reference(task) or (dict(paper.RESULTS[task.name][3]), note)


class AddingProblem(Task):
    """Sum the two marked values of a length-``seq_len`` sequence (sequence-to-label, MSE).

    Variant: ``seq_len`` (paper: 200, 400, 600), ``train_size`` (50,000), ``valid_size`` /
    ``test_size`` (1,000), ``seed``. Always predicting 1.0 gives an MSE of about 1/6.
    """

    name = "adding"
    compare_preset = "small"  # the quick look below
    input_size, output_size, head = 2, 1, "last"
    metrics = (Metric("mse", higher_is_better=False),)
    paper_reference = _paper_reference

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
                            variant=dict(seq_len=200, train_size=4_000, valid_size=500, test_size=1_000)),
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

    def baseline(self, split: str = "test") -> tuple[str, dict[str, float]]:
        """Always the train split's mean target (about 1.0): the plateau every model sits on
        before it finds the markers, an MSE of about 1/6 (the variance of a sum of two U(0, 1))."""
        y = self.dataset(split).tensors["y"]
        guess = self.dataset("train").tensors["y"].mean().expand_as(y)
        return "always the train mean", self.metrics_of(guess, {"y": y})


def copy_memory(n: int, seq_len: int, seed: int, memory: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` copy-memory sequences with ``seq_len`` blank steps, vectorised and seeded.

    Input (length ``seq_len + 2 * memory``): ``memory`` digits from 1..8, ``seq_len - 1``
    zeros, then ``memory + 1`` nines (the first nine is the cue to start recalling). The
    target is 0 everywhere except the last ``memory`` steps, which repeat the digits; this is
    the official generator's layout.

    Returns:
        digits: (n, seq_len + 2 * memory) int64 input symbols 0..9; y: same shape, int64 targets.
    """
    g = torch.Generator().manual_seed(seed)
    seq = torch.randint(1, 9, (n, memory), generator=g)
    x = torch.cat([seq, torch.zeros(n, seq_len - 1, dtype=torch.long), torch.full((n, memory + 1), 9)], 1)
    y = torch.cat([torch.zeros(n, seq_len + memory, dtype=torch.long), seq], 1)
    return x, y


class _CopyDataset(torch.utils.data.Dataset):
    """Symbols kept as uint8 (1 byte a step); each item is turned into floats when fetched, so
    10,000 one-hot sequences of T=2000 need 20 MB rather than 800 MB."""

    def __init__(self, digits: torch.Tensor, y: torch.Tensor, one_hot: bool) -> None:
        self.digits, self.y, self.one_hot = digits.to(torch.uint8), y.to(torch.uint8), one_hot

    def __len__(self) -> int:
        return len(self.digits)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        d = self.digits[i].long()
        x = F.one_hot(d, 10).float() if self.one_hot else d.float().unsqueeze(-1)
        return {"x": x, "y": self.y[i].long()}


class CopyMemory(Task):
    """Recall 10 digits after ``seq_len`` blank steps (sequence-to-sequence, 10-class CE per step).

    Variant: ``seq_len`` (paper: 500, 1000, 2000; sequences are ``seq_len + 20`` long),
    ``train_size`` (10,000), ``valid_size`` / ``test_size`` (1,000), ``seed``, and
    ``one_hot``: ``False`` feeds one channel of digit values (what the official code does),
    ``True`` ten one-hot channels. Guessing (0 on the first ``seq_len + 10`` steps, uniform over
    1..8 on the last 10) gives a loss of 10 ln 8 / (seq_len + 20).
    """

    name = "copy_memory"
    compare_preset = "small"  # the quick look below
    output_size, head = 10, "per_step"
    metrics = (Metric("loss", higher_is_better=False), Metric("accuracy", higher_is_better=True))
    paper_reference = _paper_reference

    def __init__(self, data_dir=None, seq_len: int = 1000, train_size: int = 10_000, valid_size: int = 1_000,
                 test_size: int = 1_000, seed: int = 0, one_hot: bool = False) -> None:
        for name, v in [("seq_len", seq_len), ("train_size", train_size), ("valid_size", valid_size), ("test_size", test_size)]:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"copy_memory: {name} must be an integer >= 1, got {v!r}")
        if not isinstance(one_hot, bool):
            raise ValueError(f"copy_memory: one_hot must be True or False, got {one_hot!r}")
        super().__init__(data_dir, seq_len=seq_len, train_size=train_size, valid_size=valid_size,
                         test_size=test_size, seed=seed, one_hot=one_hot)
        self.input_size = 10 if one_hot else 1
        nearest = min((500, 1000, 2000), key=lambda t: abs(t - seq_len))
        cfg = paper.config("copy_memory", seq_len=nearest)
        model = dict(kernel_size=cfg.kernel_size, levels=cfg.levels, hidden_size=cfg.hidden, dropout=cfg.dropout)
        train = dict(paper.TRAINING["copy_memory"], clip=cfg.clip)
        self.presets = {
            "paper": Preset(model, **train),
            # the main job (`make demo`): T=100, 1,250 steps, about a minute per model on
            # 2 CPU cores; enough for the TCN to recall the digits, and for the recurrent
            # networks to show they stay on the memoryless guess
            "small": Preset(model, **{**train, "epochs": 10},
                            variant=dict(seq_len=100, train_size=4_000, valid_size=500, test_size=1_000)),
        }
        self.paper_results = paper.RESULTS["copy_memory"][3] if seq_len == 1000 else {}
        self._cache: dict[str, TensorDictDataset] = {}

    def dataset(self, split: str) -> TensorDictDataset:
        self.check_split(split)
        if split not in self._cache:
            v = self.variant
            digits, y = copy_memory(v[f"{split}_size"], v["seq_len"], v["seed"] * 3 + _SPLIT_OFFSET[split])
            self._cache[split] = _CopyDataset(digits, y, v["one_hot"])
        return self._cache[split]

    def loss(self, output, batch):
        return F.cross_entropy(output.reshape(-1, 10), batch["y"].reshape(-1))

    def statistics(self, output, batch):
        out = output.detach()
        ce = F.cross_entropy(out.reshape(-1, 10), batch["y"].reshape(-1), reduction="sum")
        n = torch.tensor(float(batch["y"].numel()), device=out.device)
        # recall accuracy: the last 10 steps, the only ones that are hard
        last = batch["y"][:, -10:]
        recall = (out[:, -10:].argmax(-1) == last).sum().float()
        return {"loss": (ce, n), "accuracy": (recall, torch.tensor(float(last.numel()), device=out.device))}

    def compute_metrics(self, totals):
        m = super().compute_metrics(totals)
        if "accuracy" in m:
            m["accuracy"] *= 100.0
        return m

    def baseline(self, split: str = "test") -> tuple[str, dict[str, float]]:
        """The memoryless guess: blank for sure up to the cue, then uniform over the digits
        1..8. Its loss is 10 ln 8 / (seq_len + 20), what the paper's recurrent networks reach;
        its recall accuracy is that of always answering 1, about 12.5%."""
        ds = self.dataset(split)
        y = ds.y.long()
        recall = self.variant["seq_len"] + 10
        guess = torch.full(y.shape + (10,), -1e4)  # log-odds: -1e4 is probability 0 in float32
        guess[:, :recall, 0] = 0.0
        guess[:, recall:, 1:9] = 0.0
        return "memoryless guess", self.metrics_of(guess, {"y": y})
