"""A learned embedding of the series identity, for one model trained on many series.

The task's windows carry the series' index as their last input channel (the same at every
step); :class:`SeriesEmbedded` replaces it by a learned vector of ``size`` numbers before the
wrapped model reads the input. Every model kind is wrapped the same way, with the same
embedding table (``series * size`` parameters on top of each, so the kinds stay matched),
and streams as the wrapped model does.
"""

from __future__ import annotations

import torch
from torch import nn


class SeriesEmbedded(nn.Module):
    """``model`` reading ``x[..., :-1]`` and an embedding of the series index ``x[..., -1]``.

    Args:
        model: a :class:`~seqbench.nn.SequenceModel` whose input size is the features' plus ``size``.
        series: how many series there are (indices ``0 .. series - 1``).
        size: the embedding's dimension.
    """

    def __init__(self, model: nn.Module, series: int, size: int) -> None:
        super().__init__()
        self.model = model
        self.embedding = nn.Embedding(series, size)
        nn.init.normal_(self.embedding.weight, 0.0, 0.1)   # small: the other inputs are standardised

    def _embedded(self, x: torch.Tensor) -> torch.Tensor:
        index = x[..., -1].round().long()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.embedding.num_embeddings):
            raise ValueError(f"series index out of range [0, {self.embedding.num_embeddings}) in the last input "
                             "channel")
        return torch.cat([x[..., :-1], self.embedding(index).to(x.dtype)], dim=-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(self._embedded(x), mask)

    def init_state(self, batch_size: int, device=None, dtype=None):
        return self.model.init_state(batch_size, device, dtype)

    def step(self, x: torch.Tensor, state):
        return self.model.step(self._embedded(x), state)

    # -- what the runner and reports read of a model: the wrapped one's -------------------------
    @property
    def receptive_field(self):
        return self.model.receptive_field

    @property
    def encoder(self):
        return self.model.encoder

    @property
    def head(self) -> str:
        return self.model.head

    @property
    def input_adapter(self) -> str:
        return self.model.input_adapter

    @property
    def per_step(self) -> bool:
        return self.model.per_step

    def num_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
