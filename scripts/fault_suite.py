"""The slow fault suite: faults caused for real, from outside the training process.

    PYTHONPATH=src python scripts/fault_suite.py [--data-dir ../shared/data] [--json faults.json]

Each fault runs ``seqbench`` as a user would (a subprocess) and checks what the user sees:
the exit status, a one-line error without a traceback, and that nothing was lost (a
resumed run ends with the same metrics as an uninterrupted one; the previous checkpoint
survives a full disk). It prints one row per fault and exits 1 when any outcome was not
the expected one. Faults that need root (a tmpfs, a read-only mount) are skipped without it.

The fast versions of these checks, and the crafted-checkpoint checks, are in tests/test_faults.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# long enough (about 250 steps) that a signal lands mid-epoch, short enough for a few seconds a run
TRAIN = ["train", "adding", "--seq-len", "40", "--variant", "train_size=2000", "--variant", "valid_size=64",
         "--variant", "test_size=64", "--hidden", "8", "--levels", "3", "--kernel-size", "3", "--epochs", "2",
         "--batch-size", "16", "--checkpoint-every", "10", "--no-progress", "--threads", "1"]


@dataclass
class Outcome:
    fault: str
    expected: str
    got: str
    ok: bool


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child: Ctrl-C's default (a shell's background job starts with it ignored, and
    Python then never turns it into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def seqbench(args: list[str], wait: bool = True, timeout: float = 600):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "seqbench.cli", *args]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_ctrl_c_as_in_a_terminal)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def one_line_error(proc) -> bool:
    err = proc.stderr.strip()
    return err.startswith("error:") and "\n" not in err and "Traceback" not in err


def result_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def same_training(a: dict, b: dict) -> bool:
    return a["metrics"] == b["metrics"] and [h["train_loss"] for h in a["history"]] == \
        [h["train_loss"] for h in b["history"]]


def wait_for_checkpoint(run_dir: Path, proc, min_step: int = 30, timeout: float = 300) -> None:
    """Until the run has written a mid-epoch checkpoint at or after ``min_step`` steps."""
    sys.path.insert(0, str(ROOT / "src"))
    from seqbench.training.load import read_checkpoint

    last, t0 = run_dir / "checkpoints" / "last.ckpt", time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the run ended before it could be interrupted: {proc.stderr.read()[-500:]}")
        try:
            if read_checkpoint(last)["global_step"] >= min_step:
                return
        except Exception:  # not there yet
            pass
        time.sleep(0.05)
    raise TimeoutError("no checkpoint appeared")


def reference(work: Path) -> dict:
    """The uninterrupted run every interrupted one must end up equal to."""
    proc = seqbench([*TRAIN, "--out", str(work / "straight"), "--name", "r"])
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed: {proc.stderr[-1000:]}")
    return result_of(work / "straight" / "r")


def killed_then_resumed(work: Path, straight: dict, sig: int) -> Outcome:
    name = signal.Signals(sig).name
    out = work / name.lower()
    proc = seqbench([*TRAIN, "--out", str(out), "--name", "r"], wait=False)
    wait_for_checkpoint(out / "r", proc)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    err = proc.stderr.read().strip()
    expected_code = -9 if sig == signal.SIGKILL else 143
    stopped_well = proc.returncode == expected_code and (sig == signal.SIGKILL or "--resume" in err)
    again = seqbench([*TRAIN, "--out", str(out), "--name", "r", "--resume"])
    same = again.returncode == 0 and same_training(result_of(out / "r"), straight)
    got = f"exit {proc.returncode}" + (f" ({err.splitlines()[-1][:90]})" if err else "") + \
        f"; --resume exit {again.returncode}, {'same' if same else 'DIFFERENT'} metrics and losses"
    return Outcome(f"{name} mid-epoch, then --resume", f"exit {expected_code}, resume equals an uninterrupted run",
                   got, stopped_well and same)


def two_processes(work: Path) -> Outcome:
    out = work / "two"
    longer = [*TRAIN, "--epochs", "8"]  # still training while the second process starts (Python, torch: seconds)
    first = seqbench([*longer, "--out", str(out), "--name", "r"], wait=False)
    wait_for_checkpoint(out / "r", first, min_step=10)
    second = seqbench([*longer, "--out", str(out), "--name", "r", "--overwrite"])
    overlapped = first.poll() is None
    first.wait(timeout=600)
    refused = second.returncode == 1 and one_line_error(second) and "in use by another" in second.stderr
    sys.path.insert(0, str(ROOT / "src"))
    from seqbench.training.load import read_checkpoint

    intact = first.returncode == 0 and result_of(out / "r")["epochs"] == 8 and \
        read_checkpoint(out / "r" / "checkpoints" / "best.ckpt")["hyper_parameters"]["run_config"]["epochs"] == 8
    return Outcome("a second process on the same run directory (with --overwrite)",
                   "second exits 1; the first finishes unharmed",
                   f"second: exit {second.returncode} ({second.stderr.strip()[:100]}); first: exit "
                   f"{first.returncode}, {'complete' if intact else 'DAMAGED'} result and checkpoints"
                   + ("" if overlapped else "; NOT CONCURRENT (the first ended first)"),
                   refused and intact and overlapped)


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def read_only(work: Path) -> Outcome | None:
    mnt = work / "ro"
    if os.geteuid() == 0:
        if not _mount_tmpfs(mnt, "ro,size=1m"):
            return None
    else:
        mnt.mkdir()
        mnt.chmod(0o555)
    try:
        proc = seqbench([*TRAIN, "--out", str(mnt / "runs"), "--name", "r"])
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(mnt)])
    return Outcome("read-only output directory", "exit 1, one line naming the directory",
                   f"exit {proc.returncode}: {proc.stderr.strip()[:120]}",
                   proc.returncode == 1 and one_line_error(proc) and "cannot write the run directory" in proc.stderr)


def full_disk(work: Path, straight: dict) -> Outcome | None:
    """The disk fills while a run trains: the checkpoint write fails, the previous one survives."""
    if os.geteuid() != 0:
        return None
    mnt = work / "small"
    if not _mount_tmpfs(mnt, "size=4m"):
        return None
    sys.path.insert(0, str(ROOT / "src"))
    from seqbench.training.load import read_checkpoint

    try:
        proc = seqbench([*TRAIN, "--out", str(mnt), "--name", "r"], wait=False)
        wait_for_checkpoint(mnt / "r", proc, min_step=20)
        with open(mnt / "filler", "wb") as f:  # take every byte left
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        proc.wait(timeout=300)
        err = proc.stderr.read().strip()
        ckpt_dir = mnt / "r" / "checkpoints"
        leftovers = [p.name for p in ckpt_dir.glob(".*.tmp")]
        kept = read_checkpoint(ckpt_dir / "last.ckpt")["global_step"]
        (mnt / "filler").unlink()
        again = seqbench([*TRAIN, "--out", str(mnt), "--name", "r", "--resume"])
        same = again.returncode == 0 and same_training(result_of(mnt / "r"), straight)
    finally:
        subprocess.run(["umount", str(mnt)])
    last_line = err.splitlines()[-1] if err else ""
    ok = proc.returncode == 1 and last_line.startswith("error:") and "Traceback" not in err \
        and not leftovers and same
    return Outcome("output disk fills mid-run, then space is freed and --resume",
                   "exit 1, previous checkpoint intact, no temporary files, resume equals uninterrupted",
                   f"exit {proc.returncode} ({last_line[:110]}); checkpoint at step {kept} kept; "
                   f"{len(leftovers)} temporary files; resume: {'same' if same else 'DIFFERENT'}", ok)


def corrupt_data(work: Path, data_dir: Path | None) -> list[Outcome]:
    """Every data format, broken: a clear one-line error (exit 1), whether or not checksums are checked."""
    sys.path.insert(0, str(ROOT / "tests"))
    outcomes = []
    cases = []  # (label, task args, files to write {relative path: bytes})
    garbage = b"\x00\x13not the real file\xff" * 64
    cases.append(("MNIST IDX (.gz, garbage)", ["mnist"], {"mnist/train-images-idx3-ubyte.gz": gzip.compress(garbage),
                                                          "mnist/train-labels-idx1-ubyte.gz": gzip.compress(garbage),
                                                          "mnist/t10k-images-idx3-ubyte.gz": gzip.compress(garbage),
                                                          "mnist/t10k-labels-idx1-ubyte.gz": gzip.compress(garbage)}))
    cases.append(("music .mat (garbage)", ["jsb"], {"music/JSB_Chorales.mat": garbage}))
    if data_dir and (data_dir / "music" / "Nottingham.mat").is_file():
        whole = (data_dir / "music" / "Nottingham.mat").read_bytes()
        cases.append(("music .mat (real file, truncated)", ["nottingham"],
                      {"music/Nottingham.mat": whole[: len(whole) // 3]}))
    cases.append(("PTB text (binary garbage)", ["ptb"], {f"ptb/ptb.{s}.txt": garbage for s in ("train", "valid", "test")}))
    cases.append(("PTB text (empty)", ["ptb"], {f"ptb/ptb.{s}.txt": b"" for s in ("train", "valid", "test")}))
    cases.append(("char-PTB text (binary garbage)", ["ptb_char"],
                  {f"ptb_char/ptb.char.{s}.txt": garbage for s in ("train", "valid", "test")}))
    for label, task, files in cases:
        for verify in (True, False):
            root = work / "data" / f"{task[0]}-{'v' if verify else 'nv'}-{len(outcomes)}"
            for rel, content in files.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(content)
            args = ["train", *task, "--data-dir", str(root), "--epochs", "1", "--no-progress",
                    "--out", str(work / "data-runs"), "--max-time", "30", "--variant", "download=False"]
            if not verify:
                args += ["--variant", "verify=False"]
            proc = seqbench(args, timeout=300)
            ok = proc.returncode == 1 and one_line_error(proc)
            outcomes.append(Outcome(f"{label}, {'checksums on' if verify else 'verify=False'}",
                                    "exit 1, one-line error", f"exit {proc.returncode}: {proc.stderr.strip()[:110]}", ok))
    # your own data: CSV, Parquet, NPZ
    custom = work / "custom"
    custom.mkdir()
    (custom / "bad.csv").write_bytes(b"a,b\n1,2,3,4\n\x00\x00\xff")
    (custom / "bad.parquet").write_bytes(garbage)
    (custom / "bad.npz").write_bytes(garbage)
    (custom / "truncated.npz").write_bytes(b"PK\x03\x04" + garbage[:50])
    for name in ("bad.csv", "bad.parquet", "bad.npz", "truncated.npz"):
        target = [] if name.endswith(".npz") else ["--target", "y"]  # an .npz carries its own targets
        proc = seqbench(["train", "custom", "--file", str(custom / name), *target, "--epochs", "1",
                         "--no-progress", "--out", str(work / "custom-runs")])
        outcomes.append(Outcome(f"your own data: {name}", "exit 1 or 2, one-line error",
                                f"exit {proc.returncode}: {proc.stderr.strip()[:110]}",
                                proc.returncode in (1, 2) and "Traceback" not in proc.stderr
                                and len(proc.stderr.strip().splitlines()) <= 2))
    return outcomes


# -- malformed inputs: options, data and run files (issue 35, findings 4-6) ---------------------
def _usage_cases(work: Path) -> list[tuple[str, list[str]]]:
    """(label, argv) of command lines that must exit 2 before any work."""
    table = work / "inputs" / "d.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("sequence_id,time,a,y,txt\n" + "".join(f"{s},{t},{s * t},{s % 2},hi there\n"
                                                            for s in range(8) for t in range(3)))
    ptb = work / "inputs" / "data" / "ptb"
    ptb.mkdir(parents=True, exist_ok=True)
    for split, text in (("train", "the cat sat\n"), ("valid", "the cat\n"), ("test", "a cat\n")):
        (ptb / f"ptb.{split}.txt").write_text(text)
    adding = ["train", "adding", "--seq-len", "8", "--variant", "train_size=16", "--epochs", "1", "--no-progress"]
    custom = ["train", "custom", "--file", str(table), "--target", "y", "--no-progress"]
    cases = [(f"train {' '.join(extra)}", [*adding, *extra]) for extra in (
        ["--max-time", "inf"], ["--max-time", "nan"], ["--precision", "bogus"], ["--strategy", "bogus"],
        ["--accelerator", "bogus"], ["--seed", "-1"], ["--lr", "inf"], ["--lr", "nan"], ["--lr", "-1"])]
    cases += [(f"train custom {' '.join(extra)}", [*custom, *extra]) for extra in (
        ["--split", "0.5,0.5,0.5"], ["--fill", "zero", "--drop"], ["--text", "txt", "--task", "forecast"],
        ["--max-vocab", "10"], ["--text", "txt", "--max-length", str(10**12)])]
    cases.append(("train ptb --hidden 8 (tied weights need 600)",
                  ["train", "ptb", "--data-dir", str(ptb.parent), "--variant", "verify=false", "--variant",
                   "download=false", "--hidden", "8", "--no-progress"]))
    cases.append(("compare adding --max-time inf", ["compare", "adding", "--seq-len", "8", "--max-time", "inf"]))
    return cases


def _idx(array) -> bytes:
    import struct

    code = {"uint8": 0x08, "int8": 0x09}[array.dtype.name]
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _data_cases(work: Path) -> list[tuple[str, list[str], str]]:
    """(label, argv, what the one-line error must name) of data errors that must exit 1."""
    import numpy as np

    root = work / "inputs"
    (root / "empty.npz").write_bytes(b"")
    huge = root / "huge.csv"
    huge.write_text("sequence_id,time,a,y\n" + "".join(f"{s},0,{'x' * 10_000_000 if s == 0 else 1},{s % 2}\n"
                                                        for s in range(6)))
    mnist = root / "data" / "mnist"
    mnist.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 20), ("t10k", 5)):
        labels = np.arange(n, dtype=np.int8) % 10
        labels[3] = -1
        (mnist / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(np.zeros((n, 28, 28), np.uint8))))
        (mnist / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels)))
    return [
        ("empty .npz (numpy's EOFError, once click's 'aborted', 130)",
         ["train", "custom", "--file", str(root / "empty.npz"), "--no-progress"], "empty.npz"),
        ("a 10 MB cell in a feature column", ["train", "custom", "--file", str(huge), "--target", "y"], "huge.csv"),
        ("MNIST labels of -1", ["train", "mnist", "--data-dir", str(root / "data"), "--variant", "verify=false",
                                "--variant", "download=false", "--epochs", "1", "--no-progress"],
         "train-labels-idx1-ubyte.gz"),
    ]


def _nan_checkpoint(work: Path) -> Path:
    """A tiny custom run's best checkpoint with one weight set to NaN."""
    import numpy as np
    import torch

    root = work / "inputs"
    t = np.arange(200)
    (root / "load.csv").write_text("time,load\n" + "".join(f"{i},{np.sin(i / 6):.5f}\n" for i in t))
    proc = seqbench(["train", "custom", "--file", str(root / "load.csv"), "--target", "load", "--input-length", "8",
                     "--epochs", "1", "--hidden", "4", "--levels", "2", "--kernel-size", "2", "--no-progress",
                     "--out", str(root / "runs"), "--name", "nan"])
    if proc.returncode != 0:
        raise RuntimeError(f"the run to damage failed: {proc.stderr[-500:]}")
    path = root / "runs" / "nan" / "checkpoints" / "best.ckpt"
    ckpt = torch.load(path, weights_only=True)
    first = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    ckpt["state_dict"][first].view(-1)[0] = float("nan")
    torch.save(ckpt, root / "nan.ckpt")
    return root / "nan.ckpt"


