"""One strategy per problem kind: what differs between classifying, regressing, forecasting
and reading texts, each in a small class, so that :class:`~.task.CustomTask` holds no
``if kind == ...`` branches.

A :class:`Problem` says how its data is split (:meth:`~Problem.split`), what its targets,
loss, metrics and model-free baseline are, and what :meth:`~.task.CustomTask.describe` says
of it. :func:`problem_of` picks the strategy of a :class:`~.spec.Layout`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ..base import SPLITS, Metric
from .errors import DataError, cell
from .files import pandas
from .reading import Sequences
from .resampling import SplitOptions
from .spec import DEFAULT_INPUT_LENGTH, Layout
from .splits import Cut, Splits, sequence_parts, sequence_splits, series_cut, series_splits, text_splits
from .text import describe as describe_text

if TYPE_CHECKING:
    from .spec import CustomSpec

# below these a split says little: the lines of describe warn
MIN_TEST_ITEMS = 30        # sequences or texts: an accuracy moves in steps of 1/n
MIN_TEST_WINDOWS = 10      # forecast windows (origins)
MIN_VALID_ITEMS = 20       # the checkpoint is chosen on valid


class Problem:
    """The strategy of one problem kind; subclasses fill in what differs."""

    kind = ""
    unit = "sequences"      # what the splits count

    # -- splitting ----------------------------------------------------------------------------
    def split(self, data: Sequences, test: Sequences | None, layout: Layout, options: SplitOptions, *,
              input_length: int | None, horizon: int, text_options: dict, known=None,
              per_series: bool = False, series_index: bool = False) -> tuple[Splits, str]:
        """``(splits, how)``: the datasets of train/valid/test (scaled with train's statistics)
        and how the split was made, for :meth:`~.task.CustomTask.describe`. ``test``: the
        sequences of a test file; ``known``: a forecast's known future inputs; ``per_series``:
        a forecast's series each scaled with their own train part's statistics; ``series_index``:
        each step carries its series' index (for a learned embedding)."""
        if options.cutoff is not None or options.test_size is not None or options.backtest is not None:
            given = "cutoff" if options.cutoff is not None else "test_size" if options.test_size is not None \
                else "backtest"
            raise DataError(f"{given}=... cuts a series in time; many sequences take test_file=..., "
                            "split_column=..., folds=... or split=...")
        if test is not None:
            data = data + test
        labels = self.labels(data, layout)
        parts, how = sequence_parts(len(data.x), labels, options, data.marks, 0 if test is None else len(test.x))
        self.check_parts(parts, labels, layout)
        return self.build(data, parts, input_length, text_options), how

    def labels(self, data: Sequences, layout: Layout) -> np.ndarray | None:
        """One label per sequence to stratify the split by, or None."""
        return None

    def check_parts(self, parts: dict[str, np.ndarray], labels: np.ndarray | None, layout: Layout) -> None:
        """Raise when the split cannot choose or score models (a class missing from valid)."""

    def build(self, data: Sequences, parts: dict[str, np.ndarray], input_length: int | None,
              text_options: dict) -> Splits:
        return sequence_splits(data, self.kind == "classify", parts, input_length)

    # -- targets, loss and metrics --------------------------------------------------------------
    def metrics(self) -> tuple[Metric, ...]:
        # nmse is what the loss measures (the same units as the training curve); rmse and mae
        # are in the target's own units
        return Metric("nmse"), Metric("rmse"), Metric("mae")

    def output_size(self, spec: "CustomSpec") -> int:
        return len(spec.targets)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y)

    def statistics(self, out: torch.Tensor, y: torch.Tensor, target_std: torch.Tensor | None) -> dict:
        scaled = out - y
        err = scaled * target_std.to(out.device)  # back in the target's own units
        n = torch.tensor(float(err.numel()), device=out.device)
        return {"nmse": (scaled.pow(2).sum(), n), "rmse": (err.pow(2).sum(), n), "mae": (err.abs().sum(), n)}

    def target_std(self, spec: "CustomSpec") -> torch.Tensor | None:
        return torch.tensor(spec.target_scaler.std, dtype=torch.float32)

    def baseline(self, spec: "CustomSpec", train, batch: dict, output_size: int) -> tuple[str, torch.Tensor]:
        """``(name, output)``: a model-free guess of ``batch``'s targets, as a model's output."""
        return "train mean", torch.zeros(batch["y"].shape)

    # -- describe -------------------------------------------------------------------------------
    def what(self, spec: "CustomSpec") -> str:
        """The problem in a few words, for the first line of describe."""
        raise NotImplementedError

    def input_lines(self, spec: "CustomSpec", text_stats) -> list[str]:
        feats = spec.features
        return [f"{len(feats)} input feature(s): {', '.join(feats[:10])}{', ...' if len(feats) > 10 else ''} "
                "(standardised with train-split statistics)"]

    def split_lines(self, datasets: dict | None, sizes, how: str | None) -> list[str]:
        """The sizes of the splits, how they were made, and warnings where they are too small to say much."""
        lines = [f"train/valid/test: {'/'.join(map(str, sizes))} {self.unit}" + (f" ({how})" if how else "")]
        if datasets is None:
            return lines
        if sizes[2] < MIN_TEST_ITEMS:
            lines.append(f"warning: the test split holds only {sizes[2]} {self.unit}: a score moves in steps of "
                         f"1/{sizes[2]} and differences between models are noise; give more data, a test_file=..., "
                         "or folds=...")
        if sizes[1] < MIN_VALID_ITEMS:
            lines.append(f"warning: the valid split holds only {sizes[1]} {self.unit}: the checkpoint chosen on it "
                         "is a noisy choice; give more data or a larger valid fraction (split=...)")
        return lines


