"""The large corpora (Wikitext-103, LAMBADA, text8) on a small slice: data path, evaluation,
and what the paper's protocol would cost on this machine.

For each corpus, with the data under DATA_DIR (never downloaded here):
  1. load the validation and test splits (or say exactly which files are missing);
  2. evaluate the paper-size TCN, untrained, on the first ``--items`` items of each
     split through the same task statistics the training path uses (an untrained model
     with the preset's initialisation scores about ln V nats per token: the point is that
     the path runs end to end on the real files);
  3. time training steps of the paper's shape (batch x window of random token ids, SGD)
     and extrapolate one epoch of the paper's training corpus at that speed.

Writes a markdown table to stdout and the numbers to ``--json``.

    PYTHONPATH=src python scripts/large_corpora.py --data-dir ../shared/data --json docs/results/large_corpora.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import torch

from seqbench import paper, tasks
from seqbench.data import DataError

# training-corpus sizes in tokens (words, or characters for text8), from the corpora's papers
TRAIN_TOKENS = {"wikitext103": 103_227_021, "lambada": 203_000_000, "text8": 90_000_000}


def evaluate_slice(task, model, split: str, items: int) -> dict:
    ds = task.dataset(split)
    n = min(items, len(ds))
    batch = task.collate([ds[i] for i in range(n)])
    model.eval()
    with torch.no_grad():
        stats = task.statistics(model(batch["x"], batch.get("mask")), batch)
    totals = {k: (float(s.double().sum()), float(torch.as_tensor(c).double().sum())) for k, (s, c) in stats.items()}
    return {"items": n, "of": len(ds), **task.compute_metrics(totals)}


def time_training_steps(task, model, steps: int) -> float:
    """Median seconds of one SGD step on a (batch, window) of random token ids."""
    p = task.presets["paper"]
    b, t, scored = p.batch_size, task.variant["seq_len"], task.variant["valid_seq_len"]
    opt = torch.optim.SGD(model.parameters(), lr=p.lr)
    model.train()
    times = []
    for _ in range(steps):
        x = torch.randint(0, task.input_size, (b, t))
        batch = {"x": x, "y": torch.roll(x, -1, 1), "target_mask": torch.arange(t).expand(b, t) >= t - scored}
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        task.loss(model(x), batch).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--items", type=int, default=20, help="items of each split to evaluate")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--json", default=None, help="write the numbers here (rows of other corpora already there are kept)")
    parser.add_argument("--corpora", default="wikitext103,lambada,text8", help="comma-separated subset")
    args = parser.parse_args(argv)
    torch.set_flush_denormal(True)  # as the training path does on the CPU
    rows = []
    for name in args.corpora.split(","):
        task = tasks.get(name, data_dir=args.data_dir, download=False)
        row = {"task": name, "paper_tcn": paper.RESULTS[name][3].get("tcn"), "metric": paper.RESULTS[name][0]}
        try:
            task.dataset("valid")  # the vocabulary is read before the model is sized
            torch.manual_seed(0)
            untrained = task.build_model("tcn", "paper")
            row["valid"] = evaluate_slice(task, untrained, "valid", args.items)
            row["test"] = evaluate_slice(task, untrained, "test", args.items)
            row["data"] = "present"
        except DataError as e:
            row["data"] = f"absent: {e}"
        torch.manual_seed(0)
        model = task.build_model("tcn", "paper")  # sized from the local vocabulary, or the paper's
        row["parameters"] = model.num_parameters()
        row["vocabulary"] = task.input_size
        step_s = time_training_steps(task, model, args.steps)
        p = task.presets["paper"]
        per_step = p.batch_size * task.variant["valid_seq_len"]  # each training target is scored once
        row.update(step_s=step_s, tokens_per_step=per_step,
                   epoch_hours=TRAIN_TOKENS[name] / per_step * step_s / 3600, threads=torch.get_num_threads())
        rows.append(row)
        print(f"{name}: done", flush=True)

    if args.json and os.path.exists(args.json):
        with open(args.json) as f:
            done = {r["task"]: r for r in json.load(f)}
        done.update({r["task"]: r for r in rows})
        rows = list(done.values())
    print("\n| corpus | data here | vocabulary | TCN parameters | untrained TCN on a slice, nats/token (valid / test) "
          "| paper TCN | one training step (paper shape) | one epoch at that speed |")
    print("|---|---|---:|---:|---|---:|---:|---:|")
    for r in rows:
        if r["data"] == "present":
            ev = " / ".join(f"{r[s]['nll']:.2f} ({r[s]['items']} of {r[s]['of']:,} items)" for s in ("valid", "test"))
            ev += f"; ln V = {math.log(r['vocabulary']):.2f}"
        else:
            ev = "-"
        data = "yes" if r["data"] == "present" else "no"
        print(f"| {r['task']} | {data} | {r['vocabulary']:,} | {r['parameters']:,} | {ev} | {r['paper_tcn']} | "
              f"{r['step_s']:.2f} s | {r['epoch_hours']:,.0f} h |")
    for r in rows:
        if r["data"] != "present":
            print(f"\n{r['task']}: {r['data']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