def _result(task: str, model: str, **extra) -> dict:
    r = {"task": task, "variant": {}, "model": model, "preset": "paper", "parameters": 10, "primary_metric": "nll",
         "metrics": {"valid": {"nll": 8.3}, "test": {"nll": 8.2}}, "epochs": 4, "wall_time_s": 1.0, "seed": 0,
         "history": [{"epoch": 1, "train_loss": 9.0, "valid_nll": 9.5}], "config": {"run": {"variant": {}}}}
    r.update(extra)
    return r


def _run_file_cases(work: Path) -> list[Outcome]:
    """Malformed run files: report and reproduce --list skip each with a warning naming it."""
    root = work / "inputs" / "results"
    hostile = "<img src=x onerror=alert(1)>*x*|y"
    files = {"good": json.dumps(_result("jsb", "tcn")), "wrong-type": json.dumps(_result("jsb", "gru", metrics="x")),
             "not-json": "{oops", "hostile": json.dumps(_result(hostile, "lstm"))}
    for name, text in files.items():
        (root / name).mkdir(parents=True)
        (root / name / "result.json").write_text(text)
    (root / "zero").mkdir()
    os.symlink("/dev/zero", root / "zero" / "result.json")
    proc = seqbench(["report", str(root), "--out", str(work / "inputs" / "report")], timeout=120)
    warnings = proc.stderr.strip().splitlines()
    page = work / "inputs" / "report" / "report.md"
    text = page.read_text() if page.is_file() else ""
    table, commands = text.split("## Reproduce") if "## Reproduce" in text else (text, "")
    named = all(any(f"/{n}/result.json" in w for w in warnings) for n in ("wrong-type", "not-json", "zero"))
    outcomes = [Outcome("report: wrong-type, not-JSON and /dev/zero result.json", "exit 0, one warning naming each",
                        f"exit {proc.returncode}, {len(warnings)} warnings" + ("" if named else ", NOT NAMING EACH"),
                        proc.returncode == 0 and len(warnings) == 3 and named and page.is_file())]
    escaped = "<img" not in table and "&lt;img" in table
    quoted = "seqbench train '<img src=x onerror=alert(1)>*x*|y'" in commands
    outcomes.append(Outcome("report: a task named <img ...>*x*|y", "escaped in the tables, quoted in the commands",
                            f"{'escaped' if escaped else 'NOT ESCAPED'}, {'quoted' if quoted else 'NOT QUOTED'}",
                            escaped and quoted))
    sys.path.insert(0, str(ROOT / "src"))
    from seqbench.reproduction import PLAN

    p = next(p for p in PLAN if p.task == "jsb" and p.model == "lstm")
    runs, results = work / "inputs" / "plan-runs", work / "inputs" / "plan-results"
    (runs / p.name / "logs").mkdir(parents=True)
    (runs / p.name / "logs" / "metrics.csv").write_text("epoch,step\nabc,def\n")
    (runs / p.name / "checkpoints").mkdir()
    (runs / p.name / "checkpoints" / "last.ckpt").write_bytes(b"")  # a partial run: --list reads its log
    (results / p.name).mkdir(parents=True)
    (results / p.name / "result.json").write_text(json.dumps(_result("jsb", "lstm", history="x")))
    proc = seqbench(["reproduce", "--list", "--only", p.name, "--out", str(runs), "--results", str(results)])
    warnings = proc.stderr.strip().splitlines()
    outcomes.append(Outcome("reproduce --list: a bad result.json and logs/metrics.csv",
                            "exit 0, one warning naming each", f"exit {proc.returncode}, {len(warnings)} warnings",
                            proc.returncode == 0 and any("result.json" in w for w in warnings)
                            and any("metrics.csv" in w for w in warnings)))
    return outcomes


