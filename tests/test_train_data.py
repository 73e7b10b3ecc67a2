"""The resumable sampler: every item once per epoch, new order each epoch, exact resume, disjoint shards."""

from hypothesis import given
from hypothesis import strategies as st

from seqbench.training.data import ResumableBatchSampler


@given(n=st.integers(1, 60), bs=st.integers(1, 9), skip=st.integers(0, 12), epoch=st.integers(0, 5))
def test_resume_yields_the_tail_of_the_same_epoch(n, bs, skip, epoch):
    s = ResumableBatchSampler(n, bs, shuffle=True, seed=3)
    s.set_epoch(epoch)
    full = list(s)
    assert sorted(i for b in full for i in b) == list(range(n)) and len(full) == len(s)
    s.resume(epoch, skip)
    assert list(s) == full[skip:]
    assert list(s) == full  # the skip applies once


def test_epochs_differ_and_shards_are_disjoint():
    s = ResumableBatchSampler(40, 4, shuffle=True, seed=0)
    first = list(s)
    s.sampler.set_epoch(1)  # how Lightning reaches it
    assert list(s) != first
    shards = [ResumableBatchSampler(10, 3, shuffle=False, rank=r, world_size=3) for r in range(3)]
    items = [i for sh in shards for b in sh for i in b]
    assert sorted(items) == list(range(10))
    train = [ResumableBatchSampler(11, 2, shuffle=True, rank=r, world_size=2) for r in range(2)]
    assert len(train[0]) == len(train[1]) == 3
    assert not set(i for b in train[0] for i in b) & set(i for b in train[1] for i in b)
