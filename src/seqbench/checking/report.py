"""What a check found: every measurement with the inputs it used, a summary and a JSON form."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .causality import Causality
from .padding import Padding
from .receptive_field import ReceptiveField
from .streaming import Streaming


@dataclass
class CheckReport:
    """The result of :func:`seqbench.check`. ``ok`` is false when a property that was asked
    for fails: causality (``causal=True``), the receptive field (``expect_rf``), and, where
    the module offers them, padding invariance and streaming equivalence (always asked:
    a mask or a step method that breaks them is a bug)."""

    module: str
    input_size: int
    layout: str
    seed: int
    tolerance: float
    causality: Causality
    receptive_field: ReceptiveField
    padding: Padding | None
    streaming: Streaming | None
    skipped: dict[str, str] = field(default_factory=dict)  #: check -> why it did not run
    seconds: float = 0.0

    def _checks(self) -> dict:
        return {"causality": self.causality, "receptive field": self.receptive_field,
                "padding": self.padding, "streaming": self.streaming}

    @property
    def failures(self) -> list[str]:
        """The names of the asked properties that do not hold."""
        return [name for name, c in self._checks().items() if c is not None and c.holds is False]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        lines = [f"{self.module}: {self.input_size} input features, {self.layout}, float64 copy in eval mode, "
                 f"seed {self.seed}, {self.seconds:.1f} s"]
        for name, c in self._checks().items():
            verdict = "" if c is None or c.holds is None else ("PASS  " if c.holds else "FAIL  ")
            text = c.describe() if c is not None else f"not checked: {self.skipped.get(name, '')}"
            lines.append(f"  {name + ':':17s} {verdict}{text}")
        asked = [n for n, c in self._checks().items() if c is not None and c.holds is not None]
        if self.failures:
            lines.append(f"FAILED: {', '.join(self.failures)}")
        else:
            lines.append(f"OK: {', '.join(asked)} hold" if asked else
                         "OK: nothing asked (--causal, --expect-rf N) that could fail")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain data for JSON: every measurement, the inputs it used and, where asked, its verdict."""
        out = {"module": self.module, "input_size": self.input_size, "layout": self.layout, "dtype": "float64",
               "mode": "eval", "seed": self.seed, "tolerance": self.tolerance, "seconds": round(self.seconds, 3),
               "ok": self.ok, "failures": self.failures, "skipped": dict(self.skipped)}
        for name, c in self._checks().items():
            if c is None:
                out[name.replace(" ", "_")] = None
                continue
            record = dataclasses.asdict(c)
            for prop in ("holds", "asked", "measured", "difference"):
                if hasattr(type(c), prop) and isinstance(getattr(type(c), prop), property):
                    record[prop] = getattr(c, prop)
            out[name.replace(" ", "_")] = record
        return out
