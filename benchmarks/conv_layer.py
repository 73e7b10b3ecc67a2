"""How close one TCN layer's convolution gets to the machine's matmul peak.

Times forward + backward (grad-input, grad-weight, grad-bias) of one ``padded_conv1d``
layer of the seq-MNIST shape (B=64, T=784, k=7, batch-first memory, as the TCN runs it)
for several channel widths and dilations, interleaved with a 2048^3 float32 matmul, and
prints useful GFLOP/s (3 x 2 x B x T x C^2 x k per step, outputs that are kept only) and
that as a fraction of the matmul peak of the same run. The training-step floor of
``train_step.py`` assumes the convolutions run at the matmul peak; this says how far the
convolution kernels themselves are from it.

    python benchmarks/conv_layer.py [--widths 16,25,32,48] [--dilations 1,4,32,128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from seqbench.nn.functional import padded_conv1d  # noqa: E402

B, T, K = 64, 784, 7


def layer_seconds(c: int, d: int, reps: int = 3) -> float:
    """Fastest of ``reps`` forward + backward passes of one layer with ``c`` channels, dilation ``d``."""
    x = torch.randn(B, T, c).transpose(1, 2).requires_grad_()
    w = torch.randn(c, c, K, requires_grad=True)
    b = torch.randn(c, requires_grad=True)
    g = torch.randn(B, T, c).transpose(1, 2)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        padded_conv1d(x, w, b, d, (K - 1) * d, 0).backward(g)
        best = min(best, time.perf_counter() - t)
    return best


def matmul_gflops(n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = time.perf_counter()
    torch.mm(a, b)
    return 2 * n**3 / (time.perf_counter() - t) / 1e9


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", default="16,25,32,48")
    p.add_argument("--dilations", default="1,4,32,128")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    widths = [int(w) for w in a.widths.split(",")]
    dilations = [int(d) for d in a.dilations.split(",")]
    times = {(c, d): [] for d in dilations for c in widths}
    peaks = []
    for r in range(a.rounds):
        keys = list(times) if r % 2 == 0 else list(times)[::-1]
        for key in keys:
            times[key].append(layer_seconds(*key))
        peaks.append(matmul_gflops())
    peak = statistics.median(peaks)
    print(f"# one layer, B={B} T={T} k={K}: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; matmul peak {peak:.0f} GFLOP/s (median of {a.rounds})")
    print("| channels | dilation | forward + backward ms | useful GFLOP/s | of matmul peak |")
    print("|---|---|---|---|---|")
    for (c, d), v in times.items():
        s = statistics.median(v)
        gf = 3 * 2 * B * T * c * c * K / s / 1e9
        print(f"| {c} | {d} | {s * 1e3:.1f} | {gf:.0f} | {gf / peak:.0%} |")


if __name__ == "__main__":
    main()
