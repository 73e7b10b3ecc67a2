"""Each model kind's search space, read from its declaration (``Encoder.SEARCH_SPACE``), and a
trial's values turned into the run settings of a model at the matched parameter budget.

A declaration maps run settings (``seqbench.run_settings.SETTINGS``) to values: a list is a
choice among them, ``(low, high)`` a uniform range (integers when both ends are), and
``(low, high, "log")`` a log-uniform one. Nothing here imports Optuna: the study does
(:func:`distributions`), so the declarations stay plain data beside each kind.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..choices import REFERENCE_KIND
from ..run_settings import BY_FIELD

# the points a grid search takes from a range: its ends and what lies evenly between them
GRID_POINTS = 3
# the TCN's shape settings: tuning them sets its width too, so its size stays the preset's
TCN_SHAPE = ("kernel_size", "levels")


def search_space(kind: str) -> dict[str, Any]:
    """Kind ``kind``'s declared space, checked: every key a run setting that applies to the kind,
    every value a non-empty list or a ``(low, high[, "log"])`` range inside the setting's bounds."""
    from ..nn import get_kind

    space = dict(get_kind(kind).SEARCH_SPACE)
    for field, values in space.items():
        setting = BY_FIELD.get(field)
        if setting is None or setting.part not in ("model", "baseline", "training"):
            raise ValueError(f"{kind}.SEARCH_SPACE: {field!r} is not a model or training setting of "
                             "seqbench.run_settings.SETTINGS")
        if setting.applies_to and kind not in setting.applies_to:
            raise ValueError(f"{kind}.SEARCH_SPACE: {field!r} applies to {', '.join(setting.applies_to)} only")
        if field == "hidden_size":
            raise ValueError(f"{kind}.SEARCH_SPACE: the width is set by parameter matching, not searched")
        for value in (values if isinstance(values, list) else _range(kind, field, values)[:2]):
            setting.check(value)
    return space


def declares_own_space(kind: str) -> bool:
    """Whether kind ``kind`` declares a search space of its own (else it has the shared training settings')."""
    from ..nn import Encoder, get_kind

    return get_kind(kind).SEARCH_SPACE is not Encoder.SEARCH_SPACE


def _range(kind: str, field: str, values) -> tuple:
    """``(low, high, log)`` of a declared range, or a ValueError saying what a declaration is."""
    ok = isinstance(values, tuple) and len(values) in (2, 3) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values[:2])
    if not ok or values[0] >= values[1] or (len(values) == 3 and values[2] != "log"):
        raise ValueError(f"{kind}.SEARCH_SPACE[{field!r}] must be a non-empty list of choices, (low, high) or "
                         f"(low, high, 'log') with low < high; got {values!r}")
    log = len(values) == 3
    if log and values[0] <= 0:
        raise ValueError(f"{kind}.SEARCH_SPACE[{field!r}]: a log range needs low > 0, got {values!r}")
    return values[0], values[1], log


def describe(kind: str) -> str:
    """One line of kind ``kind``'s space, as ``seqbench tune`` prints it before the first trial."""
    words = []
    for field, values in search_space(kind).items():
        if isinstance(values, list):
            words.append(f"{field} in {{{', '.join(str(v) for v in values)}}}")
        else:
            low, high, log = _range(kind, field, values)
            words.append(f"{field} {'log-uniform' if log else 'uniform'} [{low:g}, {high:g}]")
    own = "" if declares_own_space(kind) else " (declares no SEARCH_SPACE: the training settings every kind shares)"
    return f"{kind}: " + "; ".join(words) + own


def distributions(kind: str, grid: bool = False) -> dict:
    """The space as Optuna distributions; ``grid``: as the lists of a grid search (a range gives
    :data:`GRID_POINTS` points, geometric for a log range)."""
    import optuna.distributions as d

    out = {}
    for field, values in search_space(kind).items():
        if isinstance(values, list):
            out[field] = list(values) if grid else d.CategoricalDistribution(values)
            continue
        low, high, log = _range(kind, field, values)
        integer = isinstance(low, int) and isinstance(high, int) and BY_FIELD[field].kind is int
        if grid:
            out[field] = _grid_points(low, high, log, integer)
        elif integer:
            out[field] = d.IntDistribution(low, high, log=log)
        else:
            out[field] = d.FloatDistribution(float(low), float(high), log=log)
    return out


def _grid_points(low, high, log: bool, integer: bool) -> list:
    if log:
        points = [low * (high / low) ** (i / (GRID_POINTS - 1)) for i in range(GRID_POINTS)]
    else:
        points = [low + (high - low) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
    return sorted({round(p) for p in points}) if integer else [float(f"{p:.3g}") for p in points]


def run_settings(task, kind: str, preset: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``RunConfig`` settings of a trial's ``params``: the params themselves, and for a TCN
    whose kernel size or depth they set, the width that keeps its parameter count at the preset
    TCN's (the other kinds are matched to that TCN by ``Task.build_model`` as in every run)."""
    settings = dict(params)
    if kind == REFERENCE_KIND and any(f in params for f in TCN_SHAPE):
        settings["hidden_size"] = matched_tcn_width(task, preset, {f: params[f] for f in TCN_SHAPE if f in params})
    return settings


def matched_tcn_width(task, preset: str, shape: Mapping[str, int]) -> int:
    """The TCN width with ``shape`` (kernel size, levels) whose parameter count is closest to the
    ``preset`` TCN's."""
    import torch

    from ..nn import make_model, match_parameters

    kw = task.model_kwargs(preset)
    if "channels" in kw:
        raise ValueError(f"task {task.name}'s {preset} TCN lists its channels per level: its depth is not tuned")
    with torch.device("meta"):
        target = make_model(REFERENCE_KIND, **kw).num_parameters()
    fixed = {k: v for k, v in {**kw, **shape}.items() if k != "hidden_size"}
    return match_parameters(REFERENCE_KIND, target, **fixed)


def settings_text(settings: Mapping[str, Any]) -> str:
    """A trial's settings as ``lr 0.0012, optimizer adam, ...`` (the report's and the log's words);
    none overridden: the preset's own."""
    if not settings:
        return "the preset's settings (untuned)"
    return ", ".join(f"{k} {_value(v)}" for k, v in settings.items())


def _value(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) and not math.isclose(v, round(v)) else str(v)