class Classify(Problem):
    kind = "classify"

    def labels(self, data, layout):
        return None if layout.per_step else np.array([int(y) for y in data.y])

    def check_parts(self, parts, labels, layout):
        if labels is None:
            return
        for split in ("train", "valid"):
            missing = sorted(set(range(len(layout.classes))) - set(labels[parts[split]].tolist()))
            if missing:
                names = ", ".join(cell(layout.classes[c]) for c in missing[:5])
                several = len(missing) > 1
                use = "trained" if split == "train" else "chosen"
                raise DataError(f"class{'es' if several else ''} {names} {'have' if several else 'has'} no sequence in "
                                f"the {split} split ({len(parts[split])} sequences for {len(layout.classes)} classes), "
                                f"so no model can be {use} on it; give more data, a larger valid fraction (split=...), "
                                "or folds=...")

    def metrics(self):
        return Metric("accuracy", higher_is_better=True), Metric("nll")

    def output_size(self, spec):
        return len(spec.classes)

    def loss(self, out, y):
        return F.cross_entropy(out, y)

    def statistics(self, out, y, target_std):
        n = torch.tensor(float(y.numel()), device=out.device)
        correct = (out.argmax(-1) == y).sum().float()
        return {"accuracy": (correct, n), "nll": (F.cross_entropy(out, y, reduction="sum"), n)}

    def target_std(self, spec):
        return None

    def baseline(self, spec, train, batch, output_size):
        """Always the train split's most frequent class; for NLL, the train class frequencies."""
        counts = torch.bincount(torch.cat([train[i]["y"].reshape(-1) for i in range(len(train))]),
                                minlength=output_size)
        name = f"always {spec.classes[int(counts.argmax())]!r}, with the train class frequencies"
        prior = (counts.double() + 1.0) / (counts.sum() + output_size)  # +1: no class impossible
        return name, prior.log().float().expand(batch["y"].shape + (output_size,))

    def what(self, spec):
        shown = ", ".join(map(str, spec.classes[:8])) + (", ..." if len(spec.classes) > 8 else "")
        one = "one per step" if spec.per_step else f"one per {self.unit[:-1]}"
        return f"classify {', '.join(spec.targets)} into {len(spec.classes)} classes ({shown}), {one}"

    def split_lines(self, datasets, sizes, how):
        lines = super().split_lines(datasets, sizes, how)
        if datasets is None or not len(datasets["train"]) or datasets["train"][0]["y"].dim() != 0:
            return lines
        counts = {s: np.bincount([int(datasets[s][i]["y"]) for i in range(len(datasets[s]))],
                                 minlength=self._n_classes) for s in SPLITS}
        shown = [f"{cell(c)} {'/'.join(str(counts[s][k]) for s in SPLITS)}" for k, c in enumerate(self._classes[:12])]
        lines.insert(1, "classes, train/valid/test: " + ", ".join(shown) + (", ..." if len(self._classes) > 12 else ""))
        absent = [c for k, c in enumerate(self._classes) if counts["test"][k] == 0]
        if absent:
            lines.append(f"warning: class{'es' if len(absent) > 1 else ''} {', '.join(map(cell, absent[:5]))} "
                         "not in the test split: its errors go unmeasured")
        return lines

    def bind(self, classes) -> "Classify":
        """This strategy with the classes to name (for the per-split counts)."""
        self._classes, self._n_classes = tuple(classes), len(classes)
        return self


class Regress(Problem):
    kind = "regress"

    def what(self, spec):
        one = "one value per step" if spec.per_step else f"one value per {self.unit[:-1]}"
        return f"regress {', '.join(spec.targets)}, {one}"


