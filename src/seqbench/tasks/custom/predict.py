"""Predictions of a trained model on new data, as a table in the user's units.

Many sequences: one row per sequence (one per step, for per-step targets) with the
predicted class and the class probabilities, or the predicted value(s); texts likewise,
one row per text, named by its id column or its row in the file. Forecasting: for
each series, the ``horizon`` steps after its end (``step`` 1..H, and their times when the
time column is regular).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..base import pad_collate
from .errors import DataError
from .files import pandas
from .reading import Sequences
from .splits import scaled, with_index

if TYPE_CHECKING:
    from .spec import CustomSpec


def predictions(spec: "CustomSpec", model: torch.nn.Module, data: Sequences, batch_size: int = 256,
                calibration: torch.Tensor | None = None, future=None):
    """A pandas DataFrame of ``model``'s predictions on ``data`` (as :func:`~.reading.read_inputs`
    reads a file for ``spec``); ``model`` is left in the training mode it had. A forecast with
    intervals also has a column ``TARGET_qLEVEL`` per quantile level (``y_q0.1``); a conformal
    one's are its interval's ends (``calibration``: its half-widths, from the checkpoint).
    Known future inputs: their columns' values for the forecast steps are read from the
    table ``future`` (:func:`~.known.read_future`); calendar features from the future times."""
    pd = pandas()
    if spec.text_encoder is not None:  # token ids with the training vocabulary, cut to its max_length
        xs = [spec.text_encoder.ids(tokens) for tokens in data.x]
    else:
        xs = [scaled(x, _scalers(spec, key)[0]) for key, x in zip(data.ids, data.x)]
    future_rows = {}
    if spec.kind == "forecast" and spec.known is not None:
        xs, future_rows = _with_known_future(spec, xs, data, future)
    if spec.kind == "forecast" and spec.series_embedding is not None:
        xs = [with_index(x, _series_position(spec, key)) for key, x in zip(data.ids, xs)]
    if spec.kind == "forecast":
        xs = [x[-spec.input_length:] for x in xs]
    outputs = run_model(model, xs, batch_size)
    # texts without an id column are named by their row in the file (from 0, below the header)
    id_name = spec.id_column or ("index" if spec.source == "npz" else "row" if spec.text else None)
    rows = []
    for key, x, out, times in zip(data.ids, xs, outputs, data.times):
        base = {id_name: key} if id_name else {}
        if spec.kind == "forecast":
            values, bands = forecast_values(spec, out, calibration, _scalers(spec, key)[1])
            given = future_rows.get(key, (None, None))[0]
            future = list(given) if given is not None else future_times(times, spec.horizon)
            for h in range(spec.horizon):
                row = dict(base, step=h + 1)
                if future is not None:
                    row[spec.time_column] = future[h]
                row.update(zip(spec.targets, values[h].tolist()))
                row.update(bands[h])
                rows.append(row)
        elif spec.per_step:
            out = out[: len(x)]
            for t in range(len(x)):
                row = dict(base)
                row["step" if times is None else spec.time_column] = t if times is None else times.iloc[t]
                row.update(decode(spec, out[t]))
                rows.append(row)
        else:
            rows.append(dict(base, **decode(spec, out)))
    return pd.DataFrame(rows)


def _with_known_future(spec: "CustomSpec", xs: list[torch.Tensor], data: Sequences, future):
    """The scaled inputs with their lead channels (:func:`~.known.with_leads`), the forecast
    steps' known inputs from ``future`` (columns) and their times (calendar); and
    ``{id: (times, values)}`` read from ``future``."""
    from .errors import DataError
    from .known import read_future, with_leads

    known = spec.known
    rows = read_future(future, spec, data.ids) if future is not None else {}
    index = [spec.features.index(c) for c in known.columns]
    out = []
    for key, x, times in zip(data.ids, xs, data.times):
        column_scaler = _scalers(spec, key)[0].select(index)
        future_times_, values = rows.get(key, (None, np.empty((spec.horizon, 0))))
        if future_times_ is None and known.calendar:
            future_times_ = future_times(times, spec.horizon)
            if future_times_ is None:
                raise DataError("the calendar of the forecast steps needs their times: give at least two rows")
            future_times_ = pandas().Series(future_times_)
        history = known.channels(x.numpy(), spec.features, times)
        ahead = np.concatenate([column_scaler.transform(values) if index else values,
                                known.calendar_values(future_times_) if known.calendar else
                                np.empty((spec.horizon, 0))], axis=1)
        out.append(with_leads(x, np.concatenate([history, ahead]), spec.horizon))
    return out, rows


def _series_position(spec: "CustomSpec", key) -> int:
    """The row of series ``key`` in the model's series embedding."""
    if key not in spec.series_ids:
        from .errors import DataError, cell

        raise DataError(f"series {cell(key)} was not in the training data: the model's series embedding has no row "
                        "for it")
    return list(spec.series_ids).index(key)


