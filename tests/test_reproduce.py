"""``seqbench reproduce``: the plan's selection, and a queue stopped half-way and started again
(on a machine without the first one's runs directory) that skips what is done, resumes what
has checkpoints and collects every result."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from seqbench.reproduction import PLAN, Planned, Queue, select, state
from seqbench.results import RunResult

SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = {"seq_len": 16, "train_size": 48, "valid_size": 16, "test_size": 16}
OPTIONS = ("--hidden", "4", "--levels", "2", "--kernel-size", "2", "--batch-size", "8")


def _plan(epochs_of_second: int = 40) -> list[Planned]:
    return [Planned("adding", "tcn", seed=0, variant=TINY, options=(*OPTIONS, "--epochs", "2")),
            Planned("adding", "gru", seed=0, variant=TINY, options=(*OPTIONS, "--epochs", str(epochs_of_second))),
            Planned("adding", "tcn", seed=1, variant=TINY, options=(*OPTIONS, "--epochs", "2"))]


def test_selection_by_task_model_and_seeds():
    jsb = select(PLAN, tasks=["jsb"], models=["gru"])
    assert {p.seed for p in jsb if not p.options[1:]} >= {0, 1, 2}
    four = select(PLAN, tasks=["nottingham"], models=["lstm"], seeds=4)
    protocol = [p for p in four if p.options == ("--test-every-epoch",)]
    assert sorted(p.seed for p in protocol) == [0, 1, 2, 3]
    assert {p.max_time for p in protocol if p.seed == 3} == {5400}  # the lowest seed's budget and options
    assert select(PLAN, only=[four[0].name]) == [p for p in PLAN if p.name == four[0].name]


QUEUE = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_reproduce import _plan
    from seqbench.reproduction import Queue
    sys.exit(Queue(_plan(), Path(sys.argv[1]), Path(sys.argv[2]), None, jobs=1, threads=1,
                   carry=Path(sys.argv[3])).run())
""")