class Forecast(Problem):
    kind = "forecast"
    unit = "windows"

    season = None   # the seasonal period MASE is scaled with (per-series forecasts): ``Season``

    def split(self, data, test, layout, options, *, input_length, horizon, text_options, known=None,
              per_series=False, series_index=False):
        if options.resamples is not None:
            raise DataError("resamples=... draw sequences at random; a series takes folds=... (rolling origins) "
                            "or backtest=...")
        length = input_length or DEFAULT_INPUT_LENGTH
        test_rows = {}
        if test is not None:
            data = _joined(data, test, test_rows)
        times = data.times or [None] * len(data.x)
        if options.cutoff is not None and layout.time_column is None:
            raise DataError("cutoff=... is a time value: the series needs a time column (time_column=...)")
        need, cuts, notes, how = length + horizon, {}, [], None
        for i, x in enumerate(data.x):
            if len(x) < need:
                continue
            opts = options if options.cutoff is None else _with_cutoff(options, times[i], layout.time_column)
            cuts[i] = series_cut(len(x), horizon, opts, times[i], test_rows.get(i))
            how = how or _how(opts, cuts[i], horizon, test is not None, times[i])
        if not cuts:
            longest = max(len(x) for x in data.x)
            what = "the series has" if len(data.x) == 1 else f"the longest of {len(data.x)} series has"
            raise DataError(f"file too short: {what} {longest} rows, fewer than input_length {length} + "
                            f"horizon {horizon} = {need}; lower input_length=... or horizon=...")
        if len(cuts) < len(data.x):
            notes.append(f"skipped {len(data.x) - len(cuts)} series shorter than input_length + horizon = {need} rows")
        # a backtest refitted every k origins is scored over all its origins, not one block's
        self.scored_windows = options.backtest
        index = [layout.features.index(t) for t in layout.targets]
        if per_series:
            self.season = mase_season(data.times)
        splits = series_splits(data, index, length, horizon, cuts, lambda split: how, known, layout.features,
                               per_series, self.season.period if per_series else 1, series_index)
        splits.notes += notes
        return splits, how

    def output_size(self, spec):
        return len(spec.targets) * spec.horizon

    def target_std(self, spec):
        return super().target_std(spec).repeat(spec.horizon)

    def baseline(self, spec, train, batch, output_size):
        """The last input value of each target, held for the whole horizon."""
        last = batch["x"][:, -1, list(spec.target_index)]                 # (N, K), scaled
        return "last value", last.repeat(1, spec.horizon)

    def what(self, spec):
        return f"forecast {', '.join(spec.targets)}: the next {spec.horizon} step(s) from the last {spec.input_length}"

    def input_lines(self, spec, text_stats):
        lines = super().input_lines(spec, text_stats)
        known = spec.known
        if known is not None:
            names = list(known.columns) + [f"{c} (sine, cosine)" for c in known.calendar]
            lines.append(f"known future inputs: {', '.join(names)}: each input step also reads their values at the "
                         f"{spec.horizon} step(s) after it (the last step: the steps forecast)")
        if spec.intervals is not None:
            lines.append(f"intervals: {INTERVAL_WORDS[spec.intervals.method]}; scored by their coverage and mean "
                         "width on the test windows")
        if spec.series_scalers is not None:
            source = f" ({self.season.source})" if self.season is not None else ""
            lines.append(f"scaling per series: each of the {len(spec.series_scalers)} series standardised with its own "
                         "train part's statistics (scaling='global' for one scaler); mase: the MAE over each series' "
                         f"in-sample seasonal-naive MAE of its train part, seasonal period {spec.season}{source}")
        return lines

    scored_windows = None

    def split_lines(self, datasets, sizes, how):
        lines = [f"train/valid/test: {'/'.join(map(str, sizes))} windows" + (f" ({how})" if how else "")]
        if datasets is not None and (self.scored_windows or sizes[2]) < MIN_TEST_WINDOWS:
            lines.append(f"warning: the test split holds only {sizes[2]} forecast window(s): one stretch of the "
                         "series decides the score, with no spread to judge it by; pass backtest=... (several "
                         "origins) or folds=...")
        if datasets is not None and sizes[1] < MIN_TEST_WINDOWS:
            lines.append(f"warning: the valid split holds only {sizes[1]} forecast window(s): the checkpoint chosen "
                         "on it is a noisy choice; give a longer series or a larger valid share (split=...)")
        return lines


