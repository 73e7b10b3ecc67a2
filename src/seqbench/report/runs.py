"""Which runs a report puts together: labels of a run's configuration, the protocol runs of
each task and model, and their folds and seeds as one cell of a comparison. Reference
predictors (results a reference wrote into the comparison, preset ``"reference"``) are
cells beside the models."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..nn import kinds
from ..nn import label as model_label
from ..results import RunResult
from ..run_settings import NAMED_SETTINGS
from ..stats import Summary, Unit, ratio_statistic, summarize_units

REFERENCE = "reference"  # the preset a reference predictor's result names


def model_order(kind: str) -> int:
    """A model kind's place in tables and its colour in plots: the registry's order, TCN first
    (``seqbench.nn.kinds()``); a kind not registered in this process comes after them."""
    order = list(kinds())
    return order.index(kind) if kind in order else len(order)


def is_reference(r: RunResult) -> bool:
    """A reference predictor's result (seasonal naive, an AR model, MiniRocket, ...), not a model's."""
    return r.preset == REFERENCE


def model_name(r: RunResult) -> str:
    """How tables name the run's model: ``"LSTM"``, or a reference's own label."""
    if is_reference(r):
        return (r.config.get("reference") or {}).get("label") or r.model
    return model_label(r.model)


def fold_key(r: RunResult) -> str:
    """The run's test set: its variant (a fold of a resampling plan is a variant), as text."""
    return json.dumps(r.variant, sort_keys=True, default=str)


# a resampled training's index in its variant, and the count beside it (seqbench.tasks.custom.resampling_plan)
RESAMPLING = (("resample", "resamples"), ("fold", "folds"), ("refit", None))


def fold_label(r: RunResult) -> str:
    """A short name of the run's training among its resampling plan's (``"resample 1, fold 2 of 5"``,
    1-based), or ``""`` for a run that is the only one."""
    words = []
    for index, count in RESAMPLING:
        if index in r.variant:
            words.append(f"{index} {r.variant[index] + 1}" + (f" of {r.variant[count]}" if count in r.variant else ""))
    return ", ".join(words)


def unit_of(r: RunResult) -> Unit:
    """The run as a unit of the statistics: its test value and, when recorded, its test items'
    primary statistic (:mod:`seqbench.stats`)."""
    # a result that does not name its statistic (a reference's) is checked the same way the runner checks
    statistic = r.primary_statistic or ratio_statistic(r.primary_metric, r.metrics.get("test", {}), r.test_items)
    items = (r.test_items or {}).get(statistic) if statistic else None
    if not items:
        return Unit(fold_key(r), r.test_value)
    return Unit(fold_key(r), r.test_value, np.asarray(items["sum"], dtype=float), np.asarray(items["count"], dtype=float),
                int(items.get("block", 1)))


@lru_cache(maxsize=None)
def _preset_schedule(task: str, preset: str) -> str | None:
    from .. import tasks

    return tasks.get(task).presets[preset].lr_schedule


def schedule_override(r: RunResult) -> str | None:
    """The ``--lr-schedule`` that reproduces run ``r`` with today's presets: None when the run
    used its preset's schedule, ``"none"`` when it trained at a constant rate while the preset
    now has a schedule (runs from before the preset got its official schedule)."""
    if r.run.get("lr_schedule"):
        return r.run["lr_schedule"]
    if "training" not in r.config:  # a result that does not record its resolved settings
        return None
    trained = r.config["training"].get("lr_schedule")
    try:
        preset = _preset_schedule(r.task, r.preset)
    except Exception:  # a task that needs its files to be built (custom): take the run's word
        return None
    return None if trained == preset else (trained or "none")


def options_label(r: RunResult) -> str:
    """What sets a run's configuration apart from the protocol's: loss, model size, dropout,
    init, optimiser settings, clipping, schedule ("" for the protocol's own)."""
    extras = []
    if r.variant.get("sequence_loss") == "sum":  # music: the official script's loss
        extras.append("summed loss")
    extras += [s.label(r.run[s.field]) for s in NAMED_SETTINGS
               if s.field != "lr_schedule" and r.run.get(s.field) is not None]
    schedule = schedule_override(r)
    if schedule:
        extras.append(next(s for s in NAMED_SETTINGS if s.field == "lr_schedule").label(schedule))
    return ", ".join(extras)


