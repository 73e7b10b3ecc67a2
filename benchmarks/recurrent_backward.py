"""How much the whole-sequence CPU backward of ``seqbench.nn.recurrent_cpu`` saves.

Times one training step (zero_grad + forward + loss + backward + Adam) of the paper's
parameter-matched GRU and RNN baselines, each built twice from the same weights: with
seqbench's backward (``Recurrent(..., cpu_sequence_backward=True)``, the default) and with
torch's own (``False``). The LSTM of the same parameter count (torch's fused oneDNN kernel)
is timed beside them for scale. Before timing, the two GRU (RNN) variants' gradients are
checked to agree.

Rounds alternate the order (A B C, then C B A); each round forms the ratio
torch / seqbench, and the median over rounds is printed ("2.1x" = torch's backward takes
2.1 times as long). Absolute times on shared VMs drift; only the interleaved ratios count.

    python benchmarks/recurrent_backward.py             # music (B=1, T=200) and adding (B=32, T=600) shapes
    python benchmarks/recurrent_backward.py --quick     # fewer rounds and steps
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from seqbench import tasks  # noqa: E402
from seqbench.nn import Recurrent  # noqa: E402


def _matched(task: str, **variant) -> tuple[int, dict[str, int]]:
    """The task's input size and its paper preset's parameter-matched hidden sizes (no data read)."""
    t = tasks.get(task, **variant)
    return t.input_size, {kind: t.build_model(kind).encoder.hidden_size for kind in ("gru", "rnn", "lstm")}


# (name, batch, steps, input size, {kind: hidden size})
CONFIGS = [
    ("nottingham", 1, 200, *_matched("nottingham")),
    ("adding T=600", 32, 600, *_matched("adding", seq_len=600)),
]


def make_step(model: Recurrent, x: torch.Tensor):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    head = torch.nn.Linear(model.output_size, 1)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        head(model(x)).square().mean().backward()
        opt.step()

    return step


def seconds(step, reps: int) -> float:
    t = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - t) / reps


def check_same_gradients(a: Recurrent, b: Recurrent, x: torch.Tensor) -> None:
    a(x).square().sum().backward()
    b(x).square().sum().backward()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=lambda m, name=name: f"{name}: {m}")
        p.grad = q.grad = None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 rounds of 2 steps")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: as the reproduction runs, two at a time)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    rounds, reps = (3, 2) if a.quick else (a.rounds, 5)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {rounds} rounds of {reps} steps")
    print(f"{'shape':14s} {'model':5s} {'params':>8s} {'seqbench ms':>12s} {'torch ms':>9s} {'speed-up':>9s} {'LSTM ms':>8s}")
    for name, batch, steps, inputs, hidden in CONFIGS:
        torch.manual_seed(0)
        x = torch.randn(batch, steps, inputs)
        lstm = Recurrent("lstm", inputs, hidden["lstm"])
        lstm_step = make_step(lstm, x)
        for kind in ("gru", "rnn"):
            ours = Recurrent(kind, inputs, hidden[kind])
            theirs = Recurrent(kind, inputs, hidden[kind], cpu_sequence_backward=False)
            theirs.load_state_dict(ours.state_dict())
            check_same_gradients(ours, theirs, x)
            steps_ = {"ours": make_step(ours, x), "torch": make_step(theirs, x), "lstm": lstm_step}
            for f in steps_.values():
                f()  # warm-up
            times = {k: [] for k in steps_}
            for r in range(rounds):
                order = list(steps_) if r % 2 == 0 else list(steps_)[::-1]
                for k in order:
                    times[k].append(seconds(steps_[k], reps))
            ratio = statistics.median(t / o for t, o in zip(times["torch"], times["ours"]))
            params = sum(q.numel() for q in ours.parameters())
            ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
            print(f"{name:14s} {kind:5s} {params:8,d} {ms['ours']:12.1f} {ms['torch']:9.1f} {ratio:8.2f}x {ms['lstm']:8.1f}")


if __name__ == "__main__":
    main()
