"""The references a practitioner runs before believing a model: fitted on the train split
(the validation split only for their own choices, such as a regularisation strength), scored
on exactly the models' test items with the task's own metrics, and written as results beside
the models' runs.

============  =====================================================================
problem       references (:func:`applicable`)
============  =====================================================================
forecast      ``last_value``; ``seasonal_naive`` (period given, or from a regular time
              index, or from the train period's autocorrelation); ``autoreg`` (statsmodels
              ``AutoReg``, order by AIC on the train period, recursive multi-step)
classify      ``minirocket``: aeon's MiniRocket features + logistic regression
regress       ``minirocket_ridge``: MiniRocket features + ridge
text classes  ``tfidf_logreg``: TF-IDF + logistic regression (scikit-learn)
text numbers  ``tfidf_ridge``: TF-IDF + ridge
per step      none (the task's baseline stays)
============  =====================================================================

:func:`run_references` fits every one that applies and writes each as
``GROUP/reference-NAME[SUFFIX]/result.json`` (a :class:`~seqbench.results.RunResult`, preset
``"reference"``); statsmodels, scikit-learn and aeon come with ``pip install
'seqbench[reference]'``, and a reference whose library is absent is skipped with a note.
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
import warnings
from pathlib import Path
from typing import Callable

from .base import INSTALL, Fitted, Skipped, score
from .forecast import (Season, autoreg, last_value, resolve_season, season_from_autocorrelation,
                       season_from_times, seasonal_naive)
from .rocket import minirocket_classifier, minirocket_regressor
from .text import tfidf_logreg, tfidf_ridge

PRESET = "reference"
FITS: dict[str, Callable[..., Fitted]] = {
    "last_value": last_value, "seasonal_naive": seasonal_naive, "autoreg": autoreg,
    "minirocket": minirocket_classifier, "minirocket_ridge": minirocket_regressor,
    "tfidf_logreg": tfidf_logreg, "tfidf_ridge": tfidf_ridge,
}

__all__ = ["run_references", "applicable", "result_path", "resolve_season", "Season", "season_from_times",
           "season_from_autocorrelation", "Fitted", "Skipped", "ReferenceWarning", "FITS", "INSTALL"]


class ReferenceWarning(UserWarning):
    """A reference was skipped (no announce callback was given to say so)."""


def applicable(task) -> list[str]:
    """The names of the references for the task's problem, in the order they run."""
    spec = task.spec
    classes = spec.kind == "classify"
    if spec.kind == "forecast":
        return ["last_value", "seasonal_naive", "autoreg"]
    if spec.per_step:
        return []
    if spec.text is not None:
        return ["tfidf_logreg" if classes else "tfidf_ridge"]
    return ["minirocket" if classes else "minirocket_ridge"]


def result_path(group_dir, name: str, suffix: str = "") -> Path:
    """``GROUP/reference-NAME[SUFFIX]/result.json``."""
    from ..results import RESULT

    return Path(group_dir) / f"reference-{name}{suffix}" / RESULT