def is_protocol(r: RunResult) -> bool:
    """A run of the preset's own model and training (any seed, any budget)."""
    return not options_label(r)


def tuning_of(r: RunResult) -> dict | None:
    """The tuning a run's settings came from (``compare --tuned``: its trials, pruned, best trial,
    study), or None for a run of settings a person gave."""
    return (r.config or {}).get("tuned")


def config_label(r: RunResult) -> str:
    """The model and its options, without the seed: runs with the same label differ by seed only."""
    options = options_label(r)
    return model_label(r.model) + (f" ({options})" if options else "")


def run_label(r: RunResult) -> str:
    """The model, plus what sets this run apart from the protocol run: fold, seed, options."""
    extras = ([fold_label(r)] if fold_label(r) else []) + ([f"seed {r.seed}"] if r.seed != 0 else []) \
        + ([options_label(r)] if options_label(r) else [])
    return model_name(r) + (f" ({', '.join(extras)})" if extras else "")


def sort_results(results: list[RunResult]) -> list[RunResult]:
    """Task, variant, model (TCN first, references last), configuration, fold, seed."""
    return sorted(results, key=lambda r: (r.task, r.variant_label, is_reference(r), model_order(r.model),
                                          r.model, options_label(r), fold_key(r), r.seed))


def by_task(results: list[RunResult]) -> dict[str, list[RunResult]]:
    """Runs grouped by task and variant (``"adding T=600"``), in order."""
    groups: dict[str, list[RunResult]] = {}
    for r in results:
        groups.setdefault(f"{r.task} {r.variant_label}".strip(), []).append(r)
    return groups


def baseline_of(runs: list[RunResult]) -> dict | None:
    """The task's model-free reference, from the first of ``runs`` that recorded one."""
    return next((r.baseline for r in runs if r.baseline), None)


@dataclass
class Cell:
    """The runs (folds x seeds) of one configuration of one model, or of one reference, on one
    task: their test values summarised."""

    runs: list[RunResult]

    @property
    def first(self) -> RunResult:
        return self.runs[0]

    @property
    def label(self) -> str:
        return model_name(self.first) + (" (tuned)" if tuning_of(self.first) else "")

    @property
    def is_reference(self) -> bool:
        return is_reference(self.first)

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for r in self.runs})

    @property
    def folds(self) -> list[str]:
        return sorted({fold_key(r) for r in self.runs})

    @property
    def values(self) -> list[float]:
        return [r.test_value for r in self.runs if r.test_value is not None]

    def units(self) -> list[Unit]:
        """Its runs with a test value, as units of the statistics (one per fold and seed)."""
        return [unit_of(r) for r in self.runs if r.test_value is not None]

    def summary(self) -> Summary | None:
        """Mean and std over folds and seeds, with an interval over test items where recorded
        (computed once: a bootstrap over many items takes a moment)."""
        if not hasattr(self, "_summary"):
            units = self.units()
            self._summary = summarize_units(units, self.first.primary_metric) if units else None
        return self._summary

    @property
    def budget_limited(self) -> bool:
        return any(r.stopped_by_time_limit for r in self.runs)

    def best_by_validation(self) -> RunResult:
        return min(self.runs, key=RunResult.validation_rank)


def protocol_cells(results: list[RunResult]) -> dict[str, dict[str, Cell]]:
    """``{task title: {model or reference name: Cell}}`` of the protocol runs (or each model's
    tuned settings, in a tuned comparison) and the references, one run per fold and seed (one
    run twice counts once: the last file found)."""
    cells: dict[str, dict[str, dict[tuple[str, int], RunResult]]] = {}
    for r in sort_results(results):
        if not (is_protocol(r) or tuning_of(r)):
            continue
        better = "higher" if r.higher_is_better else "lower"
        title = f"{r.task_label}: {r.primary_metric}, {better} is better"
        cells.setdefault(title, {}).setdefault(r.model, {})[(fold_key(r), r.seed)] = r
    return {t: {m: Cell(list(runs.values())) for m, runs in models.items()} for t, models in cells.items()}
