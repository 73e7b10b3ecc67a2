"""Options of the ``custom`` task (your own file) for ``seqbench train custom`` and
``seqbench compare custom``: one decorator adds them, one function turns them into the
task's variant (the keyword arguments of :func:`seqbench.tasks.custom`), and one turns the
keywords that the task's messages name back into these flags."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from ..tasks.custom import FILL_POLICIES, KINDS, MAX_LENGTH_LIMIT, TOKEN_KINDS, DataError, SplitOptions
from ..tasks.custom.intervals import Intervals, check_quantiles
from ..tasks.custom.known import KnownInputs

# option destination -> keyword of tasks.custom (``--task`` is stored as ``problem``: TASK is the argument)
KEYS = {
    "file": "file", "target": "target", "id_column": "id_column", "time_column": "time_column",
    "problem": "task", "features": "features", "input_length": "input_length", "horizon": "horizon",
    "fill": "fill", "drop": "drop", "split": "split", "causal": "causal", "text": "text", "tokens": "tokens",
    "max_vocab": "max_vocab", "min_count": "min_count", "max_length": "max_length",
    "test_file": "test_file", "split_column": "split_column", "test_size": "test_size", "cutoff": "cutoff",
    "folds": "folds", "resamples": "resamples", "backtest": "backtest", "stride": "stride",
    "refit_every": "refit_every", "quantiles": "quantiles", "likelihood": "likelihood", "conformal": "conformal",
    "known_features": "known_features", "calendar": "calendar", "scaling": "scaling",
    "series_embedding": "series_embedding",
}
# options whose False is a choice (``--no-causal``), not "not given"
_BOOLEAN_CHOICES = {"causal"}
# keyword of tasks.custom -> its flag (the same name, with dashes)
FLAGS = {keyword: "--" + keyword.replace("_", "-") for keyword in KEYS.values()}
# the forms the task's messages use (seqbench.tasks.custom.errors): target=..., drop=True,
# causal=False, fill='zero', fill='ffill'|'zero'
_KEYWORD = re.compile(r"(?<![\w.-])(" + "|".join(FLAGS) + r")=(\.\.\.|True|False|'[^']*'(?:\|'[^']*')*)")


def as_flags(message: str) -> str:
    """``message`` of the custom task with its keyword arguments said as this command line's
    flags: ``drop=True`` -> ``--drop``, ``causal=False`` -> ``--no-causal``, ``fill='zero'`` ->
    ``--fill zero``, ``target=...`` -> ``--target``."""
    def flag(match: re.Match) -> str:
        keyword, value = match.groups()
        if value in ("...", "True"):
            return FLAGS[keyword]
        if value == "False":
            return "--no-" + FLAGS[keyword][2:]
        return FLAGS[keyword] + " " + value.replace("'", "")

    return _KEYWORD.sub(flag, message)


@contextmanager
def flags_in_errors() -> Iterator[None]:
    """Re-raise the custom task's :class:`~seqbench.tasks.custom.DataError` with its message
    :func:`as_flags`, for a command's one-line error."""
    try:
        yield
    except DataError as e:
        raise DataError(as_flags(str(e))) from e


