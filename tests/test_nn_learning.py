"""Each model kind actually learns a tiny task: output = input delayed by 5 steps."""

import pytest
import torch

from seqbench.nn import make_model


def _delay_data(n=64, length=30, delay=5):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, length, 1, generator=g)
    y = torch.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


@pytest.mark.parametrize(
    "kind,kw",
    [
        ("tcn", dict(hidden_size=16, levels=2, kernel_size=3)),
        ("lstm", dict(hidden_size=24)),
        ("gru", dict(hidden_size=16, bidirectional=True)),
        ("transformer", dict(hidden_size=16, num_layers=1)),  # causal: attends 5 steps back by position
    ],
)
def test_fits_delayed_copy(kind, kw):
    torch.manual_seed(0)
    x, y = _delay_data()
    model = make_model(kind, input_size=1, output_size=1, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.MSELoss()
    first = loss_fn(model(x), y).item()
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    assert first > 0.5
    assert loss.item() < 0.02, f"{kind} did not learn the delay: loss {loss.item():.4f}"