def bad_inputs(work: Path) -> list[Outcome]:
    """Malformed options exit 2 before any work (no run directory); malformed data and
    checkpoints exit 1 with one short line naming the file; malformed run files are skipped
    with a warning naming each."""
    outcomes = []
    for i, (label, args) in enumerate(_usage_cases(work)):
        out = work / "inputs" / f"runs-{i}"
        proc = seqbench([*args, "--out", str(out)], timeout=300)
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        outcomes.append(Outcome(label, "exit 2, nothing written", f"exit {proc.returncode}: {last[:90]}"
                                + ("; RUN DIRECTORY LEFT" if out.exists() else ""),
                                proc.returncode == 2 and not out.exists() and "Traceback" not in proc.stderr))
    for label, args, name in _data_cases(work):
        proc = seqbench([*args, "--out", str(work / "inputs" / "data-runs")], timeout=300)
        err = proc.stderr.strip()
        short = one_line_error(proc) and len(err) < 700
        outcomes.append(Outcome(label, "exit 1, one short line naming the file",
                                f"exit {proc.returncode}, {len(err)} characters: {err[:90]}",
                                proc.returncode == 1 and short and name in err))
    ckpt = _nan_checkpoint(work)
    proc = seqbench(["predict", str(ckpt), "--file", str(work / "inputs" / "load.csv")])
    outcomes.append(Outcome("predict with a checkpoint holding a NaN weight", "exit 1, 'non-finite weights'",
                            f"exit {proc.returncode}: {proc.stderr.strip()[:90]}",
                            proc.returncode == 1 and one_line_error(proc) and "non-finite weights" in proc.stderr))
    return outcomes + _run_file_cases(work)


