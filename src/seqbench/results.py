"""What a run's ``result.json`` holds: :class:`RunResult`, the one schema the runner writes and
the report, ``compare`` and ``train`` read. Torch-free, so reading results stays light.

Files written before a field existed still load: such fields take their defaults (``None``
for ``baseline``, ``steps``, ...). A file missing a required field, with a field of the wrong
type, too large, or not JSON, is a ``ValueError`` naming the file; readers of many results
(``seqbench report``, ``reproduce``) skip such a file with a warning (:func:`read_result`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .files import read_text_limited, write_json

RESULT = "result.json"


@dataclass
class RunResult:
    """One finished run.

    Attributes:
        task, variant, model, preset, seed: what was trained.
        config: ``{"run": RunConfig as a dict, "training": the resolved settings, "model": its shape}``.
        parameters, receptive_field: the model's size; ``receptive_field`` None when unbounded.
        primary_metric, higher_is_better: the metric the paper reports, and its direction.
        metrics: ``{"valid": {...}, "test": {...}}`` of the delivered checkpoint (see ``selection``).
        selection: which checkpoint that is: ``{"rule": "loss" | "metric" | "last", "metric": the
            validation metric the rule monitored (None for "last"), "epoch": ..., "step": ...}``;
            None in files from before it was recorded (they selected on the primary metric).
        test_last3_mean: mean test metrics of the last 3 validations (``--test-every-epoch``).
        best_epoch, epochs, steps, epochs_planned, stopped_by_time_limit, wall_time_s: the budget used.
        paper: ``{"value": the paper's number for this model, "variant": which variant it is for}``.
        baseline: the task's model-free reference (``name``, ``valid``, ``test`` metrics), if any.
        checkpoint, run_dir: where the files are.
        history: one row per validation (epoch, step, train loss, lr, elapsed seconds, metrics).
        test_items: every test item's statistics at the reported checkpoint, in the test split's
            order: ``{statistic: {"sum": [...], "count": [...]}}`` (``ItemTotals.to_dict``), for
            paired tests and resampled intervals over items; None when not recorded.
        primary_statistic: the statistic of ``test_items`` whose ratio of sums (sum over items /
            count over items) is the primary metric, so resampled items give resampled metric
            values; None when the metric is no such ratio (a perplexity) or items are missing.
        versions, machine, world_size: what it ran on.
    """

    task: str
    model: str
    seed: int
    primary_metric: str
    metrics: dict
    parameters: int
    epochs: float
    wall_time_s: float
    variant: dict = field(default_factory=dict)
    preset: str = "paper"
    config: dict = field(default_factory=dict)
    receptive_field: int | None = None
    higher_is_better: bool = False
    test_last3_mean: dict | None = None
    best_epoch: float | None = None
    steps: int = 0
    epochs_planned: int | None = None
    stopped_by_time_limit: bool = False
    world_size: int = 1
    paper: dict = field(default_factory=dict)
    baseline: dict | None = None
    checkpoint: str | None = None
    run_dir: str | None = None
    history: list = field(default_factory=list)
    test_items: dict | None = None
    primary_statistic: str | None = None
    selection: dict | None = None
    versions: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)

    # -- reading and writing ------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict, source: str = "result") -> "RunResult":
        """The result a JSON object holds; a ValueError naming ``source`` when it is not one."""
        if not isinstance(d, dict):
            raise ValueError(f"{source}: a result is a JSON object, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [k for k in required if k not in d]
        if missing:
            raise ValueError(f"{source}: not a seqbench result (missing {', '.join(missing)})")
        factories = {f.name for f in dataclasses.fields(cls) if f.default_factory is not dataclasses.MISSING}
        given = {k: v for k, v in d.items() if k in names and not (v is None and k in factories)}
        _check_types(given, source)
        return cls(**given)

    @classmethod
    def load(cls, path: str | Path) -> "RunResult":
        """Read ``path`` (a regular file of at most :data:`~seqbench.files.RUN_FILE_LIMIT` bytes)."""
        path = Path(path)
        try:
            data = json.loads(read_text_limited(path))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from None
        except RecursionError:  # deeply nested brackets
            raise ValueError(f"{path} is not valid JSON: nested too deeply") from None
        return cls.from_dict(data, str(path))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        """Write as JSON, atomically."""
        write_json(path, self.to_dict())

    # -- what readers ask ---------------------------------------------------------------
    @property
    def run(self) -> dict:
        """The run's configuration (``RunConfig`` fields), ``{}`` for results that lack it."""
        return self.config.get("run", {}) if self.config else {}

    @property
    def test_value(self) -> float | None:
        """The test value of the primary metric, at the best-validation checkpoint."""
        return self.metrics.get("test", {}).get(self.primary_metric)

    @property
    def valid_value(self) -> float | None:
        return self.metrics.get("valid", {}).get(self.primary_metric)

    @property
    def paper_value(self) -> float | None:
        return (self.paper or {}).get("value")

    @property
    def variant_label(self) -> str:
        """``"T=600"`` for a sequence-length variant, else ``""``."""
        return f"T={self.variant['seq_len']}" if "seq_len" in self.variant else ""

    @property
    def task_label(self) -> str:
        """``"adding (T=600)"``: the task and the variant its numbers depend on."""
        return self.task + (f" ({self.variant_label})" if self.variant_label else "")

    def validation_rank(self) -> float:
        """Sort key: better validation primary metric first (missing last)."""
        v = self.valid_value
        if v is None or not math.isfinite(v):
            return math.inf
        return -v if self.higher_is_better else v

    def better(self, a: float, b: float) -> bool:
        """True when value ``a`` of the primary metric beats ``b``."""
        return a > b if self.higher_is_better else a < b


def _accepts(hint, value) -> bool:
    """Whether ``value`` (as JSON loads it) is of the field type ``hint``: a float field takes
    an int (JSON writes 2.0 as 2 in some writers), no number field takes a bool."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_accepts(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint in (int, float):
        return isinstance(value, (int, float) if hint is float else int) and not isinstance(value, bool)
    return isinstance(value, typing.get_origin(hint) or hint)


def _check_types(fields: dict, source: str) -> None:
    """A ValueError naming ``source`` and the field when a field, or a part the readers index
    (``metrics[split]``, ``config[part]``, ``history[i]``), has the wrong JSON type."""
    hints = typing.get_type_hints(RunResult)
    for name, value in fields.items():
        if not _accepts(hints[name], value):
            raise ValueError(f"{source}: field {name!r} must be {_type_name(hints[name])}, got {type(value).__name__}")
    inner = [(f"metrics[{k!r}]", v) for k, v in fields.get("metrics", {}).items()]
    inner += [(f"config[{k!r}]", v) for k, v in (fields.get("config") or {}).items() if k in ("run", "training")]
    inner += [(f"history[{i}]", v) for i, v in enumerate(fields.get("history") or [])]
    for where, value in inner:
        if not isinstance(value, dict):
            raise ValueError(f"{source}: {where} must be an object, got {type(value).__name__}")
    for split, values in fields.get("metrics", {}).items():
        for metric, value in values.items():
            if not _accepts(float | None, value):
                raise ValueError(f"{source}: metrics[{split!r}][{metric!r}] must be a number, "
                                 f"got {type(value).__name__}")


def _type_name(hint) -> str:
    return " or ".join("null" if h is type(None) else h.__name__ for h in (typing.get_args(hint) or (hint,)))


def read_result(path: str | Path, warn: Callable[[str], None] | None = None) -> RunResult | None:
    """The result in ``path``; for a malformed file, None after ``warn`` (one line naming the
    file) when ``warn`` is given, else the error.

    Raises:
        ValueError: a malformed result (not JSON, wrong types, too large, not a regular file).
        OSError: the file cannot be read.
    """
    try:
        return RunResult.load(path)
    except (ValueError, OSError) as e:
        if warn is None:
            raise
        why = str(e) if isinstance(e, ValueError) else f"{path}: {e.strerror or e}"
        warn(f"skipping {why}")
        return None


def find_results(runs_dir: str | Path, warn: Callable[[str], None] | None = None) -> list[RunResult]:
    """Every ``result.json`` under ``runs_dir`` (searched recursively), in file order.

    ``warn``: given, a malformed result file is skipped with one line naming it (see
    :func:`read_result`); else it raises.

    Raises:
        FileNotFoundError: no such directory, or no result in it.
        ValueError: a result file that is not JSON or not a seqbench result (names the file).
    """
    root = Path(runs_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no runs directory at {root}")
    paths = sorted(root.rglob(RESULT))
    results = [r for path in paths if (r := read_result(path, warn)) is not None]
    if not results:
        found = f" (the {len(paths)} found are malformed)" if paths else ""
        raise FileNotFoundError(f"no {RESULT} under {root}{found}; train something first (seqbench train/compare)")
    return results
