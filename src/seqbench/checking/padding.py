"""Padding invariance: the valid outputs of a right-padded batch must not see its padding.

Three sequences of different lengths are padded to a common length and run together, once
with large random padding and once with zeros; each is also run alone, unpadded. Valid
outputs must agree across all three: appending padding changes nothing, and neither does
what the padding holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .probe import Probe


@dataclass
class Padding:
    keyword: str                #: how the module was told: its mask or lengths keyword
    lengths: list[int]          #: valid steps of the sequences of the padded batch
    length: int                 #: the padded length
    appended_change: float      #: the largest |padded - alone| of a valid output
    values_change: float        #: the largest change of a valid output when the padding values change
    holds: bool

    @property
    def asked(self) -> bool:
        return True  # a mask that lets padding through is a bug whatever else the module is

    def describe(self) -> str:
        what = (f"lengths {', '.join(map(str, self.lengths))} padded to {self.length}, padding random x100 vs zeros, "
                f"via {self.keyword}=")
        if self.holds:
            return f"invariant: valid outputs unchanged by appended padding or its values ({what})"
        return (f"NOT invariant: valid outputs change by up to {max(self.appended_change, self.values_change):.3g} "
                f"(appending padding: {self.appended_change:.3g}, changing its values: {self.values_change:.3g}; {what})")


def measure_padding(probe: Probe, length: int, tolerance: float) -> Padding:
    lengths = [length, max(1, 2 * length // 3), max(1, length // 3)]
    x = probe.inputs(len(lengths), length)
    n = torch.tensor(lengths, device=probe.device)
    valid = (torch.arange(length, device=probe.device).unsqueeze(0) < n.unsqueeze(1)).unsqueeze(-1)
    with torch.no_grad():
        noisy = probe(torch.where(valid, x, 100 * probe.inputs(len(lengths), length)), n)
        zeros = probe(torch.where(valid, x, torch.zeros_like(x)), n)
        scale = max(1.0, float(zeros.abs().max()))
        values_change = max(float((noisy[i, :k] - zeros[i, :k]).abs().max()) for i, k in enumerate(lengths))
        appended = 0.0
        for i, k in enumerate(lengths):
            alone = probe(x[i : i + 1, :k], n[i : i + 1].clone().fill_(k))[0]
            appended = max(appended, float((noisy[i, :k] - alone).abs().max()))
    holds = max(appended, values_change) <= tolerance * scale
    return Padding(probe.padding_keyword, lengths, length, appended, values_change, holds)