class Text(Problem):
    """Texts (token lists) in place of numeric inputs; the target strategy comes after it in the MRO."""

    unit = "texts"

    def build(self, data, parts, input_length, text_options):
        return text_splits(data, self.kind == "classify", parts, input_length=input_length, **text_options)

    def input_lines(self, spec, text_stats):
        return describe_text(spec.text, spec.text_encoder, text_stats)


class TextClassify(Text, Classify):
    pass


class TextRegress(Text, Regress):
    pass


def problem_of(layout: Layout) -> Problem:
    """The strategy of ``layout``'s problem."""
    if layout.kind == "forecast":
        return Forecast()
    if layout.kind == "classify":
        return (TextClassify() if layout.text is not None else Classify()).bind(layout.classes)
    return TextRegress() if layout.text is not None else Regress()


def mase_season(times):
    """The seasonal period of MASE's in-sample naive forecast: that of a regular datetime index
    (hourly 24, daily 7, ...: :func:`seqbench.references.forecast.season_from_times`), else 1
    (the previous step), with where it came from."""
    from ...references.forecast import Season, season_from_times

    for each in times or []:
        found = None if each is None else season_from_times(each)
        if found is not None:
            return found
    return Season(1, "no regular calendar time index: the previous step")


INTERVAL_WORDS = {
    "quantile": "a quantile head trained with the pinball loss (its quantiles sorted: they never cross)",
    "gaussian": "a mean-and-scale head trained with the Gaussian negative log-likelihood",
    "conformal": "split-conformal around the point forecast, calibrated on the validation windows (valid if "
                 "the test windows' errors are exchangeable with theirs)",
}


# -- forecasting helpers -------------------------------------------------------------------------
def _joined(data: Sequences, test: Sequences, test_rows: dict[int, int]) -> Sequences:
    """Each series of ``data`` followed by the same series' rows in ``test`` (``test_rows``
    receives how many came from the test file, per series)."""
    where = {key: i for i, key in enumerate(data.ids)}
    pd = pandas()
    xs, times = list(data.x), list(data.times) if data.times is not None else None
    for key, x, t in zip(test.ids, test.x, test.times or [None] * len(test.x)):
        if key not in where:
            raise DataError(f"the test file holds series {cell(key)}, which the training file does not: "
                            "a forecast's test rows continue a training series")
        i = where[key]
        if times is not None and t is not None and len(t) and len(times[i]) and t.iloc[0] <= times[i].iloc[-1]:
            raise DataError(f"the test file's rows of {'series ' + cell(key) if key is not None else 'the series'} "
                            "do not come after the training file's: they start at "
                            f"{_shown(t.iloc[0])}, the training rows end at {_shown(times[i].iloc[-1])}")
        xs[i] = np.concatenate([xs[i], x])
        if times is not None and t is not None:
            times[i] = pd.concat([times[i], t], ignore_index=True)
        test_rows[i] = len(x)
    return Sequences(list(data.ids), xs, times=times, notes=data.notes)


def _shown(value) -> str:
    """A time value for a message: a whole number as one (1979, not 1979.0), a midnight date
    as its day, cut to a short length."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    text = str(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else cell(text, 40)


def _with_cutoff(options: SplitOptions, times, column: str) -> SplitOptions:
    """``options`` with the cutoff in the time column's type (a number, or a date)."""
    pd = pandas()
    value = options.cutoff
    try:
        if pd.api.types.is_datetime64_any_dtype(times):
            value = pd.Timestamp(value)
        else:
            value = float(value)
    except (TypeError, ValueError):
        raise DataError(f"cutoff {cell(options.cutoff)} is not a value of the time column {column!r} "
                        f"(e.g. {_shown(times.iloc[-1])})") from None
    return replace(options, cutoff=value)


def _how(options: SplitOptions, cut: Cut, horizon: int, test_file: bool, times) -> str:
    """How a series was split, in words (of its first series; ``times``: its time column or None)."""
    def step(i: int) -> str:
        return f"step {i}" + ("" if times is None or i >= len(times) else f", {_shown(times.iloc[i])}")

    if options.backtest is not None:
        stride = options.stride or horizon
        trained = "one training on the data before them" if options.refit_every is None else \
            f"a training every {options.refit_every} origins, on the data before its first"
        return (f"backtest: {len(cut.origins)} forecast origin(s) {stride} steps apart from {step(cut.origins[0])}, "
                f"{trained}")
    if options.folds is not None:
        return f"rolling origin: fold {(options.fold or 0) + 1} of {options.folds}, test from {step(cut.test_start)}"
    if test_file:
        return "test: the test file's rows"
    if options.test_size is not None:
        return f"test: the last {options.test_size} steps"
    if options.cutoff is not None:
        return f"test: the steps after {_shown(options.cutoff)}"
    return "in time order"
