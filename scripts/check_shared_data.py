"""Load the real dataset copies and print the counts the standard datasets must have.

Usage: PYTHONPATH=src python scripts/check_shared_data.py [DATA_DIR]   (default /work/shared/data)

Expected: MNIST 60,000 / 10,000; JSB 229/76/77 sequences; Nottingham 694/173/170;
PTB 929,589 / 73,760 / 82,430 tokens with a vocabulary of 10,000. Datasets whose files are
absent are reported as missing (never downloaded: download=False).
"""

from __future__ import annotations

import sys
import time

from seqbench import tasks
from seqbench.data import DataError


# the standard datasets' counts: (train, valid, test), train+valid for MNIST
EXPECTED = {
    "mnist": (60_000, 10_000),
    "jsb": (229, 76, 77),
    "nottingham": (694, 173, 170),
    "ptb": (929_589, 73_760, 82_430, 10_000),  # tokens incl. <eos>, vocabulary
}


def check_counts(data_dir: str) -> list[str]:
    """Counts that differ from :data:`EXPECTED` (datasets that are absent are skipped)."""
    wrong = []
    try:
        t = tasks.get("mnist", data_dir=data_dir, download=False)
        got = (len(t.dataset("train")) + len(t.dataset("valid")), len(t.dataset("test")))
        if got != EXPECTED["mnist"]:
            wrong.append(f"mnist {got} != {EXPECTED['mnist']}")
    except DataError:
        pass
    for name in ("jsb", "nottingham"):
        try:
            t = tasks.get(name, data_dir=data_dir, download=False)
            got = tuple(len(t.dataset(s)) for s in ("train", "valid", "test"))
            if got != EXPECTED[name]:
                wrong.append(f"{name} {got} != {EXPECTED[name]}")
        except DataError:
            pass
    try:
        t = tasks.get("ptb", data_dir=data_dir, download=False)
        got = tuple(len(t.tokens(s)) for s in ("train", "valid", "test")) + (len(t.vocabulary),)
        if got != EXPECTED["ptb"]:
            wrong.append(f"ptb {got} != {EXPECTED['ptb']}")
    except DataError:
        pass
    return wrong


def main(data_dir: str) -> int:

    def show(name, fn):
        t0 = time.perf_counter()
        try:
            print(f"{name:12s} {fn()}  ({time.perf_counter() - t0:.1f} s)")
        except DataError as e:
            print(f"{name:12s} unavailable: {e}")

    def mnist(name):
        t = tasks.get(name, data_dir=data_dir, download=False)
        tr, va, te = (t.dataset(s) for s in ("train", "valid", "test"))
        item = te[0]
        return (f"train+valid {len(tr) + len(va):,} (train {len(tr):,}, valid {len(va):,}), test {len(te):,}; "
                f"x {tuple(item['x'].shape)}, train pixel mean {float(tr.images.float().mean() / 255):.4f}")

    def music(name):
        t = tasks.get(name, data_dir=data_dir, download=False)
        ds = [t.dataset(s) for s in ("train", "valid", "test")]
        frames = [sum(len(x) + 1 for x in d.xs) for d in ds]
        return f"sequences {'/'.join(str(len(d)) for d in ds)}, frames {'/'.join(f'{f:,}' for f in frames)}"

    def lm(name):
        t = tasks.get(name, data_dir=data_dir, download=False)
        counts = [len(t.tokens(s)) for s in ("train", "valid", "test")]
        ds = t.dataset("test")
        return (f"tokens {' / '.join(f'{c:,}' for c in counts)}, vocabulary {len(t.vocabulary):,}; "
                f"test windows {len(ds):,} scoring {ds.scored_tokens:,} tokens")

    def lm_eval_only(name):
        t = tasks.get(name, data_dir=data_dir, download=False)
        out = []
        for s in ("valid", "test"):
            try:
                ds = t.dataset(s)
                out.append(f"{s} {len(ds):,} items")
            except DataError as e:
                out.append(f"{s} unavailable ({type(e).__name__})")
        return ", ".join(out) + f"; vocabulary {len(t.vocabulary):,}" if t.has_vocabulary else ", ".join(out)

    show("mnist", lambda: mnist("mnist"))
    show("pmnist", lambda: mnist("pmnist"))
    for name in ("jsb", "nottingham", "muse", "piano"):
        show(name, lambda name=name: music(name))
    for name in ("ptb", "ptb_char", "text8", "wikitext103"):
        show(name, lambda name=name: lm(name))
    show("lambada", lambda: lm_eval_only("lambada"))
    show("wikitext2", lambda: lm_eval_only("wikitext2"))
    wrong = check_counts(data_dir)
    print("counts match the standard datasets" if not wrong else "MISMATCH: " + "; ".join(wrong))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"))
