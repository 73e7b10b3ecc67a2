"""What a task is: data + head + loss + metric + presets. Everything else is shared.

The contract every task honours (the training loop, the CLI and the report rely on it):

* ``task.dataset(split)`` for ``"train"``, ``"valid"``, ``"test"`` is a torch ``Dataset``
  of dicts of tensors: ``"x"`` (T, C) floats or (T,) token ids, ``"y"`` the target, and
  optionally ``"target_mask"`` (T,) bool, the steps that are scored.
* ``task.collate(items)`` makes a batch dict: ``"x"`` (B, T, C) or (B, T), ``"y"``, and
  ``"mask"`` (B, T) bool of valid steps when sequences differ in length (right padding),
  plus ``"target_mask"`` when items carry one.
* ``task.loss(output, batch)`` is the scalar training loss (``task.loss_metric`` is the
  metric that equals its mean: selection by validation loss monitors it); ``task.statistics(output,
  batch)`` gives additive ``{name: (sum, count)}`` tensors that add up over batches and
  processes; ``task.compute_metrics(totals)`` turns the totals into metric values.
  ``task.metrics[0]`` is the primary metric, the one the paper reports.
* ``task.presets["paper"]`` holds the paper's TCN and the official training defaults
  (``task.default_preset`` names the preset a command uses when none is given);
  ``task.build_model(kind)`` builds the TCN or another registered kind sized to the same
  parameter count with :func:`seqbench.nn.match_model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import torch
from torch.utils.data import Dataset

from ..choices import REFERENCE_KIND, SELECTIONS
from ..run_settings import BASELINE_ONLY  # make_model overrides of the baselines: the TCN has none of them
from ..nn import SequenceModel, get_kind, make_model, match_model

SPLITS = ("train", "valid", "test")
# the metric names that this project gives the mean of a task's training loss (cross-entropy
# in nats, or the squared error of the standardised target)
LOSS_METRICS = ("nll", "nmse", "mse", "loss")


@dataclass(frozen=True)
class Metric:
    """A reported metric and which way is better."""

    name: str
    higher_is_better: bool = False

    def better(self, a: float, b: float) -> bool:
        """True when value ``a`` beats value ``b``."""
        return a > b if self.higher_is_better else a < b


@dataclass(frozen=True)
class Preset:
    """Model and training defaults for a task.

    ``model`` holds :func:`seqbench.nn.make_model` keyword arguments of the TCN (the task
    fills in input/output sizes, head and adapter); ``recurrent`` those of the baselines
    besides their hidden size (``num_layers``, ``dropout``); ``baseline_training`` a model
    kind's own training settings where they differ from the TCN's (``{"lstm": {"optimizer":
    "rmsprop", "lr": 1e-3, "clip": 1.0}}``: the paper tuned each baseline); ``baseline_model``
    a model kind's own ``make_model`` options (``{"lstm": {"forget_bias": 1.0}}``); ``variant`` the
    task variant this preset implies (e.g. a smaller training set for a quick budget);
    ``min_steps`` a floor on the optimizer steps of a run: the epochs are raised until they
    hold that many steps, so a small training set still gets a budget it can learn in.
    """

    model: Mapping[str, Any]
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    clip: float | None = None
    lr_schedule: str | None = None  # a name in seqbench.training.schedules.SCHEDULES, or None
    recurrent: Mapping[str, Any] = field(default_factory=dict)
    baseline_training: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    baseline_model: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variant: Mapping[str, Any] = field(default_factory=dict)
    min_steps: int | None = None

    def with_overrides(self, **changes) -> "Preset":
        return replace(self, **changes)

    def training_for(self, kind: str) -> dict[str, Any]:
        """The training settings (optimizer, lr, batch_size, epochs, clip, lr_schedule) of model ``kind``."""
        settings = {name: getattr(self, name) for name in ("optimizer", "lr", "batch_size", "epochs", "clip",
                                                           "lr_schedule")}
        return {**settings, **self.baseline_training.get(kind, {})}


class TensorDictDataset(Dataset):
    """Equal-length in-memory tensors, indexed together: item ``i`` is ``{name: tensor[i]}``."""

    def __init__(self, **tensors: torch.Tensor) -> None:
        lengths = {len(t) for t in tensors.values()}
        if len(lengths) != 1:
            raise ValueError(f"all tensors need the same first dimension, got {sorted(lengths)}")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        return {k: t[i] for k, t in self.tensors.items()}


def pad_collate(items: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items into a batch; right-pad along time and add ``mask`` when lengths differ.

    A field is padded when its first dimension follows the length of ``x`` (per-step
    targets, ``target_mask``); other fields (per-sequence labels) are stacked.
    """
    lengths = [len(it["x"]) for it in items]
    if len(set(lengths)) == 1:
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}
    longest = max(lengths)
    batch: dict[str, torch.Tensor] = {}
    for k in items[0]:
        per_step = all(it[k].dim() > 0 and len(it[k]) == n for it, n in zip(items, lengths))
        if not per_step:
            batch[k] = torch.stack([it[k] for it in items])
            continue
        first = items[0][k]
        out = first.new_zeros((len(items), longest) + tuple(first.shape[1:]))
        for i, it in enumerate(items):
            out[i, : len(it[k])] = it[k]
        batch[k] = out
    batch["mask"] = torch.arange(longest)[None, :] < torch.tensor(lengths)[:, None]
    return batch


