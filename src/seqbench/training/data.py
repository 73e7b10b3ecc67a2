"""Data loaders whose order is a pure function of (seed, epoch, rank), so a run can resume
mid-epoch exactly: the resumed loader skips the batches the checkpoint already trained on."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler

from ..tasks import Task


class ResumableBatchSampler(Sampler[list[int]]):
    """Shuffled (or ordered) batches of indices, sharded over ``world_size`` processes.

    Epoch ``e`` uses the permutation seeded by ``seed`` and ``e``. When training, every
    rank gets the same number of batches (the permutation is cut to a multiple of
    ``world_size``; ``drop_last=False`` keeps a final short batch). For evaluation
    (``shuffle=False``) rank ``r`` takes items ``r, r + world_size, ...``, so the ranks
    together see every item exactly once and summed statistics are exact.

    ``resume(epoch, batches_done)`` makes the next pass over ``epoch`` start after its
    first ``batches_done`` batches; ``len()`` stays the full count so the training loop
    still knows where the epoch ends.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        if n < 1:
            raise ValueError(f"a split needs at least one item, got {n}")
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._resume: tuple[int, int] | None = None
        # Lightning calls set_epoch on ``loader.batch_sampler.sampler``; this is that object
        self.sampler = _EpochSetter(self)

    def set_epoch(self, epoch: int) -> None:  # called by Lightning before every epoch
        self.epoch = epoch

    def resume(self, epoch: int, batches_done: int) -> None:
        self._resume = (epoch, batches_done)

    def _indices(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.rank, self.n, self.world_size))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g)
        usable = (self.n // self.world_size) * self.world_size or self.n
        return perm[:usable][self.rank::self.world_size].tolist()

    def __len__(self) -> int:
        per_rank = len(range(self.rank, self.n, self.world_size)) if not self.shuffle else \
            max(self.n // self.world_size, 1)
        return -(-per_rank // self.batch_size)

    def __iter__(self):
        idx = self._indices()
        skip = 0
        if self._resume is not None and self._resume[0] == self.epoch:
            skip = self._resume[1]
            self._resume = None
        for b in range(skip, len(self)):
            yield idx[b * self.batch_size:(b + 1) * self.batch_size]


class _EpochSetter:
    def __init__(self, owner: ResumableBatchSampler) -> None:
        self.set_epoch = owner.set_epoch


def make_loader(task: Task, split: str, batch_size: int, seed: int, rank: int = 0,
                world_size: int = 1) -> DataLoader:
    """The loader of ``split``: shuffled batches for ``"train"``, ordered for the others."""
    ds = task.dataset(split)
    sampler = ResumableBatchSampler(len(ds), batch_size, shuffle=(split == "train"), seed=seed,
                                    rank=rank, world_size=world_size)
    # Its own generator: a DataLoader otherwise draws from torch's global RNG each time it starts
    # a pass, and that RNG is the model's (dropout), saved in every checkpoint. A run resumed at
    # an epoch's end would miss the draw the uninterrupted run makes as the next epoch starts.
    return DataLoader(ds, batch_sampler=sampler, collate_fn=task.collate, num_workers=0,
                      generator=torch.Generator().manual_seed(seed))