# -- interruptions on a validation, comparisons, leftovers (issue 35) -----------------------------
# a validation and a checkpoint every 10 steps: every checkpoint falls on a validation, as the
# README's --val-every 200 with the default --checkpoint-every 100
VALIDATING = [*TRAIN[:TRAIN.index("--checkpoint-every")], "--val-every", "10", "--checkpoint-every", "10",
              "--no-progress", "--threads", "1"]
COMPARE = ["compare", "adding", "--models", "tcn,gru,rnn", "--seq-len", "20", "--variant", "train_size=640",
           "--variant", "valid_size=64", "--variant", "test_size=64", "--checkpoint-every", "5", "--no-progress",
           "--threads", "1"]


def same_history(a: dict, b: dict) -> bool:
    """Every history row (its time aside), the best epoch and the metrics agree."""
    rows = lambda r: [{k: v for k, v in h.items() if k != "elapsed_s"} for h in r["history"]]  # noqa: E731
    return rows(a) == rows(b) and a["best_epoch"] == b["best_epoch"] and a["metrics"] == b["metrics"]


def stopped_on_validations(work: Path, straight: dict, signals: list[int], label: str) -> Outcome:
    """``signals`` one after another (each after a resume got going), then ``--resume`` to the end."""
    out = work / f"validating-{label}"
    run_dir, min_step = out / "r", 30
    codes = []
    for n, sig in enumerate(signals):
        proc = seqbench([*VALIDATING, "--out", str(out), "--name", "r"] + (["--resume"] if n else []), wait=False)
        wait_for_checkpoint(run_dir, proc, min_step=min_step)
        proc.send_signal(sig)
        proc.wait(timeout=120)
        codes.append(proc.returncode)
        min_step += 40
    again = seqbench([*VALIDATING, "--out", str(out), "--name", "r", "--resume"])
    same = again.returncode == 0 and same_history(result_of(run_dir), straight)
    expected = [-9 if s == signal.SIGKILL else 143 for s in signals]
    return Outcome(f"{label} with --val-every 10 --checkpoint-every 10, then --resume",
                   "resume has the uninterrupted run's every history row, best epoch and metrics",
                   f"exits {codes}; --resume exit {again.returncode}, {'same' if same else 'DIFFERENT'} history",
                   codes == expected and same)


