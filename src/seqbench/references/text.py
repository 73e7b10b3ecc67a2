"""Bag-of-words references for texts: TF-IDF + logistic regression (classes) or + ridge (numbers).

They read the texts as the models do: the task's token ids (train-split vocabulary, unknown
id for unseen tokens, cut to ``max_length``), so the reference and the models see the same
inputs. Features are TF-IDF weights (sublinear term frequency, unit-norm rows) of word
unigrams and bigrams, or of character 1- to 4-grams for character tokens, fitted on the
train split; the linear model is :mod:`.linear`'s, regularised as chosen on validation.
"""

from __future__ import annotations

import numpy as np
import torch

from . import linear
from .base import Fitted, require, split_items, version_of

NGRAMS = {"word": (1, 2), "char": (1, 4)}
# unit-norm TF-IDF rows need weaker regularisation than standardised features
C_GRID = np.logspace(-2, 4, 7)
ALPHA_GRID = np.logspace(-4, 2, 7)


def documents(task, split: str) -> tuple[list[str], np.ndarray]:
    """The split's texts as space-separated token ids, and their targets."""
    items = split_items(task, split)
    return [" ".join(map(str, it["x"].tolist())) for it in items], torch.stack([it["y"] for it in items]).numpy()


def features(task) -> tuple[dict, dict, dict]:
    """``(features, targets, settings)``: every split's TF-IDF rows (vocabulary and weights
    fitted on train), its targets, and what was done."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    encoder = task.spec.text_encoder
    tokens = encoder.tokens if encoder is not None else "word"
    vectorizer = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False,
                                 ngram_range=NGRAMS[tokens], sublinear_tf=True)
    docs = {split: documents(task, split) for split in ("train", "valid", "test")}
    x = {"train": vectorizer.fit_transform(docs["train"][0])}
    x.update({s: vectorizer.transform(docs[s][0]) for s in ("valid", "test")})
    settings = {"tokens": tokens, "ngrams": list(NGRAMS[tokens]), "features": len(vectorizer.vocabulary_),
                "sublinear_tf": True}
    return x, {s: d[1] for s, d in docs.items()}, settings


def tfidf_logreg(task, season=None) -> Fitted:
    """TF-IDF + multinomial logistic regression, C chosen on the validation NLL."""
    require("sklearn")
    x, y, settings = features(task)
    c, model, outputs = linear.logistic(x, y, len(task.spec.classes), C_GRID)
    return Fitted("TF-IDF + logistic regression", outputs,
                  parameters=settings["features"] + linear.size(model),   # the idf weights, and the model's
                  settings={**settings, "C": c, "C_grid": C_GRID.tolist(), "chosen_by": "valid nll"},
                  library={"scikit-learn": version_of("sklearn")})


def tfidf_ridge(task, season=None) -> Fitted:
    """TF-IDF + ridge regression of the standardised targets, alpha chosen on the validation MSE."""
    require("sklearn")
    x, y, settings = features(task)
    alpha, model, outputs = linear.ridge(x, y, ALPHA_GRID)
    return Fitted("TF-IDF + ridge", outputs, parameters=settings["features"] + linear.size(model),
                  settings={**settings, "alpha": alpha, "alpha_grid": ALPHA_GRID.tolist(), "chosen_by": "valid mse"},
                  library={"scikit-learn": version_of("sklearn")})
