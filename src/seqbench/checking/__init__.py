"""``seqbench.check``: causality, receptive field, padding and streaming, measured on any sequence model.

Each property is measured on a float64 copy of the module in eval mode (the caller's
module is not touched): causality by perturbing the future and by the gradient of one
output step, the receptive field from that gradient's support (:mod:`.support`), padding
invariance when the module takes a mask or lengths, and streaming equivalence when it has a
step method.
"""

from __future__ import annotations

import math
import time

from torch import nn

from ..nn import checks
from .causality import Causality, measure_causality
from .padding import Padding, measure_padding
from .probe import AUTO, LAYOUTS, Probe
from .receptive_field import ReceptiveField, receptive_field_of
from .report import CheckReport
from .streaming import Streaming, measure_streaming
from .support import measure_support, output_step

__all__ = ["check", "CheckReport", "Causality", "ReceptiveField", "Padding", "Streaming", "LAYOUTS"]

#: the shortest input the receptive field is measured on; it doubles while the field reaches its start
START_LENGTH = 256
PERTURBATION_LENGTH = 512
PADDING_LENGTH = 96
#: steps streamed: past a bounded receptive field (so that every buffer wraps), shorter when unbounded
STREAM_LENGTH, UNBOUNDED_STREAM_LENGTH = 2048, 512


def check(module: nn.Module, input_size: int | None = None, *, layout: str = "batch_first", causal: bool = False,
          expect_rf: int | None = None, mask_arg: str | None = AUTO, lengths_arg: str | None = AUTO,
          step_method: str | None = AUTO, max_length: int = 2048, inputs: int = 3, seed: int = 0,
          tolerance: float = 1e-9, name: str | None = None) -> CheckReport:
    """Measure causality, receptive field, padding invariance and streaming equivalence of ``module``.

    Args:
        module: any ``nn.Module`` mapping ``(batch, time, input_size)`` to ``(batch, time, out)``
            (a tuple output's first element is used, as ``nn.LSTM``'s).
        input_size: features per step (default: ``module.input_size``).
        layout: ``"batch_first"`` or ``"channels_first"`` (``(batch, features, time)`` in and out,
            as ``nn.Conv1d`` stacks).
        causal: ask for causality: the report fails if any output reads a later input.
        expect_rf: ask for this receptive field (steps, the output's own included): the report
            fails unless the measured one equals it with no holes.
        mask_arg / lengths_arg: the ``forward`` keyword taking a ``(batch, time)`` bool mask
            (true at valid steps) or ``(batch,)`` lengths; ``"auto"`` finds ``mask`` or
            ``lengths``; None: no padding check.
        step_method: the streaming method ``y_t, state = module.step(x_t, state)`` (first
            state from ``module.init_state(batch_size)`` if it has one); ``"auto"``: ``step``
            when the module has ``step`` and ``init_state``; None: no streaming check.
        max_length: the longest input the receptive field is measured on (raised to hold
            ``expect_rf`` or a declared ``module.receptive_field``).
        inputs: random inputs per gradient pass (more passes run until two in a row add no step).
        seed: seeds every random input.
        tolerance: output differences up to ``tolerance * max(1, largest |output|)`` count as rounding.
        name: what the report calls the module (default: its class name).

    Returns:
        a :class:`CheckReport`; ``report.ok``, ``report.summary()``, ``report.to_dict()``.
    """
    started = time.perf_counter()
    if not isinstance(causal, bool):
        raise ValueError(f"causal must be True or False, got {causal!r}")
    if expect_rf is not None:
        checks.positive_int("expect_rf", expect_rf)
    checks.positive_int("max_length", max_length, 16)
    checks.positive_int("inputs", inputs)
    if checks.finite_number("tolerance", tolerance) < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    probe = Probe(module, input_size, layout, mask_arg, lengths_arg, step_method, seed)
    declared = _declared_receptive_field(module)
    start = max([START_LENGTH, *(_length_holding(rf) for rf in (expect_rf, declared) if rf is not None)])
    support = measure_support(probe, start, max(max_length, start), inputs)
    field = receptive_field_of(support, expect_rf, declared)
    causality = measure_causality(probe, min(support.length, PERTURBATION_LENGTH), support, tolerance, causal)
    skipped = {}
    padding = None
    if probe.padding_keyword is None:
        skipped["padding"] = ("no mask or lengths keyword: forward has no parameter named mask or lengths, or the "
                              "check was turned off (name one with mask_arg / lengths_arg)")
    else:
        padding = measure_padding(probe, PADDING_LENGTH, tolerance)
    streaming = None
    if probe.step_method is None:
        skipped["streaming"] = ("no step method: the module has no step and init_state, or the check was turned "
                                "off (name one with step_method)")
    else:
        bounded = field.history is not None
        length = min(support.length, STREAM_LENGTH if bounded else UNBOUNDED_STREAM_LENGTH)
        streaming, reason = _streaming(probe, length, tolerance)
        if reason:
            skipped["streaming"] = reason
    return CheckReport(name or probe.name, probe.input_size, probe.layout, seed, tolerance, causality, field, padding,
                       streaming, skipped, time.perf_counter() - started)


def _streaming(probe: Probe, length: int, tolerance: float) -> tuple[Streaming | None, str | None]:
    """Streaming equivalence; a module found to have step/init_state that refuses to start a
    stream (a non-causal TCN) is reported as unable to stream, not as an error."""
    if not probe.step_declared:
        try:
            probe.initial_state(1)
        except ValueError as e:
            return None, f"the module refuses to stream: {e}"
    return measure_streaming(probe, length, tolerance), None


def _declared_receptive_field(module: nn.Module) -> int | None:
    """The module's own claim (``module.receptive_field``, as seqbench's TCN has), if a finite integer."""
    rf = getattr(module, "receptive_field", None)
    if isinstance(rf, bool) or not isinstance(rf, int) or rf < 1:
        return None
    return rf


def _length_holding(history: int) -> int:
    """The shortest input whose gradient step (:func:`output_step`) has ``history`` steps before it and one more."""
    length = math.ceil((history + 2) * 4 / 3) + 1
    while output_step(length) < history + 1:
        length += 1
    return length