def ctrl_c_train(work: Path, straight: dict) -> Outcome:
    out = work / "ctrl-c"
    proc = seqbench([*TRAIN, "--out", str(out), "--name", "r"], wait=False)
    wait_for_checkpoint(out / "r", proc)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    err = proc.stderr.read().strip()
    again = seqbench([*TRAIN, "--out", str(out), "--name", "r", "--resume"])
    same = again.returncode == 0 and same_training(result_of(out / "r"), straight)
    ok = proc.returncode == 130 and "\n" not in err and "--resume" in err and same
    return Outcome("Ctrl-C during train, then --resume", "exit 130, one line naming --resume; resume equals "
                   "an uninterrupted run", f"exit {proc.returncode} ({err[:100]}); --resume exit {again.returncode}, "
                   f"{'same' if same else 'DIFFERENT'} metrics and losses", ok)


def comparison_stopped(work: Path, sig: int) -> Outcome:
    """A comparison stopped in its second model: refused without --resume, finished with it."""
    name = signal.Signals(sig).name
    out = work / f"compare-{name.lower()}"
    proc = seqbench([*COMPARE, "--out", str(out)], wait=False)
    sys.path.insert(0, str(ROOT / "src"))
    from seqbench.comparison import group_dir

    group = group_dir(out, "adding", {"seq_len": 20, "train_size": 640, "valid_size": 64, "test_size": 64}, "small")
    wait_for_checkpoint(group / "gru-seed0", proc, min_step=10)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    first = (group / "tcn-seed0" / "result.json").read_bytes()
    plain = seqbench([*COMPARE, "--out", str(out)])
    refused = plain.returncode == 1 and "--resume" in plain.stderr and "--overwrite" in plain.stderr
    again = seqbench([*COMPARE, "--out", str(out), "--resume"])
    finished = again.returncode == 0 and (group / "report.md").is_file() and \
        all((group / f"{m}-seed0" / "result.json").is_file() for m in ("tcn", "gru", "rnn")) and \
        (group / "tcn-seed0" / "result.json").read_bytes() == first
    expected = {signal.SIGKILL: -9, signal.SIGTERM: 143, signal.SIGINT: 130}[sig]
    return Outcome(f"compare: {name} in its second model, again without, then with --resume",
                   f"exit {expected}; refused without --resume; --resume keeps the finished model, resumes the "
                   "stopped one, trains the last and writes the report",
                   f"exit {proc.returncode}; without --resume exit {plain.returncode}; --resume exit "
                   f"{again.returncode}, {'all finished, report written' if finished else 'NOT FINISHED'}",
                   proc.returncode == expected and refused and finished)


