"""Every bad argument or input is a ValueError whose message names what was expected."""

import pytest
import torch

from seqbench.nn import TCN, CausalConv1d, Recurrent, SequenceModel, make_model, match_parameters, receptive_field


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(input_size=2, channels=[4], kernel_size=0), "kernel_size must be an integer >= 1, got 0"),
        (dict(input_size=2, channels=[]), "channels must list at least one level"),
        (dict(input_size=0, channels=[4]), "input_size must be an integer >= 1"),
        (dict(input_size=2, channels=[4, 0]), "each entry of channels must be an integer >= 1"),
        (dict(input_size=2, channels=[4, 4], dilations=[1]), "one value per level \\(2\\), got 1"),
        (dict(input_size=2, channels=[4], dilations=[0]), "each dilation must be an integer >= 1, got 0"),
        (dict(input_size=2, channels=[4], norm="group"), "norm must be one of"),
        (dict(input_size=2, channels=[4], dropout=1.5), "dropout must be a number in \\[0, 1\\)"),
        (dict(input_size=2, channels=[4], dropout_mode="spatial"), "dropout_mode must be one of"),
        (dict(input_size=2, channels=[4], activation="swish"), "activation must be one of"),
        (dict(input_size=2, channels=[4], init="xavier"), "init must be one of"),
    ],
)
def test_tcn_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TCN(**kwargs)


def test_conv_errors():
    with pytest.raises(ValueError, match="dilation must be an integer >= 1, got 0"):
        CausalConv1d(2, 2, 3, dilation=0)
    with pytest.raises(ValueError, match="each dilation must be an integer >= 1"):
        receptive_field(3, [1, 0])


def test_kernel_size_one_works():
    # the official code returns an empty tensor here
    y = TCN(2, [3, 3], kernel_size=1)(torch.randn(2, 7, 2))
    assert y.shape == (2, 7, 3)


@pytest.mark.parametrize(
    "x,message",
    [
        (torch.randn(4, 2), r"expects input of shape \(batch, time, 2\), got \(4, 2\)"),
        (torch.randn(4, 2, 10), r"got \(4, 2, 10\) \(did you pass \(batch, features, time\)\?\)"),
        (torch.randn(4, 10, 3), r"shape \(batch, time, 2\), got \(4, 10, 3\)"),
        (torch.ones(4, 10, 2, dtype=torch.long), "floating-point input, got dtype torch.int64"),
        (torch.randn(4, 10, 2, dtype=torch.float64), "dtype torch.float32 \\(the model's\\), got torch.float64"),
        (torch.randn(4, 0, 2), "at least one time step"),
        ([[1.0, 2.0]], "expects a torch.Tensor"),
        (torch.ones(4, 10, 2).index_put_((torch.tensor([3]), torch.tensor([7]), torch.tensor([1])), torch.tensor(float("nan"))),
         r"1 non-finite value\(s\) \(NaN or inf\) in its input, first at index \(3, 7, 1\)"),
        (torch.full((1, 3, 2), float("inf")), r"6 non-finite value\(s\)"),
    ],
)
@pytest.mark.parametrize("make", [lambda: TCN(2, [4], 3), lambda: Recurrent("lstm", 2, 4),
                                  lambda: make_model("tcn", input_size=2, output_size=1, channels=[3], kernel_size=2)])
def test_input_errors(make, x, message):
    with pytest.raises(ValueError, match=message):
        make()(x)


def test_finite_values_whose_sum_overflows_are_accepted_and_mixed_infinities_refused():
    model = TCN(2, [4], 3)
    big = torch.full((1, 4, 2), 3e38)  # every value finite; their float32 sum is inf
    assert torch.isinf(big.sum()) and model(big).shape == (1, 4, 4)
    mixed = torch.ones(1, 4, 2)
    mixed[0, 1, 0], mixed[0, 2, 1] = float("inf"), float("-inf")  # the sum is NaN, not inf
    with pytest.raises(ValueError, match=r"2 non-finite value\(s\)"):
        model(mixed)


def test_recurrent_config_errors():
    with pytest.raises(ValueError, match="kind must be one of \\['gru', 'lstm', 'rnn'\\], got 'transformer'"):
        Recurrent("transformer", 2, 4)
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1"):
        Recurrent("gru", 2, 0)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        Recurrent("rnn", 2, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="forget_bias applies to an LSTM only .* not to 'gru'"):
        Recurrent("gru", 2, 4, forget_bias=1.0)
    with pytest.raises(ValueError, match="forget_bias must be a finite number, got nan"):
        Recurrent("lstm", 2, 4, forget_bias=float("nan"))


def test_sequence_model_errors():
    with pytest.raises(ValueError, match="tie_weights needs the decoder to be the embedding's transpose"):
        make_model("tcn", input_size=30, head="lm", input_adapter="embedding", embedding_size=8,
                   channels=[16], kernel_size=2, tie_weights=True)
    with pytest.raises(ValueError, match="tie_weights needs head 'lm'"):
        make_model("tcn", input_size=30, output_size=30, input_adapter="embedding", embedding_size=8,
                   channels=[8], kernel_size=2, tie_weights=True)
    with pytest.raises(ValueError, match="head 'lm' predicts tokens from tokens"):
        SequenceModel(TCN(2, [4]), 3, head="lm")
    with pytest.raises(ValueError, match="needs input_size == encoder.input_size \\(2\\), got 5"):
        SequenceModel(TCN(2, [4]), 3, input_size=5)
    with pytest.raises(ValueError, match="head must be one of"):
        SequenceModel(TCN(2, [4]), 3, head="first")
    with pytest.raises(ValueError, match="output_size is required for head 'last'"):
        SequenceModel(TCN(2, [4]), head="last")
    with pytest.raises(ValueError, match="a TCN needs channels, or hidden_size and levels"):
        make_model("tcn", input_size=2, output_size=1, hidden_size=4)
    with pytest.raises(ValueError, match="kind must be one of"):
        make_model("mlp", input_size=2, output_size=1, hidden_size=4)


def test_token_input_errors():
    model = make_model("lstm", input_size=10, head="lm", input_adapter="embedding", hidden_size=4)
    with pytest.raises(ValueError, match=r"token ids of shape \(batch, time\), got \(2, 3, 1\)"):
        model(torch.zeros(2, 3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="integer token ids, got dtype torch.float32"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"must lie in \[0, 10\) \(the vocabulary\), got range \[0, 12\]"):
        model(torch.tensor([[0, 12]]))
    assert model(torch.tensor([[0, 9]])).shape == (1, 2, 10)


def test_mask_errors():
    model = SequenceModel(TCN(2, [4]), 3, head="last")
    x = torch.randn(2, 5, 2)
    with pytest.raises(ValueError, match=r"padding mask of shape \(2, 5\), got \(2, 4\)"):
        model(x, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool \\(or 0/1 integer\\) padding mask, got dtype torch.float32"):
        model(x, torch.ones(2, 5))
    with pytest.raises(ValueError, match="at least one valid step"):
        model(x, torch.zeros(2, 5, dtype=torch.bool))


def test_match_parameters_errors():
    with pytest.raises(ValueError, match="target must be an integer >= 1"):
        match_parameters("lstm", 0, input_size=2, output_size=1)
    with pytest.raises(ValueError, match="even hidden_size=4 gives fewer than 1000000"):
        match_parameters("lstm", 1_000_000, max_hidden=4, input_size=2, output_size=1)
