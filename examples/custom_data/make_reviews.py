"""Write the text example of README's "Your own data" section: SYNTHESISED movie reviews
(seeded numpy, no download, no licence to worry about), the kind of table a spam or
sentiment lecture starts from.

* ``reviews.csv`` - 2,000 reviews: ``review_id``, ``review`` (two to six sentences) and
  ``label`` (``positive`` or ``negative``). Each review holds one to three opinions
  ("the pacing was dull.", "the cast was not funny."), among sentences that say nothing
  of the film's worth; the label is the sign of the opinions' sum, and "not" flips the
  opinion it stands in. A bag of words (a logistic regression on word counts) gets about
  three reviews in four right; the rest need the word order: which opinion "not" stands in.
* ``new_reviews.csv`` - five new reviews without labels, to predict.

Usage: ``python examples/custom_data/make_reviews.py [OUT_DIR]`` (default: this folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

POSITIVE = ["good", "great", "wonderful", "moving", "funny", "brilliant", "enjoyable", "clever"]
NEGATIVE = ["bad", "boring", "dull", "awful", "predictable", "weak", "tedious", "clumsy"]
SUBJECTS = ["the plot", "the acting", "the ending", "the soundtrack", "the dialogue", "the cast", "the pacing",
            "this film", "the script", "the camera work"]
NEUTRAL = ["I watched it on a Sunday afternoon.", "My sister recommended it.", "It runs a little over two hours.",
           "The cinema was half empty.", "I went in knowing nothing about it.", "It is based on a novel.",
           "We saw the late showing.", "The director's previous film came out in 2019.",
           "There is a short scene after the credits.", "I had popcorn."]


def review(rng: np.random.Generator) -> tuple[str, str]:
    """One review and its label; the opinions never cancel out."""
    while True:
        sentences, score = [], 0
        for _ in range(int(rng.integers(1, 4))):
            positive = bool(rng.random() < 0.5)
            negated = bool(rng.random() < 0.25)
            word = rng.choice(POSITIVE if positive else NEGATIVE)
            subject = rng.choice(SUBJECTS)
            sentences.append(f"{subject} was {'not ' if negated else ''}{word}.")
            score += 1 if positive != negated else -1
        if score != 0:
            break
    sentences += list(rng.choice(NEUTRAL, size=int(rng.integers(1, 4)), replace=False))
    rng.shuffle(sentences)
    text = " ".join(s[0].upper() + s[1:] for s in sentences)
    return text, "positive" if score > 0 else "negative"


def main(out_dir: Path) -> None:
    rng = np.random.default_rng(7)
    rows = [review(rng) for _ in range(2000)]
    frame = pd.DataFrame({"review_id": [f"r{i:04d}" for i in range(len(rows))],
                          "review": [r[0] for r in rows], "label": [r[1] for r in rows]})
    frame.to_csv(out_dir / "reviews.csv", index=False)
    new = ["The acting was brilliant. I had popcorn.",
           "The plot was not clever and the pacing was tedious.",
           "The ending was not bad at all.",
           "Gorgeous, heartfelt, unforgettable!",
           "The script was weak. The cast was wonderful. The soundtrack was great."]
    pd.DataFrame({"review_id": [f"n{i}" for i in range(len(new))], "review": new}).to_csv(
        out_dir / "new_reviews.csv", index=False)
    print(f"wrote reviews.csv ({len(frame)} reviews, {(frame['label'] == 'positive').mean():.0%} positive) "
          f"and new_reviews.csv ({len(new)}) to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
