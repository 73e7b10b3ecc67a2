"""Is data ever the bottleneck? Share of a training epoch on the adding task spent outside the model step.

The loop here is the plain one a trainer runs over the task's in-memory tensors:
shuffle indices, gather a batch, move it through the model step (zero_grad + forward +
loss + backward + Adam). It builds its own loop because the Lightning training path is a
separate piece of work; what it measures - the cost of producing batches from the task's
``TensorDictDataset`` - is the same either way.

    python benchmarks/epoch.py                  # 200 batches of the paper configuration
    python benchmarks/epoch.py --quick          # 30 batches
    python benchmarks/epoch.py --batches 0      # a whole epoch (50,000 samples)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from seqbench.tasks.synthetic import AddingProblem  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=200, help="batches to run (0 = a whole epoch)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--quick", action="store_true", help="30 batches of a 2,000-sample training set")
    a = p.parse_args(argv)
    train_size = 2_000 if a.quick else 50_000
    task = AddingProblem(seq_len=600, train_size=train_size)
    t0 = time.perf_counter()
    data = task.dataset("train")
    make_s = time.perf_counter() - t0
    model = task.build_model("tcn")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n_batches = len(data) // a.batch_size
    if a.quick:
        n_batches = min(n_batches, 30)
    elif a.batches:
        n_batches = min(n_batches, a.batches)
    model.train()
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    step_s = 0.0
    start = time.perf_counter()
    for i in range(n_batches):
        idx = order[i * a.batch_size : (i + 1) * a.batch_size]
        batch = task.collate([data[int(j)] for j in idx])  # the per-item path a DataLoader takes
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = task.loss(model(batch["x"]), batch)
        loss.backward()
        opt.step()
        step_s += time.perf_counter() - t
    total_s = time.perf_counter() - start
    outside = total_s - step_s
    print(f"# adding T=600, {len(data):,} training samples generated in {make_s:.2f} s (once per run); "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"# {' '.join(sys.argv)}")
    print("| batches | epoch-loop s | model step s | outside the step s | share outside |")
    print("|---|---|---|---|---|")
    print(f"| {n_batches} | {total_s:.2f} | {step_s:.2f} | {outside:.3f} | {outside / total_s:.2%} |")
    print(f"# final batch loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
