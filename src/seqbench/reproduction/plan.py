"""The runs behind the results page (docs/results.md), in the order they are worth running.

Each :class:`Planned` run is one ``seqbench train`` command: task, model (recurrent
baselines are matched to the TCN's parameter count by ``train`` itself), seed, variant, a
wall-clock budget (``max_time``, ``--max-time``) for runs the machine cannot afford in full, and
further options. Its
name, and so its run directory, is what ``seqbench train`` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..choices import REFERENCE_KIND
from ..nn import kinds
from ..paper import RESULTS
from ..run_settings import BY_FIELD, settings_from_argv
from ..training.config import RunConfig

# the registered kinds the paper reports (its TCN and recurrent baselines), in the registry's order;
# runs of other kinds (the Transformer) are planned below with budgets of their own
MODELS = tuple(k for k in kinds() if any(k in values for *_, values in RESULTS.values()))
BASELINES = tuple(k for k in MODELS if k != REFERENCE_KIND)
FULL = ("--test-every-epoch",)  # full-protocol runs also record the mean test metric of the last 3 epochs
CONSTANT = ("--lr-schedule", "none")  # runs from before the music presets ran the official schedule


@dataclass(frozen=True)
class Planned:
    task: str
    model: str
    seed: int = 0
    variant: dict = field(default_factory=dict)
    max_time: float | None = None    # seconds of training (--max-time); None: the protocol's epochs
    options: tuple[str, ...] = ()    # further `seqbench train` options

    def config(self) -> RunConfig:
        """The run as `seqbench train` will see it (so its name, and result directory, match)."""
        return RunConfig(task=self.task, model=self.model, seed=self.seed, variant=dict(self.variant),
                         max_time=self.max_time, **settings_from_argv(self.options))

    @property
    def name(self) -> str:
        return self.config().run_name()

    @property
    def configuration(self) -> tuple:
        """What the run trains, without the seed: runs that share it differ by seed only."""
        return self.task, self.model, tuple(sorted(self.variant.items())), self.options

    def with_seed(self, seed: int) -> "Planned":
        return replace(self, seed=seed)

    def argv(self, data_dir: str | None, out: str, resume: bool, threads: int | None = 1,
             python: str | None = None) -> list[str]:
        """The command line; ``python`` None gives the ``seqbench`` entry point (for --dry-run)."""
        args = [python, "-m", "seqbench.cli"] if python else ["seqbench"]
        args += ["train", self.task, "--model", self.model, "--seed", str(self.seed), "--out", out, "--no-progress"]
        for k, v in self.variant.items():
            args += ["--variant", f"{k}={v}"]
        if self.max_time:
            args += BY_FIELD["max_time"].argv(float(self.max_time))
        if data_dir:
            args += ["--data-dir", data_dir]
        if threads:
            args += ["--threads", str(threads)]
        return args + list(self.options) + (["--resume"] if resume else [])


def _each(task, max_time=None, options=(), variant=None, models=MODELS, seeds=(0,)):
    return [Planned(task, m, seed=s, variant=variant or {}, max_time=max_time, options=tuple(options))
            for s in seeds for m in models]


PLAN: list[Planned] = [
    # The paper's synthetic tasks at the protocol (the official scripts' epochs): the TCN's targets first.
    Planned("copy_memory", "tcn", variant={"seq_len": 1000}, options=FULL),
    Planned("copy_memory", "tcn", seed=1, variant={"seq_len": 1000}, options=FULL),
    # The official adding script escapes the plateau of predicting the mean for some seeds only
    # (locuslab/TCN issue #30): seven TCN seeds, every one reported.
    *[Planned("adding", "tcn", seed=s, variant={"seq_len": 600}, options=FULL) for s in range(7)],
    # JSB Chorales (minutes per run), the protocol: the official music script's schedule, three
    # seeds of every model.
    *_each("jsb", options=FULL, seeds=(0, 1, 2)),
    # Nottingham: the protocol's 100 epochs for every model, three seeds (an hour each on one
    # thread; the GRU/RNN with seqbench's CPU backward, nn/recurrent_cpu.py). The first TCN and
    # LSTM runs had a 90-minute budget they did not need.
    *_each("nottingham", 5400, FULL, models=("tcn", "lstm")),
    *_each("nottingham", None, FULL, models=("gru", "rnn")),
    *_each("nottingham", None, FULL, seeds=(1, 2)),
    # The synthetic tasks' baselines at the protocol (1-2 h each on these CPU kernels).
    *_each("copy_memory", None, FULL, {"seq_len": 1000}, BASELINES),
    *_each("adding", None, FULL, {"seq_len": 600}, BASELINES),
    # A Transformer baseline (parameter-matched through its feed-forward width), three seeds on
    # the music tasks; on the synthetic tasks two hours each (attention over 600 and 1,020 steps
    # costs 1-2.6 s a step here: the protocol would take 5-11 h).
    *_each("jsb", options=FULL, models=("transformer",), seeds=(0, 1, 2)),
    *_each("nottingham", None, FULL, models=("transformer",), seeds=(0, 1, 2)),
    Planned("adding", "transformer", variant={"seq_len": 600}, max_time=7200, options=FULL),
    Planned("copy_memory", "transformer", variant={"seq_len": 1000}, max_time=7200, options=FULL),
    # The state-space kind (seqbench.nn.ssm), matched to the TCN's parameter count and trained with
    # the TCN's settings: JSB at the protocol (two seeds); the rest at 40 minutes each, what one
    # session's two cores allowed (its training step costs 3-29x the TCN's here, docs/performance.md).
    *[Planned("jsb", "ssm", seed=s, max_time=3600, options=FULL) for s in (0, 1)],  # a bound it does not need
    Planned("nottingham", "ssm", max_time=2400, options=FULL),
    Planned("adding", "ssm", variant={"seq_len": 600}, max_time=2400, options=FULL),
    Planned("mnist", "ssm", max_time=2400, options=FULL),
    Planned("copy_memory", "ssm", variant={"seq_len": 1000}, max_time=2400, options=FULL),
    Planned("pmnist", "ssm", max_time=2400, options=FULL),
    # The rows the protocol cannot fit on 2 CPU cores, at two hours each. The MNIST LSTM and
    # RNN train with the paper's LSTM settings (RMSprop 1e-3, clip 1), the word-PTB RNN at SGD lr 1
    # instead of 4 (seqbench.paper.BASELINE_TRAINING).
    Planned("mnist", "tcn", options=FULL),
    Planned("pmnist", "tcn", options=FULL),
    *_each("mnist", 7200, FULL, models=BASELINES),
    *_each("pmnist", 7200, FULL, models=BASELINES),
    *_each("ptb_char", 7200, ("--val-every", "245")),
    *_each("ptb", 7200, ("--val-every", "363")),
    # Ablations. The official copy-memory and music scripts call the gradient clip before
    # backward(), so the paper's runs were effectively unclipped: the TCN once more without.
    Planned("copy_memory", "tcn", variant={"seq_len": 1000}, options=("--clip", "0", *FULL)),
    # JSB as the official script effectively trains: no clipping, each piece's summed NLL as its loss.
    *[Planned("jsb", "tcn", seed=s, variant={"sequence_loss": "sum"}, options=("--clip", "0", *FULL))
      for s in (0, 1, 2)],
    Planned("jsb", "tcn", variant={"sequence_loss": "sum"}, options=FULL),
    # JSB with the official music script's own defaults (k=5, 4 levels, dropout 0.25 instead of
    # the paper's table's k=3, 2 levels, 0.5), trained as that script trains.
    *[Planned("jsb", "tcn", seed=s, variant={"sequence_loss": "sum"},
              options=("--kernel-size", "5", "--levels", "4", "--dropout", "0.25", "--clip", "0", *FULL))
      for s in (0, 1, 2)],
    # Earlier runs at a constant learning rate (before the presets ran the official schedules):
    # five TCN seeds and three of each baseline on JSB, the paper's channel ("spatial")
    # dropout, no clipping, the official code's effective initialisation, and the first
    # session's Nottingham rows.
    *[Planned("jsb", m, seed=s, options=(*CONSTANT, *FULL)) for s in (0, 1, 2) for m in MODELS],
    *[Planned("jsb", "tcn", seed=s, options=(*CONSTANT, *FULL)) for s in (3, 4)],
    *[Planned("jsb", "tcn", seed=s, options=("--dropout-mode", "channel", *CONSTANT, *FULL)) for s in (0, 1, 2)],
    *[Planned("jsb", "tcn", seed=s, options=("--clip", "0", *CONSTANT, *FULL)) for s in (0, 1, 2)],
    *[Planned("jsb", "tcn", seed=s, options=("--init", "official", *CONSTANT, *FULL)) for s in (0, 1, 2)],
    *[Planned("jsb", "tcn", seed=s, options=("--init", "official", "--clip", "0", *CONSTANT, *FULL))
      for s in (0, 1)],
    Planned("nottingham", "tcn", max_time=3000, options=CONSTANT),
    Planned("nottingham", "lstm", max_time=1500, options=CONSTANT),
]


def select(plan: list[Planned], tasks=None, models=None, seeds: int | None = None, only=None) -> list[Planned]:
    """The planned runs of ``tasks`` and ``models`` (None: all). ``seeds=N`` gives every selected
    configuration seeds 0..N-1 (the time budget and options of its lowest seed), dropping higher ones;
    ``only`` keeps runs whose name is listed."""
    chosen = [p for p in plan if (tasks is None or p.task in tasks) and (models is None or p.model in models)]
    if seeds is not None:
        by_config: dict[tuple, list[Planned]] = {}
        for p in chosen:
            by_config.setdefault(p.configuration, []).append(p)
        chosen = []
        for runs in by_config.values():
            have = {p.seed: p for p in runs}
            template = min(runs, key=lambda p: p.seed)
            chosen += [have.get(s, template.with_seed(s)) for s in range(seeds)]
    if only is not None:
        chosen = [p for p in chosen if p.name in only]
    return chosen