def run_directory_kept(work: Path) -> list[Outcome]:
    """A finished run is replaced only with --overwrite; a name cannot leave the runs directory."""
    out = work / "kept"
    first = seqbench([*TRAIN, "--epochs", "1", "--out", str(out / "runs"), "--name", "r"])
    (out / "runs" / "r" / "checkpoints" / "last.ckpt").unlink()
    again = seqbench([*TRAIN, "--epochs", "1", "--out", str(out / "runs"), "--name", "r"])
    run_dir = out / "runs" / "r"
    kept = (run_dir / "result.json").is_file() and (run_dir / "checkpoints" / "best.ckpt").is_file()
    outcomes = [Outcome("train over a finished run whose last.ckpt was deleted", "exit 1, the run kept",
                        f"exit {again.returncode} ({again.stderr.strip()[:90]}); {'kept' if kept else 'DELETED'}",
                        first.returncode == 0 and again.returncode == 1 and one_line_error(again) and kept)]
    (out / "checkpoints").mkdir()
    (out / "result.json").write_text("{}")  # the user's own, one level above the runs directory
    for name in ("..", "a/b"):
        proc = seqbench([*TRAIN, "--out", str(out / "runs"), "--name", name, "--overwrite"])
        intact = (out / "result.json").is_file() and (out / "checkpoints").is_dir()
        outcomes.append(Outcome(f"train --name {name} --overwrite", "exit 2, nothing written or deleted",
                                f"exit {proc.returncode}; {'intact' if intact else 'FILES DELETED'}",
                                proc.returncode == 2 and intact))
    return outcomes


