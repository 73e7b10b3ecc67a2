"""Module options behave as documented."""

import math

import pytest
import torch
import torch.nn.functional as F

from seqbench.nn import TCN, CausalConv1d, make_model
from seqbench.nn.functional import reference_conv1d


@pytest.mark.parametrize("k,d,causal", [(1, 1, True), (3, 2, True), (4, 3, False), (2, 8, True), (5, 1, False)])
def test_conv_matches_plain_padded_conv(k, d, causal):
    conv = CausalConv1d(3, 5, k, dilation=d, causal=causal)
    x = torch.randn(2, 3, 20)
    total = (k - 1) * d
    left = total if causal else total // 2
    expected = F.conv1d(F.pad(x, (left, total - left)), conv.weight, conv.bias, dilation=d)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    assert torch.allclose(reference_conv1d(x, conv.weight, conv.bias, d, left, total - left), expected)


def test_weight_norm_is_a_parametrization():
    tcn = TCN(2, [4, 4], kernel_size=3)
    conv = tcn.blocks[0].conv1
    assert hasattr(conv, "parametrizations") and hasattr(conv.parametrizations.weight, "original0")
    assert not hasattr(TCN(2, [4], norm="none").blocks[0].conv1, "parametrizations")


def test_normal_init_takes_effect_under_weight_norm():
    torch.manual_seed(0)
    tcn = TCN(2, [64, 64], kernel_size=3, init="normal")
    w = tcn.blocks[1].conv1.weight.detach()
    assert abs(w.std().item() - 0.01) < 0.002
    default = TCN(2, [64, 64], kernel_size=3).blocks[1].conv1.weight.detach()
    assert default.std().item() > 0.03  # PyTorch's kaiming-uniform, far from 0.01


def test_official_init_is_what_the_official_code_amounts_to():
    from seqbench.nn import make_model

    torch.manual_seed(0)
    lm = make_model("tcn", input_size=500, output_size=500, head="lm", input_adapter="embedding",
                    embedding_size=64, channels=[128, 64], kernel_size=3, tie_weights=True, init="official")
    emb = lm.adapter.weight.detach()
    assert abs(emb.std().item() - 0.01) < 0.002 and lm.decoder.weight is lm.adapter.weight
    assert lm.decoder.bias.abs().max().item() == 0.0
    assert abs(lm.encoder.blocks[0].downsample.weight.std().item() - 0.01) < 0.002
    # weight-normed convolutions keep PyTorch's init, as weight norm leaves them in the official code
    assert lm.encoder.blocks[1].conv1.weight.detach().std().item() > 0.02  # kaiming-uniform: 0.0295
    # an untrained tied LM then starts near a uniform guess, ln(V) nats per token
    x = torch.randint(0, 500, (2, 30))
    nll = torch.nn.functional.cross_entropy(lm(x).reshape(-1, 500), x.reshape(-1))
    assert abs(nll.item() - math.log(500)) < 0.1
    lstm = make_model("lstm", input_size=500, output_size=500, head="lm", input_adapter="embedding",
                      embedding_size=64, hidden_size=64, tie_weights=True, init="official")
    assert abs(lstm.adapter.weight.detach().std().item() - 0.01) < 0.002


def test_channel_dropout_zeroes_whole_channels():
    tcn = TCN(2, [16], kernel_size=2, dropout=0.5, dropout_mode="channel", norm="none")
    tcn.train()
    block = tcn.blocks[0]
    h = torch.ones(4, 16, 30)
    out = block.drop1(h)
    per_channel = out.eq(0).all(-1) | out.ne(0).all(-1)
    assert per_channel.all()
    elementwise = TCN(2, [16], kernel_size=2, dropout=0.5).blocks[0].drop1.train()(h)
    assert not (elementwise.eq(0).all(-1) | elementwise.ne(0).all(-1)).all()


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_norms_run_and_train(norm):
    model = make_model("tcn", input_size=3, output_size=2, hidden_size=8, levels=2, kernel_size=3, norm=norm)
    y = model(torch.randn(4, 10, 3))
    y.sum().backward()
    assert y.shape == (4, 10, 2)


def test_heads_shapes():
    x = torch.randn(3, 11, 2)
    for head, shape in [("per_step", (3, 11, 4)), ("last", (3, 4)), ("mean", (3, 4))]:
        for kind in ("tcn", "gru"):
            model = make_model(kind, input_size=2, output_size=4, hidden_size=6, levels=2, head=head)
            assert model(x).shape == shape
    lm = make_model("tcn", input_size=20, head="lm", input_adapter="embedding", embedding_size=6,
                    channels=[8, 6], kernel_size=2, tie_weights=True, embedding_dropout=0.1)
    assert lm(torch.randint(0, 20, (2, 9))).shape == (2, 9, 20)
    linear = make_model("lstm", input_size=5, output_size=1, hidden_size=7, input_adapter="linear", embedding_size=3)
    assert linear(torch.randn(2, 4, 5)).shape == (2, 4, 1)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_elementwise_dropout_is_dropout(p):
    from seqbench.nn.functional import dropout

    torch.manual_seed(0)
    x = torch.full((64, 50, 100), 2.0, requires_grad=True)
    y = dropout(x, p, training=True)
    dropped = (y == 0).double().mean().item()
    n = x.numel()
    assert abs(dropped - p) < 5 * (p * (1 - p) / n) ** 0.5  # the Bernoulli rate, 5 sigma
    kept = y[y != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 2.0 / (1 - p)))
    y.sum().backward()  # the gradient is the mask, scaled
    torch.testing.assert_close(x.grad * 2.0, y.detach())
    assert dropout(x, p, training=False) is x
    assert dropout(x, 0.0, training=True) is x
    assert (dropout(x, 1.0, training=True) == 0).all()


def test_temporal_block_uses_elementwise_dropout_in_training_only():
    from seqbench.nn import TCN

    tcn = TCN(3, [8, 8], kernel_size=3, dropout=0.5)
    x = torch.randn(4, 30, 3)
    tcn.train()
    assert not torch.equal(tcn(x), tcn(x))
    tcn.eval()
    assert torch.equal(tcn(x), tcn(x))


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_lstm_forget_bias_sets_only_the_forget_gates(layers, bidirectional):
    from seqbench.nn import Recurrent

    torch.manual_seed(0)
    plain = Recurrent("lstm", 3, 5, num_layers=layers, bidirectional=bidirectional)
    torch.manual_seed(0)
    biased = Recurrent("lstm", 3, 5, num_layers=layers, bidirectional=bidirectional, forget_bias=2.5)
    h = 5
    for (name, p), (_, q) in zip(plain.rnn.named_parameters(), biased.rnn.named_parameters()):
        if not name.startswith("bias"):
            assert torch.equal(p, q), name  # weights untouched
            continue
        keep = torch.ones(4 * h, dtype=torch.bool)
        keep[h: 2 * h] = False
        assert torch.equal(p[keep], q[keep]), name  # input, cell and output gates untouched
        assert torch.all(q[h: 2 * h] == (2.5 if name.startswith("bias_ih") else 0.0)), name
    assert "forget_bias=2.5" in repr(biased)
