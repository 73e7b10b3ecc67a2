"""Paper configurations have the paper's sizes; match_parameters sizes the baselines."""

import pytest

from seqbench import paper
from seqbench.nn import count_parameters, make_model, match_parameters


@pytest.mark.parametrize(
    "task,variant,expected",
    [
        ("adding", {"seq_len": 600}, 70_000),
        ("mnist", {}, 70_000),
        ("copy_memory", {"seq_len": 1000}, 12_500),
        ("jsb", {}, 300_000),
        ("nottingham", {}, 1_000_000),
    ],
)
def test_paper_sizes(task, variant, expected):
    model = make_model("tcn", **paper.config(task, **variant).model_kwargs())
    assert abs(model.num_parameters() - expected) / expected < 0.15


def test_exact_counts_of_reference_configs():
    # the counts the performance measurements were taken with
    assert make_model("tcn", **paper.config("adding", seq_len=600).model_kwargs()).num_parameters() == 70_369
    assert make_model("tcn", **paper.config("mnist").model_kwargs()).num_parameters() == 66_910
    assert make_model("tcn", **paper.config("jsb").model_kwargs()).num_parameters() == 269_938
    assert make_model("tcn", **paper.config("ptb_char").model_kwargs()).num_parameters() == 2_222_100


@pytest.mark.parametrize("task,variant", [("adding", {"seq_len": 600}), ("mnist", {})])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_match_parameters_within_5_percent(task, variant, kind):
    cfg = paper.config(task, **variant)
    target = make_model("tcn", **cfg.model_kwargs()).num_parameters()
    fixed = dict(input_size=cfg.input_size, output_size=cfg.output_size, head=cfg.head)
    h = match_parameters(kind, target, **fixed)
    got = make_model(kind, hidden_size=h, **fixed).num_parameters()
    assert abs(got - target) / target < 0.05
    # and it is the closest: one unit either way is no better
    for other in (h - 1, h + 1):
        assert abs(count_parameters(kind, other, **fixed) - target) >= abs(got - target)


def test_match_parameters_tcn_width():
    h = match_parameters("tcn", 70_000, input_size=2, output_size=1, head="last", levels=8, kernel_size=8)
    assert h == 24


def test_tied_weights_counted_once():
    tied = make_model("tcn", input_size=50, head="lm", input_adapter="embedding", embedding_size=8,
                      channels=[16, 8], kernel_size=3, tie_weights=True)
    untied = make_model("tcn", input_size=50, head="lm", input_adapter="embedding", embedding_size=8,
                        channels=[16, 8], kernel_size=3)
    assert untied.num_parameters() - tied.num_parameters() == 50 * 8
    assert tied.decoder.weight is tied.adapter.weight


def test_a_transformer_is_matched_within_a_fraction_of_a_percent_through_its_feed_forward_width():
    from seqbench import tasks
    from seqbench.nn import match_transformer

    for name, variant in (("copy_memory", {"seq_len": 1000}), ("adding", {"seq_len": 600}), ("jsb", {})):
        t = tasks.get(name, **variant)
        target, model = t.build_model("tcn").num_parameters(), t.build_model("transformer")
        assert abs(model.num_parameters() - target) / target < 0.005
        assert model.encoder.hidden_size % model.encoder.num_heads == 0 and model.encoder.num_heads == 4
    sizes = match_transformer(12_530, input_size=1, output_size=10)
    assert sizes == {"hidden_size": 20, "feedforward_size": 106}
