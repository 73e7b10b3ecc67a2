"""The linear models on top of features (MiniRocket's, TF-IDF's), each regularised by the
value of a grid that scores best on the validation split, and fitted on the train split only.

Classes: a multinomial logistic regression (class probabilities from its own likelihood,
for the NLL), chosen on the validation NLL. Numbers: ridge regression of the standardised
targets, chosen on the validation MSE. The loss chosen on is the one the models' checkpoints
are chosen on.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .base import Skipped

SEED = 0


def class_log_probabilities(probabilities: np.ndarray, fitted_classes, n_classes: int) -> torch.Tensor:
    """(N, n_classes) log-probabilities in the task's class order from a scikit-learn
    ``predict_proba`` over ``fitted_classes`` (the class indices the train split held).

    A class the train split lacks gets probability 0, floored like scikit-learn's log loss
    (the machine epsilon) so its NLL is large and finite, then rows are renormalised.
    """
    full = np.zeros((len(probabilities), n_classes))
    full[:, np.asarray(fitted_classes, dtype=int)] = probabilities
    full = np.clip(full, np.finfo(np.float64).eps, None)
    full /= full.sum(1, keepdims=True)
    return torch.as_tensor(np.log(full))


def _choose(grid, fit, valid_loss):
    """``(value, model)``: the grid value whose fitted model has the lowest validation loss
    (the first of ties, so the grid's order breaks them)."""
    best = None
    for value in grid:
        model = fit(value)
        loss = valid_loss(model)
        if best is None or loss < best[0]:
            best = (loss, value, model)
    return best[1], best[2]


def logistic(features: dict, y: dict, n_classes: int, grid) -> tuple[float, object, dict[str, torch.Tensor]]:
    """``(C, model, {split: class log-probabilities})`` for valid and test.

    Args:
        features: ``{split: (N, F) array}`` for train, valid and test.
        y: ``{split: (N,) class indices}``.
        n_classes: the task's classes (a class the train split lacks gets probability ~0).
        grid: the inverse regularisation strengths C tried.
    """
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y["train"])) < 2:
        raise Skipped("the train split holds one class only")

    def log_p(model, split):
        return class_log_probabilities(model.predict_proba(features[split]), model.classes_, n_classes)

    def nll(model):
        return -float(log_p(model, "valid")[np.arange(len(y["valid"])), torch.as_tensor(y["valid"])].mean())

    c, model = _choose(grid, lambda c: LogisticRegression(C=c, max_iter=2000, random_state=SEED)
                       .fit(features["train"], y["train"]), nll)
    return float(c), model, {s: log_p(model, s) for s in ("valid", "test")}


def ridge(features: dict, y: dict, grid) -> tuple[float, object, dict[str, torch.Tensor]]:
    """``(alpha, model, {split: predictions})`` for valid and test, shaped like ``y``'s items.

    Args:
        features: ``{split: (N, F) array}`` for train, valid and test.
        y: ``{split: (N, K) standardised targets}``.
        grid: the regularisation strengths alpha tried.
    """
    from scipy.linalg import LinAlgWarning
    from sklearn.linear_model import Ridge

    shape = y["valid"].shape[1:]

    def mse(model):
        return float(np.mean((model.predict(features["valid"]).reshape(y["valid"].shape) - y["valid"]) ** 2))

    def fit(alpha):
        # a weak alpha on collinear features (MiniRocket's thousands of them from a few hundred
        # sequences) solves an ill-conditioned system: scipy says so, and the validation MSE,
        # which picks alpha, already judges whether that fit is any good
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LinAlgWarning)
            return Ridge(alpha=alpha).fit(features["train"], y["train"])

    alpha, model = _choose(grid, fit, mse)
    return float(alpha), model, {s: torch.as_tensor(model.predict(features[s])).reshape((-1,) + shape)
                                 for s in ("valid", "test")}


def size(model) -> int:
    """The linear model's fitted numbers: weights and intercepts."""
    return int(np.size(model.coef_) + np.size(model.intercept_))
