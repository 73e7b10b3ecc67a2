"""seqbench tune: each kind's declared search space at the matched budget, trials that never
read the test split, pruning, resuming, and workers that share one study on SQLite and on a
real PostgreSQL server (started here, on a unix socket in a temporary directory)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="seqbench[tune] not installed")

from seqbench.nn import Encoder, registry  # noqa: E402
from seqbench.tasks.synthetic import CopyMemory  # noqa: E402
from seqbench.training import build_task  # noqa: E402
from seqbench.tuning import describe, load_tuning, search_space, tune  # noqa: E402
from seqbench.tuning.space import distributions, run_settings  # noqa: E402
from seqbench.tuning.study import counts, default_storage, open_storage, study_name, tune_dir  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = dict(seq_len=8, train_size=64, valid_size=32, test_size=32)  # a trial of a few steps: under a second


def test_every_builtin_kind_declares_its_space_and_a_kind_without_one_gets_the_shared_training_space(monkeypatch):
    assert {"lr", "optimizer", "dropout", "clip", "kernel_size", "levels"} <= set(search_space("tcn"))
    for kind in ("lstm", "gru", "rnn"):
        assert set(search_space(kind)) == set(Encoder.SEARCH_SPACE) | {"num_layers"}
    assert {"num_layers", "num_heads"} <= set(search_space("transformer"))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    plain = registry.register(type("Plain", (Encoder,), {"NAME": "plain", "LABEL": "Plain"}))
    assert search_space("plain") == dict(Encoder.SEARCH_SPACE)
    assert "declares no SEARCH_SPACE" in describe("plain") and "declares no" not in describe("lstm")
    monkeypatch.setattr(plain, "SEARCH_SPACE", {"lr": (0.1, 0.01)})  # low > high
    with pytest.raises(ValueError, match="low < high"):
        search_space("plain")
    monkeypatch.setattr(plain, "SEARCH_SPACE", {"hidden_size": [8, 16]})
    with pytest.raises(ValueError, match="parameter matching"):
        search_space("plain")
    monkeypatch.setattr(plain, "SEARCH_SPACE", {"num_heads": [2]})
    with pytest.raises(ValueError, match="applies to transformer only"):
        search_space("plain")


def test_grid_points_of_a_log_range_are_geometric():
    grid = distributions("tcn", grid=True)
    assert grid["lr"] == [1e-4, 1e-3, 1e-2] and grid["levels"] == [4, 6, 8, 10]


@pytest.mark.parametrize("kind, params", [
    ("tcn", {"kernel_size": 2, "levels": 4}), ("tcn", {"kernel_size": 8, "levels": 10}),
    ("lstm", {"num_layers": 3}), ("transformer", {"num_layers": 1, "num_heads": 1}),
    ("transformer", {"num_layers": 4, "num_heads": 4})])
def test_architecture_choices_keep_the_parameter_count_at_the_matched_budget(kind, params):
    task = build_task("copy_memory", None, "small")
    target = task.build_model("tcn", "small").num_parameters()
    settings = run_settings(task, kind, "small", params)
    model = task.build_model(kind, "small", **settings)
    assert abs(model.num_parameters() - target) / target < 0.1, (settings, model.num_parameters(), target)
    if kind == "tcn":
        assert model.encoder.kernel_size == params["kernel_size"] and len(model.encoder.channels) == params["levels"]


class UnreadableTestSplit(CopyMemory):
    """copy_memory whose test split cannot be read: tuning must never ask for it."""

    def dataset(self, split):
        if split == "test":
            raise AssertionError("the test split was read while tuning")
        return super().dataset(split)


def test_tuning_reads_no_test_split_prunes_and_resumes_without_redoing_finished_trials(tmp_path):
    task = UnreadableTestSplit(**TINY)
    common = dict(models=["tcn"], preset="small", variant=TINY, out=tmp_path, task_object=task, steps=12,
                  val_every=2, threads=1)
    lines = []
    first = tune("copy_memory", trials=3, announce=lines.append, **common)
    entry = first["models"][0]
    assert entry["trials"] == 3 and entry["complete"] + entry["pruned"] == 3 and entry["failed"] == 0
    assert any(line.startswith("search space of tcn: lr log-uniform") for line in lines)
    directory = tune_dir(tmp_path, "copy_memory", TINY, "small")
    assert {p.name for p in directory.iterdir()} >= {"study.db", "tuning.json", "tuning.md", "tuning.png"}
    storage = open_storage(default_storage(directory))
    study = optuna.load_study(study_name=study_name(directory, "tcn"), storage=storage)
    before = {t.number: (t.state, t.value, t.datetime_start) for t in study.trials}
    # the first trial trains the preset itself: a tuning never picks settings over the untuned
    # configuration unless they beat it on validation
    assert study.trials[0].user_attrs["settings"] == {} and "untuned" in " ".join(lines)
    assert all(t.user_attrs["settings"] and "lr" in t.params for t in study.trials[1:])

    second = tune("copy_memory", trials=5, pruner="median", **common)  # resumes: two more trials
    study = optuna.load_study(study_name=study_name(directory, "tcn"), storage=storage)
    after = {t.number: (t.state, t.value, t.datetime_start) for t in study.trials}
    assert {n: after[n] for n in before} == before and len(after) == 5
    assert sum(t.user_attrs["settings"] == {} for t in study.trials) == 1  # resuming queues no second one
    assert second["models"][0]["trials"] == 5
    md = (directory / "tuning.md").read_text()
    assert "| TCN | 5 |" in md and "Hyperparameter importances" in md

    with pytest.raises(ValueError, match="another budget"):  # the per-trial budget is the study's
        tune("copy_memory", trials=5, **{**common, "steps": 13})


def test_a_trial_worse_than_the_median_of_earlier_ones_is_pruned(tmp_path):
    """Trials of one learning rate that learns and of one that cannot: the later bad ones stop early."""
    task = CopyMemory(**TINY)
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/s.db"), study_name="s",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    from seqbench.training import RunConfig
    from seqbench.tuning.trial import train_trial

    def objective(trial):
        lr = 1e-2 if trial.number < 2 else 1e-7  # two that learn, then hopeless ones
        cfg = RunConfig(task="copy_memory", model="tcn", preset="small", variant=TINY, lr=lr, steps=20,
                        val_every=2, threads=1)
        return train_trial(task, cfg, trial)

    study.optimize(objective, n_trials=4)
    states = [t.state.name for t in study.trials]
    assert states[:2] == ["COMPLETE", "COMPLETE"] and "PRUNED" in states[2:], states
    pruned = next(t for t in study.trials if t.state.name == "PRUNED")
    assert pruned.user_attrs["steps"] < 20


# -- workers sharing one study -----------------------------------------------------------------

WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from seqbench.tuning import tune
    out, storage, trials, steps, ready, go = sys.argv[1:7]
    Path(ready).touch()
    while not Path(go).exists():  # both workers start together, so they share the trials
        time.sleep(0.05)
    tune("copy_memory", models=["tcn"], trials=int(trials), preset="small", variant=%r, out=out,
         storage=storage, steps=int(steps), val_every=2, threads=1, heartbeat_s=1, grace_s=2,
         announce=lambda line: print(line, flush=True))
""" % TINY)