class Task:
    """Base class: subclasses set the attributes below and implement ``dataset``, ``loss``
    and ``statistics``.

    Attributes:
        name: registry name (``"adding"``, ``"jsb"``, ...).
        variant: the variant's parameters, e.g. ``{"seq_len": 600}``.
        input_size: features per step, or the vocabulary size for token inputs.
        output_size: outputs per step or per sequence.
        head: the :class:`~seqbench.nn.SequenceModel` head.
        input_adapter: ``"identity"``, ``"linear"`` or ``"embedding"``.
        metrics: reported metrics; the first is the primary (the paper's).
        causal: whether an output may depend on later inputs: ``True`` (every benchmark task:
            next-step prediction, or a label given at the end of a stream) builds causal
            models; ``False`` (a whole sequence seen before its label) builds a non-causal TCN
            ("same" padding), bidirectional recurrent baselines and a non-causal Transformer.
        presets: the task's one table of presets, ``{"paper": Preset, ...}`` (built in
            ``__init__``: a preset may depend on the variant).
        default_preset: the preset ``train`` uses when none is named; ``compare_preset`` the
            one ``compare`` uses (the quick look; None: the default preset); ``renamed_presets``
            old preset names a saved run may carry, and their names now. Read through
            :meth:`preset_for` and checked by :meth:`check_preset`.
        selection: how a run chooses its delivered checkpoint when the run does not say
            (one of :data:`SELECTIONS`): the benchmark tasks keep the paper's protocol, the
            best validation primary metric; a task whose primary metric can tie for many
            validations (accuracy on a small validation split) selects on the loss.
        paper_results: the paper's test numbers ``{model kind: value}`` for the primary metric.
        item_block: how many consecutive test items are dependent (forecast windows that share
            target steps): the statistics resample blocks of this many and count a block as one
            item (:mod:`seqbench.stats`); 1 for independent items.
    """

    name: str = ""
    input_size: int
    output_size: int
    head: str = "per_step"
    input_adapter: str = "identity"
    metrics: tuple[Metric, ...] = ()
    causal: bool = True
    presets: dict[str, Preset]
    default_preset: str = "paper"
    compare_preset: str | None = None
    renamed_presets: dict[str, str] = {}
    selection: str = "metric"
    paper_results: dict[str, float] = {}
    item_block: int = 1

    def __init__(self, data_dir=None, **variant) -> None:
        self.data_dir = data_dir
        self.variant = dict(variant)

    # -- data -----------------------------------------------------------------------------
    def dataset(self, split: str) -> Dataset:
        raise NotImplementedError

    def collate(self, items):
        return pad_collate(items)

    @staticmethod
    def check_split(split: str) -> str:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        return split

    # -- loss and metrics ---------------------------------------------------------------
    def loss(self, output: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def statistics(self, output, batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError

    def compute_metrics(self, totals: Mapping[str, tuple[float, float]]) -> dict[str, float]:
        """Metric values from summed statistics; default: each statistic's mean."""
        return {k: float(s) / max(float(n), 1.0) for k, (s, n) in totals.items()}

    def metrics_of(self, output: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """The metrics of ``output`` on one batch (a whole split, for a reference predictor)."""
        totals = {k: (float(s), float(n)) for k, (s, n) in self.statistics(output, batch).items()}
        return self.compute_metrics(totals)

    def baseline(self, split: str = "test") -> tuple[str, dict[str, float]] | None:
        """A model-free reference on ``split``: ``(name, metrics)`` that a model must beat to
        have learned anything, or None when the task defines none.

        Scored with the task's own statistics, so the numbers compare with a model's.
        """
        return None

    def paper_reference(self) -> tuple[dict[str, float], str] | None:
        """The paper's test numbers ``{model kind: value}`` for the primary metric, and which
        variant they are for when not this one (``"seq_len=600"``, else ``""``); None when the
        paper reports none (your own data). Results carry them beside the run's own numbers."""
        return (dict(self.paper_results), "") if self.paper_results else None

    def state(self) -> dict | None:
        """What a checkpoint must carry to rebuild this task without its data (JSON-able), or
        None when the task name and variant rebuild it (every benchmark task)."""
        return None

    def calibrate(self, model) -> None:
        """Fit what the task derives from ``model``'s validation outputs (a conformal forecast's
        interval widths); called after every validation and before a test. Most tasks have none."""

    def data_state(self) -> dict | None:
        """The part of :meth:`state` that comes from the data alone (not from a trained model):
        a resumed run must find it as it was. None for a benchmark task."""
        return self.state()

    @property
    def primary_metric(self) -> Metric:
        return self.metrics[0]

    @property
    def loss_metric(self) -> Metric:
        """The metric that is the mean training loss (the first of :data:`LOSS_METRICS` among
        ``metrics``): what selection by validation loss monitors.

        Raises:
            ValueError: the task reports no such metric.
        """
        for metric in self.metrics:
            if metric.name in LOSS_METRICS:
                return metric
        raise ValueError(f"task {self.name} reports no loss metric ({', '.join(LOSS_METRICS)}): "
                         "select on its metric or the last checkpoint instead")

    def selection_metric(self, rule: str) -> Metric | None:
        """The validation metric that ``rule`` (one of :data:`SELECTIONS`) monitors; None for ``"last"``."""
        if rule not in SELECTIONS:
            raise ValueError(f"unknown selection {rule!r}; choose from {', '.join(SELECTIONS)}")
        return None if rule == "last" else self.loss_metric if rule == "loss" else self.primary_metric

    # -- presets --------------------------------------------------------------------------
    @classmethod
    def preset_for(cls, name: str | None = None, compare: bool = False) -> str:
        """The preset a command trains with: ``name`` (an old name as it is called now), else the
        task's own (``compare``: its ``compare_preset``, else its ``default_preset``)."""
        if name:
            return cls.renamed_presets.get(name, name)
        return (cls.compare_preset if compare else None) or cls.default_preset

    def check_preset(self, name: str) -> str:
        """``name`` if this task has that preset (the one place a preset name is checked).

        Raises:
            ValueError: naming the presets it has.
        """
        if name not in self.presets:
            raise ValueError(f"task {self.name} has no preset {name!r}; it has {', '.join(self.presets)}")
        return name

    # -- models ---------------------------------------------------------------------------
    def model_kwargs(self, preset: str = "paper", **overrides) -> dict:
        """``make_model`` keyword arguments of this task's TCN under ``preset``."""
        kw = dict(self.presets[preset].model)
        kw.update(input_size=self.input_size, output_size=self.output_size, head=self.head,
                  input_adapter=self.input_adapter)
        if not self.causal:
            kw["causal"] = False
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return kw

    def build_model(self, kind: str = REFERENCE_KIND, preset: str = "paper", **overrides) -> SequenceModel:
        """The preset's TCN, or a model of another registered ``kind`` with as many parameters as that TCN.

        ``overrides`` replace make_model arguments (``hidden_size``, ``levels``,
        ``kernel_size``, ``dropout``, ``num_layers``, an LSTM's ``forget_bias``, ...); a baseline given no
        ``hidden_size`` is matched to the (overridden) TCN's parameter count
        (:func:`~seqbench.nn.match_model`: the width :func:`~seqbench.nn.match_parameters`
        finds, or the kind's own match, e.g. a Transformer's :func:`~seqbench.nn.match_transformer`).
        A non-causal task builds each kind with its ``WHOLE_SEQUENCE`` options (a bidirectional
        recurrent model, a non-causal TCN or Transformer; a kind without them reads causally,
        up to the last step); a causal task refuses a kind that cannot be causal.
        """
        encoder = get_kind(kind)
        if self.causal and not encoder.CAUSAL:
            raise ValueError(f"task {self.name} needs causal models and a {kind} model cannot be one "
                             "(its kind is not CAUSAL)")
        tcn_kw = self.model_kwargs(preset, **{k: v for k, v in overrides.items() if k not in BASELINE_ONLY})
        if kind == REFERENCE_KIND:
            return make_model(kind, **tcn_kw)
        base = {k: tcn_kw[k] for k in ("input_size", "output_size", "head", "input_adapter")}
        if "embedding_size" in tcn_kw and tcn_kw["embedding_size"] is not None:
            base["embedding_size"] = tcn_kw["embedding_size"]
        if tcn_kw.get("embedding_dropout"):
            base["embedding_dropout"] = tcn_kw["embedding_dropout"]
        if "init" in tcn_kw:  # the embedding and decoder start the same way as the TCN's
            base["init"] = tcn_kw["init"]
        if not self.causal:  # the baselines see the whole sequence too, where their kind can
            base.update(encoder.WHOLE_SEQUENCE)
        base.update(self.presets[preset].recurrent)
        base.update(self.presets[preset].baseline_model.get(kind, {}))
        for name in BASELINE_ONLY:
            if overrides.get(name) is not None:
                base[name] = overrides[name]
        if overrides.get("dropout") is not None:
            base["dropout"] = overrides["dropout"]
        hidden = overrides.get("hidden_size")
        if hidden is None:
            with torch.device("meta"):
                target = make_model(REFERENCE_KIND, **tcn_kw).num_parameters()
            return make_model(kind, **match_model(kind, target, **base), **base)
        return make_model(kind, hidden_size=hidden, **base)

    def __repr__(self) -> str:
        v = ", ".join(f"{k}={x!r}" for k, x in self.variant.items())
        return f"{type(self).__name__}({v})"