def diverging(work: Path) -> Outcome:
    proc = seqbench([*TRAIN, "--lr", "1e30", "--optimizer", "sgd", "--out", str(work / "diverging"), "--name", "r"])
    return Outcome("train --lr 1e30 --optimizer sgd (the loss becomes non-finite)", "exit 1, one line naming the step",
                   f"exit {proc.returncode}: {proc.stderr.strip()[:110]}",
                   proc.returncode == 1 and one_line_error(proc) and "training loss is" in proc.stderr)


def no_leftovers(work: Path) -> Outcome:
    """After every fault above: no run directory without a checkpoint or a result."""
    bare = [str(d.relative_to(work)) for d in work.rglob("*") if d.is_dir() and (d / ".lock").exists()
            and not (d / "result.json").exists() and not list((d / "checkpoints").glob("*.ckpt"))]
    return Outcome("run directories left without a checkpoint after all the faults", "none",
                   f"{len(bare)}" + (f": {', '.join(bare[:4])}" if bare else ""), not bare)


def interruptions(work: Path, straight: dict) -> list[Outcome]:
    validating = seqbench([*VALIDATING, "--out", str(work / "validating-straight"), "--name", "r"])
    if validating.returncode != 0:
        raise RuntimeError(f"the reference run failed: {validating.stderr[-1000:]}")
    reference = result_of(work / "validating-straight" / "r")
    outcomes = [stopped_on_validations(work, reference, [signal.SIGKILL], "kill -9"),
                stopped_on_validations(work, reference, [signal.SIGTERM], "SIGTERM"),
                stopped_on_validations(work, reference, [signal.SIGKILL, signal.SIGKILL], "kill -9 twice"),
                ctrl_c_train(work, straight)]
    outcomes += [comparison_stopped(work, sig) for sig in (signal.SIGKILL, signal.SIGINT)]
    outcomes += run_directory_kept(work)
    outcomes.append(diverging(work))
    return outcomes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None, help="real datasets, to truncate a real file too")
    ap.add_argument("--json", type=Path, default=None, help="also write the outcomes here")
    sections = ap.add_mutually_exclusive_group()
    sections.add_argument("--inputs-only", action="store_true",
                          help="only the malformed options, data and run files (a minute or two)")
    sections.add_argument("--interruptions-only", action="store_true",
                          help="only the interruption, comparison, run-directory and divergence faults")
    a = ap.parse_args(argv)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="seqbench-faults-") as tmp:
        work = Path(tmp)
        if not a.inputs_only:
            straight = reference(work)
            if not a.interruptions_only:
                outcomes.append(killed_then_resumed(work, straight, signal.SIGKILL))
                outcomes.append(killed_then_resumed(work, straight, signal.SIGTERM))
                outcomes.append(two_processes(work))
                for extra in (read_only(work), full_disk(work, straight)):
                    if extra is not None:
                        outcomes.append(extra)
                outcomes.extend(corrupt_data(work, a.data_dir))
            outcomes.extend(interruptions(work, straight))
        if not a.interruptions_only:
            outcomes.extend(bad_inputs(work))
        outcomes.append(no_leftovers(work))  # last: after every case that could leave one
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(o.fault) for o in outcomes)
    for o in outcomes:
        print(f"{'ok  ' if o.ok else 'FAIL'} {o.fault:{width}s}  {o.got}")
    if a.json:
        a.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    failed = sum(not o.ok for o in outcomes)
    print(f"{len(outcomes) - failed} of {len(outcomes)} faults handled as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
