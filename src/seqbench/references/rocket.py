"""MiniRocket references for numeric sequences, one label (or value) per sequence.

MiniRocket (aeon) turns each sequence into about 10,000 features (the proportion of positive
values of fixed dilated convolutions, with biases fitted on the train split); a linear model
on the standardised features classifies or regresses. Classes come from a logistic
regression rather than the usual ridge classifier because the table needs class
probabilities for the NLL, and a logistic regression gives them from its own likelihood
(a calibrated ridge would need cross-validation folds inside small train splits). The
regularisation strength is the one of a small grid that scores best on the validation split
(its NLL, or its MSE for numbers); the fit uses the train split only.

aeon 1.6's MiniRocket needs equal lengths (its ``capability:unequal_length`` is False), so
sequences are right-padded with zeros (the train mean of each standardised feature) to the
longest train sequence (at least 9 steps, MiniRocket's shortest), and a longer valid or test
sequence keeps its first steps.
"""

from __future__ import annotations

import numpy as np
import torch

from . import linear
from .base import Fitted, require, split_items, version_of

MIN_LENGTH = 9                           # MiniRocket's shortest input
C_GRID = np.logspace(-4, 2, 7)           # logistic regression on standardised features
ALPHA_GRID = np.logspace(-1, 5, 7)       # ridge on standardised features (about 10,000 of them)


def panel(items, length: int) -> tuple[np.ndarray, list[int]]:
    """(N, C, length) float64 array of items' ``x`` (T, C), zero-padded or cut; and their lengths."""
    n_channels = items[0]["x"].shape[-1]
    out = np.zeros((len(items), n_channels, length))
    lengths = []
    for i, item in enumerate(items):
        x = item["x"].numpy()
        lengths.append(len(x))
        out[i, :, : min(len(x), length)] = x[:length].T
    return out, lengths


def features(task) -> tuple[dict, dict, dict]:
    """``(features, targets, settings)``: MiniRocket features of every split (fitted on train,
    then standardised with train statistics), every split's targets, and what was done."""
    from aeon.transformations.collection.convolution_based import MiniRocket
    from sklearn.preprocessing import StandardScaler

    items = {split: split_items(task, split) for split in ("train", "valid", "test")}
    length = max(MIN_LENGTH, max(len(it["x"]) for it in items["train"]))
    panels = {split: panel(its, length) for split, its in items.items()}
    rocket = MiniRocket(random_state=linear.SEED, n_jobs=1)
    train = rocket.fit_transform(panels["train"][0])
    scaler = StandardScaler().fit(train)
    out = {"train": scaler.transform(train)}
    for split in ("valid", "test"):
        out[split] = scaler.transform(rocket.transform(panels[split][0]))
    lengths = [n for _, ns in panels.values() for n in ns]
    settings = {"features": out["train"].shape[1], "length": length, "padded": sum(n < length for n in lengths),
                "cut": sum(n > length for n in lengths), "random_state": linear.SEED}
    targets = {split: torch.stack([it["y"] for it in its]).numpy() for split, its in items.items()}
    return out, targets, settings


def minirocket_classifier(task, season=None) -> Fitted:
    """MiniRocket features + a multinomial logistic regression, C chosen on the validation NLL."""
    require("aeon", "sklearn")
    x, y, settings = features(task)
    c, model, outputs = linear.logistic(x, y, len(task.spec.classes), C_GRID)
    return Fitted("MiniRocket + logistic regression", outputs,
                  parameters=settings["features"] + linear.size(model),   # the biases MiniRocket fits, and the weights
                  settings={**settings, "C": c, "C_grid": C_GRID.tolist(), "chosen_by": "valid nll"},
                  library={"aeon": version_of("aeon"), "scikit-learn": version_of("sklearn")})


def minirocket_regressor(task, season=None) -> Fitted:
    """MiniRocket features + ridge regression of the standardised targets, alpha chosen on the validation MSE."""
    require("aeon", "sklearn")
    x, y, settings = features(task)
    alpha, model, outputs = linear.ridge(x, y, ALPHA_GRID)
    return Fitted("MiniRocket + ridge", outputs, parameters=settings["features"] + linear.size(model),
                  settings={**settings, "alpha": alpha, "alpha_grid": ALPHA_GRID.tolist(), "chosen_by": "valid mse"},
                  library={"aeon": version_of("aeon"), "scikit-learn": version_of("sklearn")})