def _split(ctx, param, value):
    """``--split``: three fractions train,valid,test, each in (0, 1), adding up to 1."""
    if value is None:
        return None
    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3:
        raise click.BadParameter(f"expected three fractions train,valid,test such as 0.8,0.1,0.1, got {value!r}")
    if not all(0 < p < 1 for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise click.BadParameter(f"expected three fractions in (0, 1) that add up to 1, such as 0.8,0.1,0.1; "
                                 f"got {value!r}")
    return parts


# options that apply only with --text, and those that never do (KEYS' names)
_TEXT_ONLY = ("tokens", "max_vocab", "min_count", "max_length")
_NOT_WITH_TEXT = ("features", "time_column")


def _check_combination(given: dict) -> None:
    """Refuse own-data options that contradict each other, before the file is read.

    The task checks the same (a library call gets its DataError); here they are usage errors.
    """
    def flags(keys):
        return ", ".join(FLAGS[k] for k in keys)

    if "fill" in given and given.get("drop"):
        raise click.UsageError("--fill and --drop exclude each other: choose one policy for missing values")
    if "text" in given:
        if given.get("task") == "forecast":
            raise click.UsageError("--text with --task forecast: forecasting reads numeric series; a text column "
                                   "takes --task classify or --task regress")
        if wrong := [k for k in _NOT_WITH_TEXT if k in given]:
            raise click.UsageError(f"{flags(wrong)} do{'es' if len(wrong) == 1 else ''} not apply with --text: "
                                   "a text table has one row per text, its text column the only input")
    elif extra := [k for k in _TEXT_ONLY if k in given]:
        raise click.UsageError(f"{flags(extra)} appl{'ies' if len(extra) == 1 else 'y'} to text inputs only: "
                               "pass --text with the column of texts")


def _quantiles(ctx, param, value):
    """``--quantiles``: levels in (0, 1) with 0.5 among them, comma-separated."""
    if value is None:
        return None
    try:
        return ",".join(f"{q:g}" for q in check_quantiles(value))
    except DataError as e:
        raise click.BadParameter(str(e).replace("quantiles must", "expected"))


def _calendar(ctx, param, value):
    """``--calendar``: names of :data:`~seqbench.tasks.custom.known.CALENDAR`, comma-separated."""
    if value is None:
        return None
    try:
        KnownInputs.of(calendar=value)
    except DataError as e:
        raise click.BadParameter(str(e))
    return value


def custom_options(f):
    """Add the custom task's options to a command (they are ignored by, and refused for, other tasks)."""
    for decorator in reversed([
        click.option("--file", type=click.Path(dir_okay=False), default=None,
                     help="custom: your data, a .csv/.tsv/.parquet table or an .npz (x, y, lengths)."),
        click.option("--target", default=None, help="custom: the column(s) to predict (a,b for several)."),
        click.option("--id-column", default=None,
                     help="custom: the column telling sequences apart [default: sequence_id if present]."),
        click.option("--time-column", default=None, help="custom: the column ordering steps [default: time if present]."),
        click.option("--task", "problem", type=click.Choice(KINDS), default=None,
                     help="custom: the problem [default: inferred; forecast when there is no id column]."),
        click.option("--features", default=None, help="custom: input columns, comma-separated [default: all others]."),
        click.option("--input-length", type=click.IntRange(min=1), default=None,
                     help="custom: past steps each forecast sees (default 64), or the history the TCN must cover."),
        click.option("--horizon", type=click.IntRange(min=1), default=None, help="custom: steps to forecast [default: 1]."),
        click.option("--fill", type=click.Choice(FILL_POLICIES), default=None,
                     help="custom: repair NaN/inf inputs: carry forward, interpolate, or zero."),
        click.option("--drop", is_flag=True, default=False, help="custom: drop rows with NaN/inf values instead."),
        click.option("--split", default=None, callback=_split,
                     help="custom: train,valid,test fractions [default: 0.8,0.1,0.1; a series 0.7,0.15,0.15]."),
        click.option("--causal/--no-causal", default=None,
                     help="custom: causal models, or models that see the whole sequence (non-causal TCN, "
                          "bidirectional LSTM/GRU/RNN) [default: whole sequence for one target per sequence "
                          "or text; causal for forecasts and per-step targets]."),
        click.option("--text", default=None,
                     help="custom: the column of texts (one row per text; the models embed its tokens)."),
        click.option("--tokens", type=click.Choice(TOKEN_KINDS), default=None,
                     help="custom text: lower-cased words, or characters [default: word]."),
        click.option("--max-vocab", type=click.IntRange(min=1), default=None,
                     help="custom text: keep the most frequent train-split tokens [default: 20000]."),
        click.option("--min-count", type=click.IntRange(min=1), default=None,
                     help="custom text: keep tokens seen this often in train [default: 1]."),
        click.option("--max-length", type=click.IntRange(min=1, max=MAX_LENGTH_LIMIT), default=None,
                     help=f"custom text: tokens kept of each text, its first (at most {MAX_LENGTH_LIMIT}) "
                          "[default: 512]."),
        click.option("--test-file", type=click.Path(dir_okay=False), default=None,
                     help="custom: a second file with the same columns whose sequences (texts; a series' next "
                          "rows) are the test set, e.g. an archive's official test file; valid comes from --file."),
        click.option("--split-column", default=None,
                     help="custom: a column whose values train/valid/test place each sequence (not a feature)."),
        click.option("--test-size", type=click.IntRange(min=1), default=None,
                     help="custom series: the last N steps are the test period (valid: as many before them)."),
        click.option("--cutoff", default=None,
                     help="custom series: a time value; the steps after it are the test period."),
        click.option("--folds", type=click.IntRange(min=2), default=None,
                     help="custom: K folds, every model on the same ones: stratified K-fold over sequences, "
                          "rolling origins for a series."),
        click.option("--resamples", type=click.IntRange(min=1), default=None,
                     help="custom: R random (stratified) splits, each with its own split seed."),
        click.option("--backtest", type=click.IntRange(min=1), default=None,
                     help="custom series: N forecast origins at the end of the series, each forecast from the "
                          "data up to its origin; trained once on the data before them."),
        click.option("--stride", type=click.IntRange(min=1), default=None,
                     help="custom series: steps between backtest origins [default: the horizon]."),
        click.option("--refit-every", type=click.IntRange(min=1), default=None,
                     help="custom series: train anew every K backtest origins, on the data before them."),
        click.option("--quantiles", default=None, callback=_quantiles,
                     help="custom forecast: quantile levels with 0.5, e.g. 0.1,0.5,0.9: a quantile head trained with "
                          "the pinball loss (sorted, never crossing); each central pair is scored by its coverage "
                          "and width."),
        click.option("--likelihood", type=click.Choice(("quantile", "gaussian")), default=None,
                     help="custom forecast: gaussian for a mean-and-scale head trained with the Gaussian NLL (its "
                          "--quantiles are written and scored) [default with --quantiles: quantile]."),
        click.option("--conformal", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=None,
                     help="custom forecast: split-conformal intervals of this coverage (e.g. 0.9) around a point "
                          "model, calibrated on the validation windows."),
        click.option("--known-features", default=None,
                     help="custom forecast: columns whose future values are known at forecast time (a,b); every "
                          "model reads them for the steps it forecasts, and predict needs them (--future)."),
        click.option("--calendar", default=None, callback=_calendar,
                     help="custom forecast: calendar features of the time column as known inputs: "
                          "minute, hour, dayofweek, dayofmonth, month, dayofyear (comma-separated)."),
        click.option("--scaling", type=click.Choice(("series", "global")), default=None,
                     help="custom forecast: standardise each series with its own train part's statistics, or all "
                          "with one scaler [default: series with --id-column, else global]."),
        click.option("--series-embedding", type=click.IntRange(min=1), default=None,
                     help="custom forecast: every model also reads a learned embedding of N numbers of the series "
                          "identity (--id-column)."),
    ]):
        f = decorator(f)
    return f


def pop_custom(task: str, kwargs: dict) -> dict:
    """Remove the custom options from a command's keyword arguments; return the task variant.

    Raises:
        click.UsageError: ``custom`` without ``--file``, custom options for another task, or
            custom options that contradict each other.
    """
    given = {KEYS[k]: v for k in KEYS
             if (v := kwargs.pop(k, None)) is not None and (v is not False or k in _BOOLEAN_CHOICES)}
    if task != "custom":
        if given:
            names = ", ".join("--" + k.replace("_", "-") for k in KEYS if KEYS[k] in given)
            raise click.UsageError(f"{names} appl{'ies' if len(given) == 1 else 'y'} to the custom task only, not {task!r}")
        return {}
    if "file" not in given:
        raise click.UsageError("the custom task needs your data: pass --file data.csv (or .parquet, .npz)")
    _check_combination(given)
    # an absolute path: the run records it, and evaluate re-reads it from anywhere
    for key in ("file", "test_file"):
        if key in given:
            given[key] = str(Path(given[key]).expanduser().resolve())
    try:  # options that conflict are a usage error, found before any file is read
        SplitOptions.of(given)
        Intervals.of(given.get("quantiles"), given.get("likelihood"), given.get("conformal"))
    except DataError as e:
        raise click.UsageError(as_flags(str(e))) from None
    return given


def announce_custom(task: str, variant: dict):
    """For the custom task: read and check the file now (a bad file stops here, before any
    training starts, with its one-line error), say on stderr what was read and inferred,
    and return the task, so the command reads the file only this once. None for other tasks."""
    if task != "custom":
        return None
    from .. import tasks

    with flags_in_errors():
        built = tasks.get("custom", **variant)
        lines = built.describe()
    for line in lines:
        click.echo(as_flags(line), err=True)
    return built