def _start_workers(n, tmp_path, storage, trials, steps):
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "out"), storage, str(trials), str(steps),
                               str(tmp_path / f"ready{i}"), str(go)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in range(n)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(n)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.05)
    go.touch()
    return procs


def _study(tmp_path, storage):
    directory = tune_dir(tmp_path / "out", "copy_memory", TINY, "small")
    return optuna.load_study(study_name=study_name(directory, "tcn"), storage=open_storage(storage))


def _ran(output: str) -> list[int]:
    """The trial numbers a worker's log says it started."""
    return [int(line.split("trial ")[1].split(":")[0]) for line in output.splitlines() if line.startswith("-- tcn trial")]


def check_two_workers_split_the_trials(tmp_path, storage):
    procs = _start_workers(2, tmp_path, storage, trials=6, steps=6)
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ran = [_ran(o) for o in outputs]
    study = _study(tmp_path, storage)
    finished = {t.number for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")}
    assert len(finished) == 6 and counts(study)["running"] == 0
    started = ran[0] + ran[1]
    assert len(started) == len(set(started)), ran  # no trial ran twice
    assert finished <= set(started) and all(ran), ran  # both workers took trials; every finished one is in the study
    workers = {t.user_attrs["worker"] for t in study.trials if t.number in finished}
    assert len(workers) == 2


def check_a_killed_worker_loses_no_finished_trial(tmp_path, storage):
    (victim,) = _start_workers(1, tmp_path, storage, trials=5, steps=30)
    study, deadline = None, time.monotonic() + 180
    while True:  # kill -9 in the middle of a trial, after at least one has finished
        assert time.monotonic() < deadline and victim.poll() is None, victim.communicate()
        try:
            study = _study(tmp_path, storage)
            c = counts(study)
        except KeyError:  # the study is not created yet
            c = {"complete": 0, "pruned": 0, "running": 0}
        # a running trial that has drawn its settings (a kill between its start and its draws
        # leaves a trial with none, whose retry draws afresh)
        drawn = study is not None and any(t.params for t in study.trials if t.state.name == "RUNNING")
        if c["complete"] + c["pruned"] >= 1 and c["running"] == 1 and drawn:
            break
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    study = _study(tmp_path, storage)
    kept = {t.number: (t.state.name, t.value) for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")}
    cut = [t for t in study.trials if t.state.name == "RUNNING"]
    assert kept and len(cut) == 1

    rest = _start_workers_into(tmp_path, storage)
    output = rest.communicate(timeout=300)[0]
    assert rest.returncode == 0, output
    study = _study(tmp_path, storage)
    now = {t.number: (t.state.name, t.value) for t in study.trials}
    assert {n: now[n] for n in kept} == kept  # the finished trials are kept as they were
    assert now[cut[0].number][0] == "FAIL"  # the cut one failed once its heartbeat stopped
    c = counts(study)
    assert c["complete"] + c["pruned"] == 5 and c["running"] == 0  # and its budget was spent again
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == cut[0].number]
    assert retried and retried[0].params == cut[0].params  # on the same settings
    assert not set(_ran(output)) & set(kept)


def _start_workers_into(tmp_path, storage):
    """One more worker on the same study (its start files beside the first ones)."""
    for f in ("go", "ready0"):
        (tmp_path / f).unlink()
    (proc,) = _start_workers(1, tmp_path, storage, trials=5, steps=30)
    return proc


# -- the storages: a SQLite file, and a PostgreSQL server of our own --------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*command: str, **kw) -> subprocess.CompletedProcess:
    """Run a server command as the ``postgres`` user (the server refuses to run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + list(command), check=True, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def postgres_socket():
    """A throwaway PostgreSQL cluster in a temporary directory, listening on a unix socket there
    only (no TCP port); stopped and removed at the end. Yields the socket's directory."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    pytest.importorskip("psycopg2", reason="psycopg2 (seqbench[tune]) not installed")
    root = Path(tempfile.mkdtemp(prefix="seqbench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    try:
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                     f"-k {root} -c listen_addresses='' -c fsync=off", "start")
        yield root
    finally:
        if (data / "postmaster.pid").exists():
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    """A database URL both workers reach: a SQLite file, or a new database on the test's server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    socket_dir = request.getfixturevalue("postgres_socket")
    name = f"tune{abs(hash(request.node.name)) % 10**8}"
    _as_postgres(str(PG_BIN / "createdb"), "-h", str(socket_dir), "-U", "postgres", name)
    return f"postgresql+psycopg2://postgres@/{name}?host={socket_dir}"


@pytest.mark.slow
def test_two_workers_on_one_storage_split_the_trials(tmp_path, storage):
    check_two_workers_split_the_trials(tmp_path, storage)


@pytest.mark.slow
def test_a_worker_killed_mid_trial_loses_no_finished_trial_and_its_budget_is_spent_again(tmp_path, storage):
    check_a_killed_worker_loses_no_finished_trial(tmp_path, storage)


# -- the command line and the tuned comparison -------------------------------------------------

TINY_ARGS = ["--seq-len", "8", "--variant", "train_size=64", "--variant", "valid_size=32",
             "--variant", "test_size=32", "--steps", "8", "--val-every", "2", "--threads", "1"]


def test_tune_then_compare_tuned_trains_the_best_settings_beside_the_untuned_and_counts_trials(cli, tmp_path):
    code, out, err = cli(["tune", "copy_memory", "--models", "tcn,gru", "--trials", "3", "--out", str(tmp_path),
                          *TINY_ARGS])
    assert code == 0, err
    assert "search space of tcn:" in err and "search space of gru:" in err
    assert out.splitlines()[1].split()[:4] == ["model", "trials", "pruned", "failed"]
    directory = tune_dir(tmp_path, "copy_memory", {"seq_len": 8, "train_size": 64, "valid_size": 32,
                                                    "test_size": 32}, "small")
    code, out, err = cli(["compare", "copy_memory", "--models", "tcn,gru", "--seeds", "2", "--tuned", str(directory),
                          "--out", str(tmp_path), *TINY_ARGS, "--no-progress"])
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("model") and "parameters" in line)
    assert header.split()[3:5] == ["trials", "pruned"]
    rows = {line.split()[0] + " " + line.split()[1]: line.split() for line in out.splitlines()
            if line.startswith(("tcn tuned", "gru tuned"))}
    tuning = load_tuning(directory)
    for m in tuning["models"]:
        assert rows[f"{m['model']} tuned"][4:6] == [str(m["trials"]), str(m["pruned"])]
    assert "tuned beside untuned" in out
    group = next(tmp_path.glob("compare-*-tuned"))
    results = [json.loads(p.read_text()) for p in group.glob("*/result.json")]
    assert len(results) == 4 and all(r["config"]["tuned"]["trials"] == 3 for r in results)
    for r in results:  # each model trained its own best settings
        best = next(m for m in tuning["models"] if m["model"] == r["model"])["best_settings"]
        assert {k: r["config"]["run"][k] for k in best} == best
    page = (group / "report.md").read_text()
    assert "GRU (tuned)" in page and "## Tuning: copy_memory" in page and "Hyperparameter importances" in page
    assert (tmp_path / next(tmp_path.glob("compare-*small")).name / "report.md").exists()  # the untuned one


def test_tune_without_optuna_says_which_extra_installs_it(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    code, out, err = cli(["tune", "copy_memory", "--models", "tcn", "--trials", "1", "--out", str(tmp_path),
                          *TINY_ARGS])
    assert code == 1 and "pip install 'seqbench[tune]'" in err and len(err.strip().splitlines()) <= 3


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # trials asked for by hand, not by Study.optimize
def test_a_trial_started_past_the_total_is_refused_before_training_and_not_counted(tmp_path):
    from seqbench.tuning.study import OverBudget, _check_before_training

    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/s.db"), study_name="s")
    first, second = study.ask(), study.ask()  # two workers' trials, running
    _check_before_training(study, second, total=2)  # the second of two: allowed
    third = study.ask()
    with pytest.raises(OverBudget, match="has its 2 trials"):
        _check_before_training(study, third, total=2)
    study.tell(third, state=optuna.trial.TrialState.FAIL)
    c = counts(study)
    assert (c["running"], c["not_run"], c["failed"]) == (2, 1, 0)


def test_a_grid_smaller_than_the_trials_is_refused(tmp_path):
    with pytest.raises(ValueError, match="grid has .* points, fewer than 100000"):
        tune("copy_memory", models=["lstm"], trials=100_000, sampler="grid", out=tmp_path, steps=1)


def test_the_transformers_heads_are_a_run_setting_that_names_runs_and_reproduces():
    from seqbench.report.tables import COMMAND_ORDER
    from seqbench.run_settings import settings_from_argv
    from seqbench.training import RunConfig

    cfg = RunConfig(task="copy_memory", model="transformer", **settings_from_argv(["--heads", "2", "--layers", "3"]))
    assert cfg.num_heads == 2 and "layers3-heads2" in cfg.run_name() and "num_heads" in COMMAND_ORDER
    with pytest.raises(ValueError, match="num_heads applies to Transformer models only"):
        RunConfig(task="copy_memory", model="lstm", num_heads=2)
