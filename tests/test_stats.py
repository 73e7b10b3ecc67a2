"""Seed statistics against scipy's own on fixed numbers, and the edge cases a comparison hits."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats as sps

from seqbench.stats import summarize, welch

TCN = [8.17, 8.22, 8.22]
LSTM = [8.34, 8.36, 8.38]


def test_summary_matches_numpy_and_scipys_t_interval():
    s = summarize(TCN)
    assert s.n == 3 and s.mean == pytest.approx(np.mean(TCN)) and s.std == pytest.approx(np.std(TCN, ddof=1))
    low, high = sps.t.interval(0.95, 2, loc=np.mean(TCN), scale=sps.sem(TCN))
    assert s.ci == pytest.approx((low, high))
    assert s.to_dict()["values"] == TCN


def test_welch_matches_scipys_unequal_variance_test():
    d = welch(TCN, LSTM)
    ref = sps.ttest_ind(TCN, LSTM, equal_var=False)
    assert d.t == pytest.approx(ref.statistic) and d.p == pytest.approx(ref.pvalue)
    assert d.significant and d.verdict(higher_is_better=False, a="TCN", b="LSTM").startswith("TCN better")
    close = welch([1.0, 1.2, 0.9], [1.1, 0.95, 1.05])
    assert not close.significant and close.verdict(False).startswith("no significant difference")


def test_one_seed_or_no_spread_is_summarised_but_not_tested():
    one = summarize([0.5])
    assert (one.n, one.mean, one.std, one.ci) == (1, 0.5, None, None)
    assert welch([0.5], [0.4, 0.6]).p is None
    assert welch([1.0, 1.0], [1.0, 1.0]).p is None and "not testable" in welch([1.0], [2.0]).verdict(True)
    with pytest.raises(ValueError, match="finite"):
        summarize([1.0, math.nan])
    with pytest.raises(ValueError, match="no values"):
        summarize([None])


values = st.lists(st.floats(-1e3, 1e3).map(lambda v: round(v, 3)), min_size=2, max_size=8)


@given(values, values)
def test_welch_agrees_with_scipy_wherever_there_is_spread(a, b):
    assume(np.std(a) > 1e-3 and np.std(b) > 1e-3)  # scipy loses precision on near-constant samples
    d = welch(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert d.p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-9)
