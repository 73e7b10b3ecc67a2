"""What a custom task is, as data: its constants, the frozen :class:`CustomSpec`, and the
saved state format.

:class:`Layout` says what the user's file holds (the problem, which columns are inputs and
targets, the classes); :class:`CustomSpec` adds the options and what was fitted on the train
split (scaling, input length). ``spec.to_dict()`` is what a checkpoint carries, plain JSON;
:meth:`CustomSpec.from_dict` reads it back. :data:`STATE_VERSION` numbers that format: a
key that changes meaning needs a new version (and a reader of the old one), so checkpoints
written before keep loading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterator

from ..base import SPLITS
from .errors import DataError
from .intervals import Intervals
from .known import KnownInputs
from .scaling import Standardizer
from .text import TextEncoder

KINDS = ("classify", "regress", "forecast")
FILL_POLICIES = ("ffill", "interpolate", "zero")
DEFAULT_SPLIT = {"sequences": (0.8, 0.1, 0.1), "forecast": (0.7, 0.15, 0.15)}
DEFAULT_INPUT_LENGTH = 64      # forecast history when none is given
DEFAULT_HIDDEN = 32            # channels of the default TCN: small data, small model
MAX_INFERRED_CLASSES = 20      # an integer target with more distinct values is taken as a regression
MAX_CLASSES = 10_000
# 2: a state says whether its models see the whole sequence (``causal``) and may hold a text
# column's vocabulary. Version 1 states (always causal, numeric) still load; a seqbench that
# reads version 1 only refuses a version 2 state rather than rebuild a causal model from it.
# 3: ``source`` may be "ts" (a UCR/UEA .ts file: prediction reads .ts or .npz files). Versions
# 1 and 2 mean what they meant.
# 4: a forecast may hold ``intervals`` (its output is then quantiles, a Gaussian, or a point
# with conformal intervals), ``known`` inputs (its input is then wider) and per-series scaling
# (``series_scaling``: each series' own statistics, ``season``: MASE's period), and a series
# embedding (``series_embedding``, ``series_ids``). Written only by a
# state that uses them: others stay version 3, so a seqbench that reads 1-3 refuses only the
# states it would misread.
STATE_VERSION = 3
FORECAST_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)


@dataclass(frozen=True, kw_only=True)
class Layout:
    """What the file holds, as the reader resolved it (defaults and inference included).

    Attributes:
        kind: ``"classify"``, ``"regress"`` or ``"forecast"``.
        source: ``"table"`` (CSV/TSV/Parquet/DataFrame), ``"npz"`` or ``"ts"`` (UCR/UEA).
        features: the input columns, in model input order (``x0, x1, ...`` for an .npz).
        targets: the predicted columns (``y`` or ``y0, y1, ...`` for an .npz); a forecast's
            are among the features too.
        id_column, time_column: the columns telling sequences apart and ordering steps, or None.
        per_step: one target per step rather than per sequence.
        classes: classify only: the labels, in the order of the model's outputs.
        text: the column of texts when the input is text (then the only feature, one
            row per text), else None.
    """

    kind: str
    source: str
    features: tuple[str, ...]
    targets: tuple[str, ...]
    id_column: str | None = None
    time_column: str | None = None
    per_step: bool = False
    classes: tuple | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        # lists are accepted (JSON gives lists); tuples keep the spec immutable
        for name in ("features", "targets", "classes"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))


@dataclass(frozen=True, kw_only=True)
class CustomSpec(Layout, Mapping):
    """Everything a custom task needs to build models and predict, without its data.

    Besides attributes (``spec.kind``), it reads like the dict of :meth:`to_dict`
    (``spec["kind"]``, ``spec["scaling"]["target_std"]``), as the task's ``spec`` always has.

    Attributes (besides :class:`Layout`'s):
        fill, drop: the missing-value policy, applied again to prediction files.
        hidden_size: channels of the default TCN.
        causal: whether the models are causal (each output sees only earlier steps), or
            see the whole sequence: a non-causal TCN, bidirectional recurrent networks and
            a non-causal Transformer, pooled by a masked mean.
        horizon: steps forecast (1 unless forecasting).
        input_length: the history the model sees: a forecast's window, or for many
            sequences the history the default TCN must cover.
        input_scaler: the features' standardisation, fitted on the train split (None for text).
        target_scaler: regress and forecast: the targets' standardisation, else None.
        target_index: forecast only: the targets' positions among the features.
        split_sizes: train, valid and test sizes (sequences, or forecast windows).
        text_encoder: text only: tokens, length cap and the train split's vocabulary.
        intervals: forecast only: how its intervals are made (:class:`~.intervals.Intervals`),
            or None for point forecasts.
        known: forecast only: inputs known in advance (:class:`~.known.KnownInputs`), or None.
        series_scalers: forecast only: ``{series id: Standardizer}`` when each series is scaled
            with its own train part's statistics (then ``input_scaler`` and ``target_scaler``
            are the pooled ones, for what describe says), else None.
        season: with ``series_scalers``: the seasonal period MASE's naive forecast uses.
        series_embedding: forecast only: the dimension of a learned embedding of the series
            identity (:mod:`.embedding`), or None; ``series_ids`` then lists the series in the
            order the embedding's rows stand for them.
    """

    fill: str | None = None
    drop: bool = False
    hidden_size: int = DEFAULT_HIDDEN
    causal: bool = True
    horizon: int = 1
    input_length: int
    input_scaler: Standardizer | None
    target_scaler: Standardizer | None = None
    target_index: tuple[int, ...] | None = None
    split_sizes: tuple[int, int, int]
    text_encoder: TextEncoder | None = None
    intervals: Intervals | None = None
    known: KnownInputs | None = None
    series_scalers: dict | None = None
    season: int | None = None
    series_embedding: int | None = None
    series_ids: tuple | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("target_index", "split_sizes"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(int(v) for v in value))

    def to_dict(self) -> dict[str, Any]:
        """The saved state's ``spec``: plain JSON. The keys of every version-1 checkpoint, and
        two added since, read with their old meaning when absent: ``causal`` (True: every
        model was causal before) and, for text, ``text`` and ``text_encoder``."""
        scaling = {} if self.input_scaler is None else self.input_scaler.to_dict()
        if self.target_scaler is not None:
            scaling.update({f"target_{k}": v for k, v in self.target_scaler.to_dict().items()})
        d: dict[str, Any] = {
            "version": FORECAST_VERSION if self.uses_forecast_extras else STATE_VERSION,
            "fill": self.fill, "drop": self.drop, "hidden_size": self.hidden_size,
            "horizon": self.horizon, "kind": self.kind, "source": self.source, "features": list(self.features),
            "targets": list(self.targets), "id_column": self.id_column, "time_column": self.time_column,
            "per_step": self.per_step, "causal": self.causal,
        }
        # version 1 has "classes" for sequences only, "target_index" for forecasts only
        if self.kind != "forecast":
            d["classes"] = None if self.classes is None else list(self.classes)
        d.update(scaling=scaling, input_length=self.input_length)
        if self.kind == "forecast":
            d["target_index"] = list(self.target_index)
        d["split_sizes"] = dict(zip(SPLITS, self.split_sizes))
        if self.text is not None:
            d.update(text=self.text, text_encoder=self.text_encoder.to_dict())
        if self.intervals is not None:
            d["intervals"] = self.intervals.to_dict()
        if self.known is not None:
            d["known"] = self.known.to_dict()
        if self.series_scalers is not None:
            d["series_scaling"] = {"ids": list(self.series_scalers),
                                   "scalers": [s.to_dict() for s in self.series_scalers.values()]}
            d["season"] = self.season
        if self.series_embedding is not None:
            d.update(series_embedding=self.series_embedding, series_ids=list(self.series_ids))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CustomSpec":
        """The spec of :meth:`to_dict`, as a checkpoint brings it back.

        Raises:
            DataError: another version, or not a custom task's spec.
        """
        if not isinstance(d, Mapping):
            raise DataError("not a custom task's saved state")
        if d.get("version") not in READABLE_VERSIONS:
            raise DataError(f"saved custom task has version {d.get('version')!r}; "
                            f"this seqbench reads versions {', '.join(map(str, READABLE_VERSIONS))}")
        try:
            scaling = d["scaling"]
            target = {k[len("target_"):]: v for k, v in scaling.items() if k.startswith("target_")}
            return cls(
                kind=d["kind"], source=d["source"], features=d["features"], targets=d["targets"],
                id_column=d["id_column"], time_column=d["time_column"], per_step=d["per_step"],
                classes=d.get("classes"), fill=d["fill"], drop=d["drop"], hidden_size=d["hidden_size"],
                causal=bool(d.get("causal", True)), horizon=d["horizon"], input_length=d["input_length"],
                input_scaler=None if d.get("text") is not None else Standardizer.from_dict(scaling),
                target_scaler=Standardizer.from_dict(target) if target else None,
                target_index=d.get("target_index"), split_sizes=[d["split_sizes"][s] for s in SPLITS],
                text=d.get("text"),
                text_encoder=TextEncoder.from_dict(d["text_encoder"]) if d.get("text") is not None else None,
                intervals=Intervals.from_dict(d.get("intervals")), known=KnownInputs.from_dict(d.get("known")),
                series_scalers=_series_scalers(d.get("series_scaling")), season=d.get("season"),
                series_embedding=d.get("series_embedding"), series_ids=d.get("series_ids"))
        except KeyError as e:
            raise DataError(f"saved custom task state lacks {e.args[0]!r}") from None

    @property
    def uses_forecast_extras(self) -> bool:
        """Whether the state needs version 4 to be read right (intervals, known inputs, per-series scaling)."""
        return self.intervals is not None or self.known is not None or self.series_scalers is not None \
            or self.series_embedding is not None

    # -- the dict view ------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def _series_scalers(d) -> dict | None:
    """``{series id: Standardizer}`` of a saved ``series_scaling`` (None when absent)."""
    if not d:
        return None
    return {key: Standardizer.from_dict(s) for key, s in zip(d["ids"], d["scalers"])}
