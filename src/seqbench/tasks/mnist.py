"""Sequential and permuted MNIST: each 28x28 image read as 784 pixels, one per step."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .. import paper
from ..data import CorruptFileError, locate
from ..data.parsers import read_idx
from .base import Metric, Preset, Task

MEAN, STD = 0.1307, 0.3081  # the paper's (and torchvision's) normalisation
_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


class PixelDataset(Dataset):
    """Images kept as uint8 (784 bytes each); an item is normalised and permuted when fetched.

    Item: ``x`` (784, 1) float32, ``y`` int64 class.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, permutation: torch.Tensor | None) -> None:
        self.images, self.labels, self.permutation = images, labels, permutation

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        pixels = self.images[i]
        if self.permutation is not None:
            pixels = pixels[self.permutation]
        x = (pixels.float() / 255.0 - MEAN) / STD
        return {"x": x.unsqueeze(-1), "y": self.labels[i]}


def load_mnist(paths: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"train": (images (N, 784) uint8, labels (N,) int64), "test": ...}`` from the IDX files."""
    out = {}
    for split, (img_name, lab_name) in _FILES.items():
        images, labels = read_idx(paths[img_name]), read_idx(paths[lab_name])
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise CorruptFileError(f"{paths[img_name]}: expected images of 28x28, got shape {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise CorruptFileError(f"{paths[lab_name]}: {labels.shape} labels for {len(images)} images")
        if images.dtype != np.uint8:  # pixels are bytes: the normalisation divides by 255
            raise CorruptFileError(f"{paths[img_name]}: pixels must be unsigned bytes, got {images.dtype}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise CorruptFileError(f"{paths[lab_name]}: labels must be integers 0..9, got {labels.dtype}")
        wrong = np.flatnonzero((labels < 0) | (labels > 9))
        if wrong.size:
            raise CorruptFileError(f"{paths[lab_name]}: labels must be 0..9, found {int(labels[wrong[0]])} "
                                   f"(label {int(wrong[0])}, and {wrong.size - 1} more)")
        out[split] = (torch.from_numpy(images.reshape(len(images), 784).copy()),
                      torch.from_numpy(labels.astype("int64")))
    return out


class SequentialMNIST(Task):
    """Classify a digit from its 784 pixels fed one at a time (sequence-to-label, NLL; accuracy %).

    Variant: ``valid_size`` (5,000 images carved from the training set, so model selection never
    sees the test set), ``seed`` (which training images form the validation split),
    ``train_limit`` (use only the first N training images: quick budgets), ``download``,
    ``verify`` (sha256 of the files).
    """

    name = "mnist"
    compare_preset = "small"  # the quick look below
    input_size, output_size, head = 1, 10, "last"
    metrics = (Metric("accuracy", higher_is_better=True), Metric("nll", higher_is_better=False))
    permuted = False

    def __init__(self, data_dir=None, valid_size: int = 5_000, seed: int = 0, train_limit: int | None = None,
                 download: bool = True, verify: bool = True) -> None:
        if isinstance(valid_size, bool) or not isinstance(valid_size, int) or valid_size < 0:
            raise ValueError(f"{self.name}: valid_size must be an integer >= 0, got {valid_size!r}")
        super().__init__(data_dir, valid_size=valid_size, seed=seed, train_limit=train_limit, download=download,
                         verify=verify)
        cfg = paper.config(self.name)
        model = dict(kernel_size=cfg.kernel_size, levels=cfg.levels, hidden_size=cfg.hidden, dropout=cfg.dropout)
        baselines = dict(baseline_training=paper.BASELINE_TRAINING[self.name],
                         baseline_model=paper.BASELINE_MODEL[self.name])
        self.presets = {
            "paper": Preset(model, **paper.TRAINING[self.name], **baselines),
            "small": Preset(model, **{**paper.TRAINING[self.name], "epochs": 1}, **baselines,
                            variant=dict(train_limit=2_000, valid_size=500)),
        }
        self.paper_results = paper.RESULTS[self.name][3]
        self.permutation: torch.Tensor | None = None
        self._splits: dict[str, PixelDataset] | None = None

    def _load(self) -> dict[str, PixelDataset]:
        if self._splits is None:
            v = self.variant
            paths = locate("mnist", data_dir=self.data_dir, download=v["download"], verify=v["verify"])
            data = load_mnist(paths)
            images, labels = data["train"]
            if v["valid_size"] >= len(images):
                raise ValueError(f"{self.name}: valid_size {v['valid_size']} leaves no training images "
                                 f"(the training set has {len(images)})")
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(v["seed"]))
            valid_idx, train_idx = order[: v["valid_size"]].sort().values, order[v["valid_size"]:].sort().values
            if v.get("train_limit"):
                train_idx = train_idx[: v["train_limit"]]
            perm = self.permutation
            self._splits = {
                "train": PixelDataset(images[train_idx], labels[train_idx], perm),
                "valid": PixelDataset(images[valid_idx], labels[valid_idx], perm),
                "test": PixelDataset(*data["test"], perm),
            }
        return self._splits

    def dataset(self, split: str) -> PixelDataset:
        self.check_split(split)
        return self._load()[split]

    def loss(self, output, batch):
        return F.cross_entropy(output, batch["y"])

    def statistics(self, output, batch):
        out = output.detach()
        n = torch.tensor(float(len(batch["y"])), device=out.device)
        return {"nll": (F.cross_entropy(out, batch["y"], reduction="sum"), n),
                "accuracy": ((out.argmax(-1) == batch["y"]).sum().float(), n)}

    def compute_metrics(self, totals):
        m = super().compute_metrics(totals)
        if "accuracy" in m:
            m["accuracy"] *= 100.0  # the paper reports percent
        return m


class PermutedMNIST(SequentialMNIST):
    """Sequential MNIST with the 784 pixels in one fixed random order.

    The permutation is drawn from ``permutation_seed`` (CPU generator, so the same on every
    platform) and exposed as ``task.permutation`` (784 int64) for the run to save; pass
    ``permutation`` (a sequence of 784 indices) to reuse a saved one.
    """

    name = "pmnist"
    permuted = True

    def __init__(self, data_dir=None, permutation_seed: int = 1111, permutation=None, **variant) -> None:
        super().__init__(data_dir, **variant)
        self.variant["permutation_seed"] = permutation_seed
        if permutation is None:
            perm = torch.randperm(784, generator=torch.Generator().manual_seed(permutation_seed))
        else:
            perm = torch.as_tensor(permutation, dtype=torch.long).reshape(-1)
            if sorted(perm.tolist()) != list(range(784)):
                raise ValueError("pmnist: permutation must hold each of 0..783 exactly once")
        self.permutation = perm
