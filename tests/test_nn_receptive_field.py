"""The gradient of the last output reaches exactly the last R input steps."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench.nn import TCN, plan_tcn, receptive_field


def _support(model, length, input_size, positive=False):
    x = torch.randn(1, length, input_size, dtype=torch.float64)
    x = (x.abs() + 0.1 if positive else x).requires_grad_()
    model(x)[0, -1].sum().backward()
    nonzero = (x.grad[0].abs().sum(-1) != 0).nonzero().flatten()
    return length - int(nonzero.min()), int(nonzero.numel())


def _tanh_tcn(**kw):
    # tanh (no dead units) in float64: a hole in the support is a real bug, not a zero ReLU
    return TCN(activation="tanh", norm="none", **kw).double()


@pytest.mark.parametrize(
    "kernel_size,channels,dilations",
    [(2, [3] * 4, None), (3, [2, 4, 3], None), (7, [2] * 3, None), (3, [2, 2, 2], [1, 3, 7]), (1, [2, 2], None), (4, [3, 3], [5, 1])],
)
def test_gradient_support_equals_receptive_field(kernel_size, channels, dilations):
    model = _tanh_tcn(input_size=2, channels=channels, kernel_size=kernel_size, dilations=dilations)
    r = model.receptive_field
    first, count = _support(model, r + 25, 2)
    assert first == r and count == r


def _offsets(model, length, input_size):
    x = torch.randn(1, length, input_size, dtype=torch.float64, requires_grad=True)
    model(x)[0, -1].sum().backward()
    return {length - 1 - int(i) for i in (x.grad[0].abs().sum(-1) != 0).nonzero().flatten()}


@given(k=st.integers(1, 5), dilations=st.lists(st.integers(1, 6), min_size=1, max_size=4))
def test_support_property(k, dilations):
    """Any dilations: the support is exactly the sum-set of every conv's taps, spanning R steps.

    (Sparse dilations such as k=2, d=2 leave true holes: taps {0, 2} twice reach {0, 2, 4}.)
    """
    model = _tanh_tcn(input_size=1, channels=[2] * len(dilations), kernel_size=k, dilations=dilations)
    r = receptive_field(k, dilations)
    assert model.receptive_field == r
    expected = {0}
    for d in dilations:
        for _ in range(2):  # two convolutions per level
            expected = {a + i * d for a in expected for i in range(k)}
    assert max(expected) + 1 == r
    assert _offsets(model, r + 10, 1) == expected


def test_all_ones_weights_relu_default_dilations():
    model = TCN(1, [2] * 5, kernel_size=3, norm="none").double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    # positive inputs and weights keep every ReLU active, so no unit hides a path
    first, count = _support(model, model.receptive_field + 5, 1, positive=True)
    assert first == count == 1 + 2 * 2 * (2**5 - 1)


def test_paper_formula():
    assert TCN(2, [24] * 8, kernel_size=8).receptive_field == 3571
    assert receptive_field(7, [2**v for v in range(8)]) == 1 + 2 * 6 * 255


@pytest.mark.parametrize("history", [1, 2, 10, 100, 784, 1000, 3000])
def test_plan_tcn_covers_history_minimally(history):
    plan = plan_tcn(history)
    assert plan.receptive_field >= history
    if plan.levels > 1:  # one level fewer at the same kernel would not cover it
        assert receptive_field(plan.kernel_size, plan.dilations[:-1]) < history
    fixed = plan_tcn(history, kernel_size=5)
    assert fixed.kernel_size == 5 and fixed.receptive_field >= history


def test_plan_tcn_errors():
    with pytest.raises(ValueError, match="covers 100000 steps"):
        plan_tcn(100000, kernel_size=2, max_levels=4)
    with pytest.raises(ValueError, match="history must be an integer >= 1"):
        plan_tcn(0)