def run_references(task, group_dir, *, season: int | None = None, suffix: str = "", times=None,
                   announce: Callable[[str], None] | None = None) -> list:
    """Fit, score and write every reference that applies to ``task``; reuse those already written.

    Args:
        task: a custom task holding its data (``task.dataset(split)``).
        group_dir: the comparison's directory; each reference writes
            ``reference-NAME[SUFFIX]/result.json`` in it.
        season: forecasts: the seasonal period in steps (inferred when None: see
            :func:`~.forecast.resolve_season`).
        suffix: appended to each directory name, e.g. ``"-fold2"`` for one fold of several.
        times: forecasts: the time column of the series as read (a pandas Series, Index or
            array; or a list with one per series, None where unknown), to infer the season
            from a regular datetime index.
        announce: called with one line per skipped reference and per inferred period; without
            it a skip is a :class:`ReferenceWarning`.

    Returns:
        The :class:`~seqbench.results.RunResult` of every reference that ran or was reused.

    Raises:
        ValueError: ``season`` or ``suffix`` is malformed, or a result already written in
            ``group_dir`` is of another task variant or season (named, with what to do).
    """
    from ..results import RunResult

    if not isinstance(suffix, str) or any(c in suffix for c in "/\\") or suffix in (".", ".."):
        raise ValueError(f"suffix must be text without path separators, got {suffix!r}")
    names = applicable(task)
    forecast = task.spec.kind == "forecast"
    if forecast:
        resolved = resolve_season(task, season, times)   # checks season
    elif season is not None:
        raise ValueError("season applies to forecasts only")
    else:
        resolved = None
    request = {"season": None if season is None else int(season)} if forecast else {}
    variant = _plain(dict(task.variant))

    def note(line: str, skipped: bool = False) -> None:
        if announce is not None:
            announce(line)
        elif skipped:
            warnings.warn(line, ReferenceWarning, stacklevel=3)

    results = []
    for name in names:
        path = result_path(group_dir, name, suffix)
        if path.exists():
            results.append(_reused(RunResult.load(path), path, variant, request))
            continue
        started = time.perf_counter()
        try:
            with _one_thread():
                fitted = FITS[name](task, resolved)
        except Skipped as e:
            note(f"reference {name} skipped: {e}", skipped=True)
            continue
        wall = time.perf_counter() - started
        if name == "seasonal_naive":
            note(f"reference {name}: period {resolved.period} from {resolved.source}")
        result = _result(task, name, fitted, wall, variant, request, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        result.save(path)
        results.append(result)
    return results


def _one_thread():
    """BLAS and OpenMP limited to one thread while a reference fits: its linear algebra is
    small, and threads competing with the training processes' made a fit 30 times slower."""
    try:
        from threadpoolctl import threadpool_limits   # scikit-learn's dependency
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _plain(obj):
    """``obj`` as JSON gives it back (tuples as lists), for comparing with a loaded result."""
    from ..files import jsonable

    return json.loads(json.dumps(obj, default=jsonable))


def _reused(result, path: Path, variant: dict, request: dict):
    """A result written before, when it is of the same task variant and request."""
    given = (result.config or {}).get("reference", {}).get("request", {})
    if result.preset != PRESET or result.variant != variant or given != request:
        raise ValueError(f"{path} holds a reference result of other settings (variant {result.variant}, "
                         f"{given or 'no options'}); remove it or write to another directory")
    return result


def _result(task, name: str, fitted: Fitted, wall: float, variant: dict, request: dict, path: Path):
    """The :class:`~seqbench.results.RunResult` of a fitted reference, scored on valid and test."""
    import numpy as np
    import torch

    from .. import __version__
    from ..results import RunResult

    outputs, calibration, interval = fitted.outputs, None, {}
    if getattr(task.spec, "intervals", None) is not None:
        # a point reference gets the task's kind of interval from its own validation residuals
        outputs, calibration = task.interval_outputs(fitted.outputs)
        interval = {"intervals": task.spec.intervals.from_point_text}
    with task.calibrated(calibration) if calibration is not None else contextlib.nullcontext():
        valid, _ = score(task, "valid", outputs["valid"])
        test, items = score(task, "test", outputs["test"], per_item=True)
    metric = task.metrics[0]
    return RunResult(
        task=task.name, variant=variant, model=name, preset=PRESET, seed=0, primary_metric=metric.name,
        higher_is_better=metric.higher_is_better, metrics={"valid": valid, "test": test},
        parameters=int(fitted.parameters), epochs=0, steps=0, wall_time_s=round(wall, 3),
        config={"reference": {"name": name, "label": fitted.label, "settings": _plain({**fitted.settings, **interval}),
                              "request": request}},
        run_dir=str(path.parent), test_items=items,
        versions={"seqbench": __version__, "python": platform.python_version(), "numpy": np.__version__,
                  "torch": torch.__version__, **fitted.library},
    )
