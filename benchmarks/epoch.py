"""Is data ever the bottleneck? Where a training epoch of the adding task spends its time.

Runs the real training path (``seqbench.training.run``: Lightning, the task's loaders,
checkpoints every 100 steps, logging) for one epoch of the paper's adding configuration
(T=600, batch 32) and splits the epoch's wall time with a callback:

- **step**: from Lightning's ``on_train_batch_start`` to ``on_train_batch_end`` of each
  batch: forward, loss, backward, Adam, and Lightning's per-step work (logging, the
  periodic checkpoint);
- **between steps**: everything else from the first batch's start to the last batch's end:
  producing the next batch (sampler, gathering, collation) and the loop itself.

It then times the bare model step (zero_grad + forward + loss + backward + the same
fused Adam) in a plain loop over the same batches, so Lightning's own per-step cost shows
as the difference.

    python benchmarks/epoch.py                 # one epoch: 50,000 sequences, 1,563 steps
    python benchmarks/epoch.py --quick         # 2,000 sequences, 63 steps
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import lightning.pytorch as pl
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from seqbench.training import RunConfig, build_task  # noqa: E402
from seqbench.training.data import make_loader  # noqa: E402
from seqbench.training.module import make_optimizer  # noqa: E402
from seqbench.training import run  # noqa: E402


class SplitTimer(pl.Callback):
    """Wall time inside each training batch and between batches, first batch to last."""

    def __init__(self) -> None:
        self.inside, self.first, self.last, self.batches, self._start = 0.0, None, None, 0, 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self._start = time.perf_counter()
        if self.first is None:
            self.first = self._start

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.last = time.perf_counter()
        self.inside += self.last - self._start
        self.batches += 1


def bare_step_seconds(cfg: RunConfig, batches: int) -> float:
    """Seconds of ``batches`` bare model steps over the run's own training batches."""
    task = build_task(cfg.task, None, cfg.preset, **cfg.variant)
    torch.manual_seed(cfg.seed)
    model = task.build_model("tcn")
    opt = make_optimizer("adam", model.parameters(), 4e-3)
    total = 0.0
    for i, batch in enumerate(make_loader(task, "train", 32, cfg.seed)):
        if i == batches:
            break
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        task.loss(model(batch["x"]), batch).backward()
        opt.step()
        total += time.perf_counter() - t
    return total


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a 2,000-sequence training set (63 steps)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    variant = {"seq_len": 600, "train_size": 2_000 if a.quick else 50_000, "valid_size": 200, "test_size": 200}
    timer = SplitTimer()
    with tempfile.TemporaryDirectory() as out:
        cfg = RunConfig(task="adding", model="tcn", variant=variant, epochs=1, out=out, progress=False)
        t0 = time.perf_counter()
        run(cfg, callbacks=[timer])
        whole = time.perf_counter() - t0
    span = timer.last - timer.first
    between = span - timer.inside
    bare = bare_step_seconds(cfg, timer.batches)
    print(f"# adding T=600, one epoch of {variant['train_size']:,} sequences through seqbench.training.run; "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
    print(f"# {' '.join(sys.argv)}")
    print("| steps | first to last batch s | in steps s | between steps s | share between steps | "
          "bare model steps s | Lightning per-step overhead | whole run s (set-up, validation, test) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {timer.batches} | {span:.2f} | {timer.inside:.2f} | {between:.3f} | {between / span:.2%} | "
          f"{bare:.2f} | {(timer.inside - bare) / timer.inside:.1%} | {whole:.1f} |")


if __name__ == "__main__":
    main()
