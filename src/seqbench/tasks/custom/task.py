"""The custom task's contract: :class:`CustomTask` (a :class:`~seqbench.tasks.base.Task`
built from the user's file) and :func:`custom`, the way to build one.

In the scikit-learn shape: construction stores and checks the settings, :meth:`~CustomTask.fit`
reads the file, infers what it holds, splits and scales it, :meth:`~CustomTask.from_state`
restores a fitted task from a checkpoint. Reading is :mod:`.reading`'s, what differs between
problems the strategies' of :mod:`.kinds`, prediction :mod:`.predict`'s; here they become
datasets, a loss and metrics, default models whose receptive field covers the input, and a
state a checkpoint carries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ...choices import REFERENCE_KIND
from ...nn import TCNPlan, plan_tcn, receptive_field
from ..base import Metric, Preset, Task, pad_collate
from .errors import DataError, ReceptiveFieldWarning
from .files import display_name
from .intervals import Intervals, conformal_halfwidth, from_point, level_name
from .known import KnownInputs
from .kinds import problem_of
from .missing import check_policy
from .predict import predictions
from .reading import read_inputs, read_test, read_training
from .resampling import SplitOptions
from .spec import DEFAULT_HIDDEN, KINDS, CustomSpec
from .splits import check_split
from .text import DEFAULT_MAX_LENGTH, DEFAULT_MAX_VOCAB, DEFAULT_MIN_COUNT
from .text import check_options as check_text_options

SCALINGS = ("series", "global")
MAX_SERIES_REPORTED = 50   # beyond this many series the metrics give the overall errors only
TEXT_DEFAULTS = {"tokens": "word", "max_vocab": DEFAULT_MAX_VOCAB, "min_count": DEFAULT_MIN_COUNT,
                 "max_length": DEFAULT_MAX_LENGTH}



def _naming(error: DataError, file) -> DataError:
    """``error`` with the training file's name in front unless it names it already: a data
    error's one line says which file it is about, as a test file's errors do."""
    name = display_name(file)
    return error if name in str(error) else DataError(f"{name}: {error}")

class CustomTask(Task):
    """A task built from the user's file; see :mod:`seqbench.tasks.custom`. Prefer :func:`custom`.

    Construction stores the settings (and checks them); with ``file`` it also fits, as
    ``CustomTask(**settings).fit(file)`` does.

    Args:
        file: a ``.csv``/``.tsv``/``.parquet`` table, an ``.npz``, a UCR/UEA ``.ts`` file, or a
            pandas DataFrame.
        target: the column(s) to predict (a name, a list, or ``"a,b"``); may be left out
            when forecasting a table with one value column, or for an ``.npz``/``.ts`` (its ``y``).
        task: ``"classify"``, ``"regress"`` or ``"forecast"``; inferred when left out (no id
            column: forecast; a text, bool, or integer target with at most 20 values:
            classify; otherwise regress). :meth:`describe` says what was inferred.
        id_column: the column telling sequences apart (default ``"sequence_id"`` when present).
        time_column: the column ordering steps (default ``"time"`` when present; numbers or dates).
        features: input columns (default: every other column).
        input_length: forecast window length (default 64); for many sequences, the history the
            TCN must cover (default: the longest training sequence).
        horizon: steps to forecast (default 1).
        fill: repair NaN/inf in inputs: ``"ffill"``, ``"interpolate"`` or ``"zero"``.
        drop: drop rows (``.npz``: sequences) with NaN/inf instead.
        split: train/valid/test fractions (default 0.8/0.1/0.1 of sequences, 0.7/0.15/0.15 of a
            series). With a fixed test set only train:valid counts (default: valid is 20% of
            the rest; of a series, as long as the test period).
        seed: the seed of the random sequence split (and of the folds).
        test_file: a second file with the training file's columns: its sequences (texts; a
            series' following rows) are the test set; valid is drawn from ``file``.
        split_column: a column whose values ``train``/``valid``/``test`` place each sequence
            (or text); without ``valid`` rows, valid is drawn from ``train``. Not a feature.
        test_size: a series: the last ``test_size`` steps are the test period.
        cutoff: a series: the steps after this time value are the test period.
        folds, fold: K-fold resampling; ``fold`` (0..K-1, default 0) is this training's. Many
            sequences: stratified folds, fold ``fold`` the test set. A series: rolling origins,
            K test periods (``test_size`` steps each, default a (K+2)-th of it) at its end.
        resamples, resample: repeated random (stratified) splits, each drawn with its own seed.
        backtest, stride: a series: ``backtest`` forecast origins ``stride`` steps apart
            (default: the horizon) ending at the series' end; each forecast reads the steps
            before its origin; the model is trained once on the steps before the first.
        refit_every, refit: a backtest trained anew every ``refit_every`` origins; ``refit``
            says which block of origins this training forecasts.
        label: how a report names this training (from :func:`~.resampling.resampling_plan`); not
            part of the variant.
        per_step: force (or forbid) one target per step; inferred by default.
        hidden_size: channels of the default TCN.
        causal: ``True`` for causal models (each output sees only earlier steps: a causal
            TCN, LSTM/GRU/RNN, a causal Transformer; head: the last valid step); ``False``
            for models that see the whole sequence (a non-causal TCN with "same" padding,
            bidirectional LSTM/GRU/RNN, a non-causal Transformer; head: the mean over valid
            steps). Default: ``False`` for one target per sequence or text, ``True`` for
            forecasting and per-step targets. Either way the baselines are matched to the
            TCN's parameter count.
        text: a table of texts: the column holding them (one row per text; the target a
            label or number per text; ``id_column`` optional). The models embed token ids.
        tokens: text only: ``"word"`` (default; lower-cased runs of letters and digits) or
            ``"char"`` (:mod:`.text` says exactly how).
        max_vocab: text only: keep the most frequent ``max_vocab`` train-split tokens
            (default 20000; ids 0 and 1, padding and unknown, come on top).
        min_count: text only: keep tokens seen at least this often in train (default 1).
        max_length: text only: a text keeps its first ``max_length`` tokens (default 512).
        quantiles: forecast only: quantile levels (with 0.5) of a quantile head trained with the
            pinball loss (or, with ``likelihood``, the levels ``predict`` writes).
        likelihood: forecast only: ``"gaussian"`` for a mean-and-scale head trained with the
            Gaussian NLL (``"quantile"``: the pinball head, as ``quantiles`` alone gives).
        conformal: forecast only: the coverage (e.g. 0.9) of split-conformal intervals around
            a point model, calibrated on the validation windows (:mod:`.intervals`).
        known_features: forecast only: feature columns whose future values are known at
            forecast time (a name, a list or ``"a,b"``); each input step also reads their
            values at the ``horizon`` steps after it (:mod:`.known`), and ``predict`` needs
            them for the steps it forecasts.
        calendar: forecast only: calendar features of the time column (``"hour,dayofweek"``;
            also ``minute``, ``dayofmonth``, ``month``, ``dayofyear``), known inputs made for you.
        scaling: forecast only: ``"series"`` to standardise each series with its own train
            part's statistics (the default with an id column: one model learns all series,
            each on its own scale; the metrics then add MASE and the error per series), or
            ``"global"`` for one scaler fitted on every series' train part (the default for
            one series, and what every forecast did before this option).
        series_embedding: forecast only: every model also reads a learned embedding of this
            many numbers of the series' identity (:mod:`.embedding`); None: none.

    Attributes:
        spec: the :class:`~.spec.CustomSpec`: what was read, inferred and fitted (None before :meth:`fit`).
        split_ids: ``{split: [sequence id, ...]}``.
        notes: what was inferred or repaired, for :meth:`describe`.
        series_times: each sequence's time column as read (None where there is none), in the
            order of the file's sequences: a forecast's references infer a season from it.
        calibration: a conformal forecast's half-widths (one per forecast value, standardised),
            set by :meth:`calibrate`; None before it (or without ``conformal``).
    """

    name = "custom"
    default_preset = "default"  # user data has no paper setting to reproduce
    renamed_presets = {"paper": "default"}  # what runs saved before the rename call it
    selection = "loss"  # accuracy on a small validation split ties for many epochs; its loss does not

    def __init__(self, data_dir=None, *, file=None, target=None, task: str | None = None,
                 id_column: str | None = None, time_column: str | None = None, features=None,
                 input_length: int | None = None, horizon: int = 1, fill: str | None = None,
                 drop: bool = False, split=None, seed: int = 0, test_file=None, split_column: str | None = None,
                 test_size: int | None = None, cutoff=None, folds: int | None = None, fold: int | None = None,
                 resamples: int | None = None, resample: int | None = None, backtest: int | None = None,
                 stride: int | None = None, refit_every: int | None = None, refit: int | None = None,
                 label: str | None = None, per_step: bool | None = None,
                 hidden_size: int = DEFAULT_HIDDEN, causal: bool | None = None, text: str | None = None,
                 tokens: str | None = None, max_vocab: int | None = None, min_count: int | None = None,
                 max_length: int | None = None, quantiles=None, likelihood: str | None = None,
                 conformal: float | None = None, known_features=None, calendar=None,
                 scaling: str | None = None, series_embedding: int | None = None) -> None:
        if task is not None and task not in KINDS:
            raise DataError(f"task must be one of {', '.join(KINDS)}, got {task!r}")
        for name, value in (("horizon", horizon), ("hidden_size", hidden_size)) + \
                ((("input_length", input_length),) if input_length is not None else ()):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"{name} must be a positive integer, got {value!r}")
        check_policy(fill, drop)
        intervals = Intervals.of(quantiles, likelihood, conformal)
        known = KnownInputs.of(known_features, calendar)
        if series_embedding is not None and (isinstance(series_embedding, bool) or
                                             not isinstance(series_embedding, int) or series_embedding < 1):
            raise DataError(f"series_embedding must be a positive integer (its dimension), got {series_embedding!r}")
        if scaling not in (None, *SCALINGS):
            raise DataError(f"scaling must be one of {', '.join(SCALINGS)}, got {scaling!r}")
        if causal is not None and not isinstance(causal, bool):
            raise DataError(f"causal must be True, False or None (the default by problem), got {causal!r}")
        text_options = {"tokens": tokens, "max_vocab": max_vocab, "min_count": min_count, "max_length": max_length}
        if text is None:
            given = [k for k, v in text_options.items() if v is not None]
            if given:
                raise DataError(f"{given[0]}=... applies to text inputs only: pass text=... with the column of texts")
        else:
            text_options = {k: TEXT_DEFAULTS[k] if v is None else v for k, v in text_options.items()}
            check_text_options(**text_options)
        self.split_options = SplitOptions(
            split=check_split(split) if split is not None else None, seed=seed, test_file=test_file,
            split_column=split_column, test_size=test_size, cutoff=cutoff, folds=folds, fold=fold,
            resamples=resamples, resample=resample, backtest=backtest, stride=stride, refit_every=refit_every,
            refit=refit)
        self.settings = dict(target=target, task=task, id_column=id_column, time_column=time_column,
                             features=features, input_length=input_length, horizon=horizon, fill=fill, drop=drop,
                             per_step=per_step, hidden_size=hidden_size, causal=causal, text=text,
                             text_options=text_options, split=split, intervals=intervals, known=known, scaling=scaling,
                             series_embedding=series_embedding,
                             known_options=dict(known_features=None if known is None or not known.columns else
                                                ",".join(known.columns),
                                                calendar=None if known is None or not known.calendar else
                                                ",".join(known.calendar)),
                             interval_options=dict(quantiles=None if quantiles is None else
                                                   ",".join(f"{q:g}" for q in intervals.quantiles),
                                                   likelihood=likelihood, conformal=conformal))
        super().__init__(data_dir, **{k: v for k, v in dict(
            target=target, task=task, split=split, seed=seed or None, horizon=horizon).items() if v is not None})
        self.label = label
        self.spec: CustomSpec | None = None
        self.problem = None
        self.notes: list[str] = []
        self._datasets, self.split_ids, self.text_stats, self._how = None, {}, None, None
        self.series_times = None
        self.calibration = None
        self.series_names: dict[int, str] = {}
        if file is not None:
            self.fit(file)

    def fit(self, file) -> "CustomTask":
        """Read ``file`` (and the test file), infer what it holds, split it and fit the scaling
        (and a text vocabulary) on the train split; returns the task, ready to train on.

        Raises:
            DataError: a problem with the data, in one line.
        """
        o, options = self.settings, self.split_options
        text, text_options = o["text"], o["text_options"]
        tokens = text_options["tokens"] or "word"
        implied = self._implies_forecast()
        try:
            layout, data = read_training(file, target=o["target"], task=o["task"] or (implied and "forecast"),
                                         id_column=o["id_column"],
                                         time_column=o["time_column"], features=o["features"],
                                         per_step=o["per_step"], fill=o["fill"], drop=o["drop"], text=text,
                                         tokens=tokens, split_column=options.split_column)
        except DataError as e:
            raise _naming(e, file) from None
        test = None
        if options.test_file is not None:
            test = read_test(options.test_file, layout, fill=o["fill"], drop=o["drop"], tokens=tokens)
        self.notes = list(data.notes) + ([] if test is None else list(test.notes))
        if implied and o["task"] is None:
            self.notes.append(f"task: forecast, as {implied}=... asks (pass task=... to choose)")
        self.problem = problem_of(layout)
        self._check_forecast_options(layout)
        per_series = self._per_series(layout)
        forecast_options = {k: v for k, v in dict(known=o["known"], per_series=per_series or None,
                                                  series_index=o["series_embedding"] and True).items()
                            if v is not None}
        try:
            splits, self._how = self.problem.split(data, test, layout, options, input_length=o["input_length"],
                                                   horizon=o["horizon"], text_options=text_options,
                                                   **forecast_options)
        except DataError as e:
            raise _naming(e, file) from None
        self.notes += splits.notes
        for count, index in (("folds", "fold"), ("resamples", "resample"), ("refit_every", "refit")):
            if getattr(options, count) is not None and getattr(options, index) is None:
                self.notes.append(f"{count}={getattr(options, count)} without {index}=...: this is the first "
                                  "training of several (resampling_plan lists them all; compare runs each)")
        self._datasets, self.split_ids, self.text_stats = splits.datasets, splits.ids, splits.text_stats
        self.series_times = data.times
        # the per-series metrics' names: every series with windows, in the file's order
        self.series_names = {i: _series_name(key) for i, key in enumerate(data.ids)
                             if splits.series_scalers is not None and key in splits.series_scalers}
        kind = layout.kind
        # the whole sequence is seen before a per-sequence target; a forecast or a per-step
        # target is given as the steps arrive
        causal = (kind == "forecast" or layout.per_step) if o["causal"] is None else o["causal"]
        self._setup(CustomSpec(
            **dataclasses.asdict(layout), fill=o["fill"], drop=bool(o["drop"]), hidden_size=o["hidden_size"],
            causal=causal, horizon=o["horizon"], input_length=splits.input_length, input_scaler=splits.input_scaler,
            target_scaler=splits.target_scaler, target_index=splits.target_index, split_sizes=splits.sizes,
            text_encoder=splits.text_encoder, intervals=o["intervals"], known=o["known"],
            series_scalers=splits.series_scalers, season=self.problem.season.period if per_series else None,
            series_embedding=o["series_embedding"],
            series_ids=None if splits.series_ids is None else tuple(splits.series_ids)),
            self.problem)
        self.variant = self._variant(file, layout, splits.input_length, causal, per_series)
        return self

    def _check_forecast_options(self, layout) -> None:
        """Raise when intervals or known inputs are asked of another problem than a forecast,
        or name columns the file does not have as inputs."""
        o, kind = self.settings, layout.kind
        if o["intervals"] is not None and kind != "forecast":
            raise DataError("quantiles=..., likelihood=... and conformal=... make forecast intervals; this file is "
                            f"a {kind} problem")
        if o["known"] is not None:
            if kind != "forecast":
                raise DataError(f"known_features=... and calendar=... are a forecast's known future inputs; this file "
                                f"is a {kind} problem")
            o["known"].check(layout)
        if o["series_embedding"] is not None and kind != "forecast":
            raise DataError(f"series_embedding=... embeds a forecast's series identity; this file is a {kind} problem")

    def _implies_forecast(self) -> str | None:
        """The first forecast-only option given (its keyword), or None: with an id column the
        problem is otherwise inferred from the target (classify or regress). (The split options
        of a series, such as test_size=..., keep their error for sequences, which says what to use.)"""
        o = self.settings
        given = dict(quantiles=o["interval_options"]["quantiles"], likelihood=o["interval_options"]["likelihood"],
                     conformal=o["interval_options"]["conformal"], known_features=o["known_options"]["known_features"],
                     calendar=o["known_options"]["calendar"], scaling=o["scaling"],
                     series_embedding=o["series_embedding"])
        return next((k for k, v in given.items() if v is not None), None)

    def _per_series(self, layout) -> bool:
        """Whether a forecast's series are each scaled on their own (``scaling``; by default
        when an id column tells several series apart)."""
        if layout.kind != "forecast":
            if self.settings["scaling"] is not None:
                raise DataError(f"scaling=... chooses how a forecast's series are scaled; this file is a "
                                f"{layout.kind} problem")
            return False
        scaling = self.settings["scaling"]
        return scaling == "series" or (scaling is None and layout.id_column is not None)

    def _variant(self, file, layout, input_length: int, causal: bool, per_series: bool = False) -> dict:
        """The variant as resolved (what was inferred included), without the unset options;
        a resampled training's index (fold, resample, refit) is in it, so its runs are named apart."""
        o, options = self.settings, self.split_options
        text, text_options = o["text"], o["text_options"]
        text_variant = {} if text is None else dict(
            text=text, tokens=text_options["tokens"],
            **{k: v for k, v in text_options.items() if k != "tokens" and v != TEXT_DEFAULTS[k]})
        kind = layout.kind
        resampled = dict(fold=0 if options.folds is not None and options.fold is None else options.fold,
                         resample=0 if options.resamples is not None and options.resample is None else options.resample,
                         refit=0 if options.refit_every is not None and options.refit is None else options.refit)
        return {k: v for k, v in dict(
            file=_label(file), target=",".join(layout.targets), task=kind, id_column=layout.id_column,
            time_column=layout.time_column, features=o["features"], input_length=input_length,
            horizon=o["horizon"] if kind == "forecast" else None, fill=o["fill"], drop=o["drop"] or None,
            split=list(o["split"]) if o["split"] is not None else None, seed=options.seed or None,
            test_file=None if options.test_file is None else _label(options.test_file),
            split_column=options.split_column, test_size=options.test_size,
            cutoff=None if options.cutoff is None else str(options.cutoff), folds=options.folds,
            resamples=options.resamples, backtest=options.backtest, stride=options.stride,
            refit_every=options.refit_every, **resampled, per_step=o["per_step"], **o["interval_options"],
            **o["known_options"],
            # recorded whenever it is a choice (several series, or given), so a run of the
            # per-series default never resumes one made before it, with one scaler
            scaling=o["scaling"] or ("series" if per_series and layout.id_column is not None else None),
            series_embedding=o["series_embedding"],
            hidden_size=o["hidden_size"] if o["hidden_size"] != DEFAULT_HIDDEN else None, causal=causal,
            **text_variant).items() if v is not None}

    @property
    def item_block(self) -> int:
        """Consecutive test windows that share target steps: a forecast's test windows start one
        step apart (a backtest's ``stride`` apart), so each shares ``horizon - stride`` steps
        with the next and their errors move together; sequences are independent items."""
        spec = self.spec
        if spec is None or spec.kind != "forecast":
            return 1
        # a task read back from a run's state holds its options in its variant only
        options = getattr(self, "split_options", None)
        backtest, stride = (options.backtest, options.stride) if options is not None else \
            (self.variant.get("backtest"), self.variant.get("stride"))
        stride = (stride or spec.horizon) if backtest is not None else 1
        return max(1, math.ceil(spec.horizon / stride))

    def _setup(self, spec: CustomSpec, problem=None) -> None:
        """The Task attributes (sizes, head, metrics, presets) from ``spec`` (and the strategy
        of its problem that split the data, when there is one)."""
        self.spec = spec
        self.problem = problem or problem_of(spec)
        self.causal = spec.causal
        if spec.text_encoder is not None:  # token ids in, embedded
            self.input_size, self.input_adapter = len(spec.text_encoder.vocabulary), "embedding"
        else:
            leads = spec.horizon * spec.known.width if spec.known is not None else 0   # see .known
            # a series embedding's numbers replace the index channel the windows carry
            embedded = spec.series_embedding or 0
            self.input_size, self.input_adapter = len(spec.features) + leads + embedded, "identity"
        # a causal model's last valid step has seen the whole sequence; a non-causal model's
        # steps each see their neighbourhood, so all of them are pooled (masked: never padding)
        self.head = "per_step" if spec.per_step else "last" if spec.causal else "mean"
        self.output_size = self.problem.output_size(spec) * (spec.intervals.per_value if spec.intervals else 1)
        self.metrics = self.problem.metrics() + ((Metric("mase"),) if spec.series_scalers is not None else ()) \
            + self._interval_metrics()
        self._target_std = self.problem.target_std(spec)
        self.paper_results = {}
        history = spec.input_length
        try:
            plan = plan_tcn(history)
        except ValueError:  # longer than any plan covers: take the largest
            plan = TCNPlan(8, 12, receptive_field(8, [2**v for v in range(12)]))
            self.notes.append(f"input length {history} exceeds what the default TCN plan covers "
                              f"({plan.receptive_field} steps); consider shorter inputs")
        model = dict(kernel_size=plan.kernel_size, levels=plan.levels, hidden_size=spec.hidden_size, dropout=0.1)
        if spec.text_encoder is not None:  # one embedding size for every model kind
            model["embedding_size"] = spec.text_encoder.embedding_size
        # at least 500 Adam steps (16,000 examples at batch 32), however small the data: fewer
        # leave a model of a 40-sequence set near its initialisation (the "small" look: 150)
        default = Preset(model, optimizer="adam", lr=2e-3, batch_size=32, epochs=20, clip=1.0,
                         recurrent={"num_layers": 1}, min_steps=500)
        self.presets = {"default": default, "small": default.with_overrides(epochs=5, min_steps=150)}

    def _interval_metrics(self) -> tuple[Metric, ...]:
        """The metrics an interval adds: its training loss (pinball or NLL), which selection
        by validation loss monitors, then coverage and width per level."""
        intervals = self.spec.intervals
        if intervals is None:
            return ()
        loss = {"quantile": (Metric("pinball"),), "gaussian": (Metric("nll"),)}.get(intervals.method, ())
        return loss + tuple(Metric(f"{what}{name}") for name in map(level_name, intervals.levels)
                            for what in ("coverage", "width"))

    @property
    def loss_metric(self) -> Metric:
        """The training loss's metric: the pinball loss or the Gaussian NLL of an interval head,
        else the squared error (nmse) or the classes' NLL."""
        intervals = self.spec.intervals if self.spec is not None else None
        if intervals is not None and intervals.method != "conformal":
            name = "pinball" if intervals.method == "quantile" else "nll"
            return next(m for m in self.metrics if m.name == name)
        return super().loss_metric

    # -- data -----------------------------------------------------------------------------
    def dataset(self, split: str) -> Dataset:
        self.check_split(split)
        if self._datasets is None:
            raise DataError("this custom task holds no data: fit(file) reads it (a task restored from a "
                            "checkpoint predicts only)")
        return self._datasets[split]

    def collate(self, items):
        return pad_collate(items)

    # -- loss and metrics -----------------------------------------------------------------
    def _scored(self, output: torch.Tensor, batch: Mapping[str, torch.Tensor]):
        """(output, target) of the scored entries: valid steps of a per-step problem."""
        y = batch["y"]
        if not self.spec.per_step:
            return output, y
        valid = batch.get("mask")
        if valid is None:
            valid = torch.ones(y.shape[:2], dtype=torch.bool, device=y.device)
        if "target_mask" in batch:
            valid = valid & batch["target_mask"].bool()
        return output[valid], y[valid]

    def loss(self, output, batch):
        if self.spec.intervals is not None:
            return self.spec.intervals.loss(*self._scored(output, batch))
        return self.problem.loss(*self._scored(output, batch))

    def statistics(self, output, batch):
        out, y = self._scored(output.detach(), batch)
        intervals = self.spec.intervals
        # a forecast scaled per series: each item's own series' standard deviations
        std = batch["scale"].to(out.device) if "scale" in batch else self._target_std
        if intervals is None:
            stats = self.problem.statistics(out, y, std)
            point = out
        else:
            std = std.to(out.device)
            calibration = None if self.calibration is None else self.calibration.to(out.device)
            point = intervals.point(out)
            stats = {**self.problem.statistics(point, y, std), **intervals.statistics(out, y, std, calibration)}
        if "mase_scale" in batch:
            stats.update(self._series_statistics(point, y, std, batch))
        return stats

    def _series_statistics(self, point, y, std, batch) -> dict:
        """MASE (each error over its series' in-sample seasonal-naive MAE) and, for at most
        :data:`MAX_SERIES_REPORTED` series, the MAE and MASE of each (``mae@north``): every
        series' statistics in every batch (zero counts where it has no item), so that
        per-item statistics line up."""
        error = ((point - y) * std).abs()
        scaled = error / batch["mase_scale"].to(error.device)
        per_value = torch.tensor(float(error.shape[-1]), device=error.device)
        stats = {"mase": (scaled.sum(), per_value * len(error))}
        if len(self.series_names) > MAX_SERIES_REPORTED:
            return stats
        series = batch["series"].to(error.device)
        for index, name in self.series_names.items():
            rows = series == index
            count = per_value * rows.sum()
            stats[f"mae@{name}"] = (error[rows].sum(), count)
            stats[f"mase@{name}"] = (scaled[rows].sum(), count)
        return stats

    # -- conformal calibration ----------------------------------------------------------------
    def calibrate(self, model: torch.nn.Module) -> None:
        """Fit a conformal forecast's half-widths on the validation windows with ``model``
        (its weights as they are; left in the mode it had). Nothing for other tasks.

        The training module calls it after each validation (so a checkpoint carries the
        calibration of its own weights) and before the test (of the delivered weights)."""
        intervals = self.spec.intervals
        if intervals is None or intervals.method != "conformal" or self._datasets is None:
            return
        from .predict import run_model

        ds = self.dataset("valid")
        items = [ds[i] for i in range(len(ds))]
        outputs = torch.stack(run_model(model, [item["x"] for item in items]))
        self.calibration = self._conformal(outputs, torch.stack([item["y"] for item in items]))

    def _conformal(self, point: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        half = conformal_halfwidth((y - point).double().numpy(), self.spec.intervals.level)
        return torch.as_tensor(half, dtype=torch.float32)

    def interval_outputs(self, points: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """A point forecaster's outputs ``{split: (N, horizon * targets)}`` (a reference's,
        with ``"valid"`` among them) in this task's output layout, with intervals from its
        validation residuals (:func:`~.intervals.from_point`), and the conformal half-widths
        to score them with (None unless ``conformal``). Without intervals: as given."""
        if self.spec.intervals is None:
            return dict(points), None
        ds = self.dataset("valid")
        y = torch.stack([ds[i]["y"] for i in range(len(ds))])
        return from_point(self.spec.intervals, points["valid"], y, points)

    def compute_metrics(self, totals):
        # a series without items in this split has no error there, rather than an error of 0
        metrics = super().compute_metrics({k: v for k, v in totals.items() if "@" not in k or v[1] > 0})
        if "rmse" in metrics:
            metrics["rmse"] = math.sqrt(metrics["rmse"])
        return metrics

    def baseline(self, split: str = "test") -> tuple[str, dict[str, float]]:
        """A model-free reference on ``split``: ``(name, metrics)`` a trained model should beat.

        Forecasting: the last input value of each target, held for the whole horizon.
        Classes: always the train split's most frequent class (for NLL: the train class
        frequencies). Regression: always the train mean (``nmse`` near 1 by construction).
        """
        guesses, batches = {}, {}
        for part in dict.fromkeys((split, "valid") if self.spec.intervals is not None else (split,)):
            ds = self.dataset(part)
            batches[part] = self.collate([ds[i] for i in range(len(ds))])
            name, guesses[part] = self.problem.baseline(self.spec, self.dataset("train"), batches[part],
                                                        self.problem.output_size(self.spec))
        outputs, calibration = self.interval_outputs(guesses)
        with self.calibrated(calibration):
            return name, self.metrics_of(outputs[split], batches[split])

    @contextlib.contextmanager
    def calibrated(self, calibration: torch.Tensor | None):
        """Score with ``calibration`` as the conformal half-widths for the block (a
        reference's own, from its validation residuals); the model's are restored after."""
        if calibration is None:
            yield
            return
        kept, self.calibration = self.calibration, calibration
        try:
            yield
        finally:
            self.calibration = kept

    # -- models ---------------------------------------------------------------------------
    def model_kwargs(self, preset: str = "default", **overrides) -> dict:
        return super().model_kwargs(preset, **overrides)

    def build_model(self, kind: str = REFERENCE_KIND, preset: str = "default", **overrides):
        if kind == REFERENCE_KIND:  # the preset's TCN: does it see the whole input?
            kw = self.model_kwargs(preset, **{k: v for k, v in overrides.items() if k != "num_layers"})
            message = self.receptive_field_advice(kw)
            if message:
                warnings.warn(message, ReceptiveFieldWarning, stacklevel=2)
        model = super().build_model(kind, preset, **overrides)
        if self.spec.series_embedding is not None:
            from .embedding import SeriesEmbedded

            model = SeriesEmbedded(model, len(self.spec.series_ids), self.spec.series_embedding)
        return model

    def receptive_field_advice(self, model_kwargs: Mapping[str, Any]) -> str | None:
        """A warning text when a TCN of ``model_kwargs`` does not see the whole input, else None."""
        k = model_kwargs.get("kernel_size", 2)
        dilations = model_kwargs.get("dilations")
        if dilations is None:
            channels = model_kwargs.get("channels")
            levels = len(channels) if channels is not None else model_kwargs.get("levels")
            dilations = [2**v for v in range(levels)]
        rf, history = receptive_field(k, dilations), self.spec.input_length
        if rf >= history:
            return None
        try:
            p = plan_tcn(history)
            fix = f"plan_tcn({history}) suggests kernel_size={p.kernel_size}, levels={p.levels} " \
                  f"(receptive field {p.receptive_field})"
        except ValueError as e:
            fix = str(e)
        reach = "early steps cannot inform the output" if self.causal else \
            f"no output step sees the whole input (steps over {rf - 1} apart never meet)"
        return f"the TCN's receptive field ({rf} steps) does not cover the input length ({history}): {reach}; {fix}"

    # -- saving and prediction --------------------------------------------------------------
    def data_state(self) -> dict:
        """What the task made of its data (columns, classes, scaling, lengths), JSON-able: the
        part of :meth:`state` a resumed run must find unchanged."""
        return {"task": self.name, "variant": dict(self.variant), "spec": self.spec.to_dict()}

    def state(self) -> dict:
        """Everything prediction needs (:meth:`data_state`, and a conformal model's calibration,
        which each validation refits), JSON-able, without the data."""
        state = self.data_state()
        if self.calibration is not None:
            state["calibration"] = [float(v) for v in self.calibration]
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "CustomTask":
        """The task of :meth:`state`, able to build models and predict, holding no data.

        Raises:
            DataError: not a custom task's state, or one of another version.
        """
        if not isinstance(state, Mapping) or state.get("task") != cls.name or "spec" not in state:
            raise DataError("not a custom task's saved state")
        spec = CustomSpec.from_dict(state["spec"])
        task = cls.__new__(cls)
        Task.__init__(task, None, **state.get("variant", {}))
        task.notes, task._datasets, task.split_ids, task.text_stats, task._how = [], None, {}, None, None
        task.label, task.series_names = None, {}
        task._setup(spec)
        calibration = state.get("calibration")
        task.calibration = None if calibration is None else torch.tensor(calibration, dtype=torch.float32)
        return task

    def predict(self, model: torch.nn.Module, file, batch_size: int = 256, future=None):
        """Predictions of ``model`` on a new file with the training columns, as a pandas DataFrame.

        The saved scaling and missing-value policy are applied. Many sequences: one row per
        sequence (per step, for per-step targets) with the predicted class and the class
        probabilities, or the predicted value(s). Forecasting: for each series, the
        ``horizon`` steps after its end (``step`` 1..H, and their times when the time
        column is regular). A forecast with known future inputs reads their values for the
        forecast steps from ``future`` (a table with the id and time columns and the known
        columns, its first ``horizon`` rows per series); calendar features need no file.

        Raises:
            DataError: the file (or ``future``) lacks what the model reads; one line.
        """
        data = read_inputs(file, self.spec)
        self.notes += data.notes
        known = self.spec.known
        if known is not None and known.columns and future is None:
            raise DataError(f"this model reads the known future inputs {', '.join(known.columns)}: pass future=... "
                            f"with their values for the {self.spec.horizon} steps after each series' end")
        return predictions(self.spec, model, data, batch_size, calibration=self.calibration, future=future)

    def describe(self) -> list[str]:
        """What the task is, in a few lines for the command line: first the problem and the
        split sizes (per class, for classes) with warnings where a split is too small, then
        the inputs, the models and what was inferred."""
        s, problem = self.spec, self.problem
        if s is None:
            return ["custom task: not fitted yet (fit(file) reads the data)"]
        first = f"custom task: {problem.what(s)}" + (f" [{self.label}]" if self.label else "")
        lines = [first] + problem.split_lines(self._datasets, s.split_sizes, self._how)
        if s.intervals is not None and s.intervals.level is not None:
            need = math.ceil(s.intervals.level / (1 - s.intervals.level))
            if s.split_sizes[1] < need:
                lines.append(f"warning: a {s.intervals.level:g} conformal interval needs at least {need} validation "
                             f"windows; with {s.split_sizes[1]} it is unbounded (give a longer valid stretch or a "
                             "lower conformal=...)")
        lines += problem.input_lines(s, self.text_stats)
        whole = "window" if s.kind == "forecast" else problem.unit[:-1]
        if s.causal:
            lines.append("models: causal (each output sees only earlier steps; head: the last valid step); "
                         f"pass causal=False for models that see the whole {whole}")
        else:
            lines.append(f"models: see the whole {whole} (non-causal TCN, bidirectional LSTM/GRU/RNN, non-causal "
                         "Transformer; head: the mean over valid steps); pass causal=True for causal ones")
        p = self.presets["default"].model
        lines.append(f"default TCN: kernel_size {p['kernel_size']}, {p['levels']} levels, receptive field "
                     f"{receptive_field(p['kernel_size'], [2**v for v in range(p['levels'])])} >= input length "
                     f"{s.input_length}")
        if self._datasets is not None:
            name, values = self.baseline("test")
            lines.append(f"baseline on test ({name}): " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()
                                                                   if "@" not in k))
        return lines + [f"note: {n}" for n in self.notes]


def _series_name(key) -> str:
    """A series id as a metric name's suffix (``mae@north``)."""
    return str(key).replace("@", "_")


def _label(file) -> str:
    """A file for the variant: its path, or ``<DataFrame>``."""
    return str(file) if not hasattr(file, "columns") else "<DataFrame>"


def custom(file, *, target=None, task: str | None = None, **options) -> CustomTask:
    """A :class:`~seqbench.tasks.base.Task` built from your own file, ready for the training API.

    Example::

        >>> from seqbench import tasks
        >>> t = tasks.custom("sensor.csv", target="load", task="forecast", input_length=48, horizon=12)
        >>> print("\\n".join(t.describe()))          # what was read, inferred and split
        >>> model = t.build_model("tcn")              # or "lstm", "gru", "rnn": parameter-matched
        >>> predictions = t.predict(model, "sensor_new.csv")

    See :class:`CustomTask` for every option.
    """
    return CustomTask(file=file, target=target, task=task, **options)