def _scalers(spec: "CustomSpec", key):
    """``(inputs, targets)`` standardizers of series ``key``: its own when each series was
    scaled on its own, else the task's."""
    if spec.series_scalers is None:
        return spec.input_scaler, spec.target_scaler
    if key not in spec.series_scalers:
        from .errors import DataError, cell

        raise DataError(f"series {cell(key)} was not in the training data: this model scales each series with its "
                        "own train statistics, so it forecasts the series it was trained on")
    scaler = spec.series_scalers[key]
    return scaler, scaler.select(spec.target_index)


def forecast_values(spec: "CustomSpec", out: torch.Tensor, calibration: torch.Tensor | None = None,
                    target_scaler=None):
    """``(values (H, K), bands)``: one window's point forecast in the target's units (of
    ``target_scaler``, default the task's), and per step ``{"TARGET_qLEVEL": value}`` of its
    quantiles (empty without intervals)."""
    intervals, target_scaler = spec.intervals, target_scaler or spec.target_scaler
    std, mean = np.asarray(target_scaler.std), np.asarray(target_scaler.mean)
    if intervals is None:
        return target_scaler.inverse(out.reshape(spec.horizon, -1).numpy()), [{}] * spec.horizon
    one = out.reshape(1, -1)
    point = intervals.point(one).reshape(spec.horizon, -1).numpy()
    if intervals.method == "conformal" and calibration is None:
        raise DataError("this checkpoint holds no conformal calibration (it was saved before its first validation)")
    levels = intervals.quantile_values(one, calibration).reshape(spec.horizon, len(spec.targets), -1).numpy()
    bands = [{f"{t}_q{q:g}": float(levels[h, k, j] * std[k] + mean[k])
              for k, t in enumerate(spec.targets) for j, q in enumerate(intervals.quantiles)}
             for h in range(spec.horizon)]
    return point * std + mean, bands


def run_model(model: torch.nn.Module, xs: list[torch.Tensor], batch_size: int = 256) -> list[torch.Tensor]:
    """The model's output for each input, in eval mode, on the model's device and dtype."""
    outputs = []
    was_training = model.training
    model.eval()
    param = next(model.parameters())
    try:
        with torch.no_grad():
            for i in range(0, len(xs), batch_size):
                batch = pad_collate([{"x": x} for x in xs[i:i + batch_size]])  # token ids pad with 0
                x = batch["x"]
                x = x.to(param.device, param.dtype) if x.is_floating_point() else x.to(param.device)
                out = model(x, batch.get("mask", None))
                outputs += [o.cpu() for o in out]
    finally:
        model.train(was_training)
    return outputs


def decode(spec: "CustomSpec", out: torch.Tensor) -> dict:
    """One output as table cells: the class and ``p_<class>`` probabilities, or the target values."""
    if spec.kind == "classify":
        p = torch.softmax(out.float(), -1).tolist()
        best = int(np.argmax(p))
        return {spec.targets[0]: spec.classes[best], **{f"p_{c}": q for c, q in zip(spec.classes, p)}}
    values = spec.target_scaler.inverse(out.numpy())
    return dict(zip(spec.targets, values.tolist()))


def future_times(times, horizon: int):
    """The ``horizon`` times after the last of ``times``, at their median spacing (None
    without times, or with fewer than two). Whole-number times (years) stay whole numbers."""
    if times is None or len(times) < 2:
        return None
    step = times.diff().iloc[1:].median()
    last = times.iloc[-1]
    future = [last + step * (h + 1) for h in range(horizon)]
    if times.dtype.kind in "iu" and float(step).is_integer():
        future = [int(t) for t in future]
    return future