def test_a_stopped_queue_started_again_skips_what_is_done_and_resumes_the_rest(tmp_path):
    runs, results, carry = tmp_path / "runs", tmp_path / "results", tmp_path / "carried"
    script = tmp_path / "run_queue.py"
    script.write_text(QUEUE.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    queue = subprocess.Popen([sys.executable, str(script), str(runs), str(results), str(carry)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first, second, third = _plan()
    deadline = time.monotonic() + 240
    while not (runs / second.name / "checkpoints" / "last.ckpt").exists():  # the second run is under way
        assert queue.poll() is None and time.monotonic() < deadline, queue.stdout.read()
        time.sleep(0.2)
    queue.send_signal(signal.SIGTERM)
    out = queue.communicate(timeout=120)[0]
    assert "stopped: the runs that were training checkpointed" in out, out
    assert state(first, runs, results) == "done" and state(second, runs, results) == "partial"
    assert state(third, runs, results) == "to do"
    done_before = (results / first.name / "result.json").stat().st_mtime_ns
    # the stopped run left a copy of its run directory to carry; the finished one did not
    assert f"carry  {second.name}" in out and (carry / second.name / "checkpoints" / "last.ckpt").is_file()
    assert not (carry / first.name).exists() and not list(carry.rglob(".lock"))

    runs.rename(tmp_path / "lost")  # the next machine has none of this one's run directories
    assert state(second, runs, results) == "to do" and state(second, runs, results, carry) == "partial"
    lines = []
    assert Queue(_plan(), runs, results, None, jobs=2, threads=1, echo=lines.append, carry=carry).run() == 0
    text = "\n".join(lines)
    assert "2 of 3 planned runs to do" in text and f"start  {second.name} (resume)" in text
    assert f"start  {third.name} (new)" in text and f"start  {first.name}" not in text
    assert all(state(p, runs, results) == "done" for p in _plan())
    assert (results / first.name / "result.json").stat().st_mtime_ns == done_before  # not trained again
    assert not any(carry.iterdir())  # a finished run's carried copy is removed
    assert RunResult.load(results / second.name / "result.json").epochs == 40


def test_a_queue_stops_its_runs_when_its_time_is_up(tmp_path):
    lines = []
    long_run = Planned("adding", "gru", seed=0, variant=TINY, options=(*OPTIONS, "--epochs", "5000"))
    started = time.monotonic()
    failed = Queue([long_run], tmp_path / "runs", tmp_path / "results", None, jobs=1, echo=lines.append,
                   stop_after=1.0).run()
    assert failed == 0 and time.monotonic() - started < 120
    assert any("time limit (1 s) reached: stopping the runs" in line for line in lines), lines
    assert state(long_run, tmp_path / "runs", tmp_path / "results") in ("partial", "to do")


def test_list_and_dry_run_say_what_is_left_without_running_anything(tmp_path, cli):
    where = ["--out", str(tmp_path / "runs"), "--results", str(tmp_path / "results")]
    code, out, err = cli(["reproduce", "--list", "--tasks", "jsb", "--models", "lstm", "--seeds", "2", *where])
    assert code == 0, err
    rows, total = out.splitlines()[:-1], out.splitlines()[-1]
    assert all(r.startswith("to do") for r in rows) and any(r.endswith("jsb-paper-lstm-seed1") for r in rows)
    assert total.startswith(f"{len(rows)} runs: {len(rows)} to do")
    code, out, err = cli(["reproduce", "--dry-run", "--tasks", "jsb", "--models", "lstm", "--seeds", "2", *where])
    commands = out.splitlines()
    assert code == 0 and commands and all(c.startswith("seqbench train jsb --model lstm") for c in commands)
    assert any("--seed 1 " in c for c in commands) and not (tmp_path / "runs").exists()
    carried = tmp_path / "carried" / "jsb-paper-lstm-seed1" / "checkpoints"
    carried.mkdir(parents=True)
    (carried / "last.ckpt").write_bytes(b"")
    select_ = ["--tasks", "jsb", "--models", "lstm", "--seeds", "2", "--carry", str(tmp_path / "carried")]
    code, out, err = cli(["reproduce", "--list", *select_, *where])
    assert code == 0 and any(r.startswith("partial") and r.endswith("lstm-seed1") for r in out.splitlines())
    code, out, err = cli(["reproduce", "--dry-run", *select_, *where])
    copy = f"cp -r {carried.parent}/. {tmp_path / 'runs' / 'jsb-paper-lstm-seed1'}"
    assert code == 0 and copy in out.splitlines()
    assert any("--seed 1 " in c and c.endswith("--resume") for c in out.splitlines())
    code, _, err = cli(["reproduce", "--list", "--tasks", "nosuch", *where])
    assert code == 2 and "no planned run matches" in err


def test_list_reads_the_budget_a_stopped_run_has_spent_from_its_checkpoint(tmp_path, cli):
    budgeted = next(p for p in PLAN if p.max_time == 7200)
    where = ["--only", budgeted.name, "--out", str(tmp_path / "runs"), "--results", str(tmp_path / "results"),
             "--carry", str(tmp_path / "carried")]
    checkpoint = tmp_path / "carried" / budgeted.name / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    # a seqbench checkpoint as Lightning's Timer leaves it after 45 minutes of training
    torch.save({"hyper_parameters": {"run_config": budgeted.config().to_dict()}, "state_dict": {},
                "callbacks": {"Timer": {"time_elapsed": {"train": 2700.0, "validate": 60.0}}}}, checkpoint)
    code, out, err = cli(["reproduce", "--list", *where])
    assert code == 0 and out.splitlines()[0].split() == ["partial", "2h00", "1h15", "left", budgeted.name], out
    checkpoint.write_bytes(b"not a checkpoint")  # unreadable: the whole budget, not an error
    code, out, err = cli(["reproduce", "--list", *where])
    assert code == 0 and out.splitlines()[0].split()[:3] == ["partial", "2h00", "2h00"], out
