"""The two per-op levers of a small TCN step (JSB at batch 1), each against what it replaces.

- dropout: ``seqbench.nn.functional.dropout`` (mask drawn as ``rand >= p``) against
  ``F.dropout`` (CPU ``bernoulli_``), forward + backward, at a JSB activation (1 x 150 x 100);
- dilated bias: ``padded_conv1d`` at small work (a dilated layer without bias, then one
  broadcast add) against ``F.conv1d`` with the bias (ATen's CPU dilated kernel adds it one
  output channel at a time), forward + backward, JSB's second level (150 channels, d=2).

Interleaved rounds, order alternating; prints the median per-round ratio (old / new, above
1 means the lever pays) and the median time of each.

    python benchmarks/small_ops.py [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from seqbench.nn.functional import dropout, padded_conv1d, reference_conv1d  # noqa: E402

REPS = 20


def _timed(fn) -> float:
    t = time.perf_counter()
    for _ in range(REPS):
        fn()
    return (time.perf_counter() - t) / REPS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x = torch.randn(1, 150, 100, requires_grad=True)
    xp = torch.randn(1, 150, 100, requires_grad=True)
    w = torch.randn(150, 150, 3, requires_grad=True)
    b = torch.randn(150, requires_grad=True)
    pairs = {
        "dropout p=0.5": (lambda: F.dropout(x, 0.5, True).sum().backward(),
                          lambda: dropout(x, 0.5, True).sum().backward()),
        "dilated conv + bias": (lambda: reference_conv1d(xp, w, b, 2, 4).sum().backward(),
                                lambda: padded_conv1d(xp, w, b, 2, 4).sum().backward()),
    }
    print(f"# torch {torch.__version__}, {a.threads} thread(s), {a.rounds} rounds x {REPS} calls")
    print("| op | old us | new us | old / new (median per round) |")
    print("|---|---:|---:|---:|")
    for name, (old, new) in pairs.items():
        old(), new()  # warm-up
        times = {"old": [], "new": []}
        for r in range(a.rounds):
            for key, fn in ((("old", old), ("new", new)) if r % 2 else (("new", new), ("old", old))):
                times[key].append(_timed(fn))
        ratio = statistics.median(o / n for o, n in zip(times["old"], times["new"]))
        print(f"| {name} | {statistics.median(times['old']) * 1e6:.0f} | "
              f"{statistics.median(times['new']) * 1e6:.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
