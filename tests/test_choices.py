"""The one list of choices and the one table of run settings agree with every place that uses them."""

from seqbench import choices
from seqbench.cli.train import train as train_command
from seqbench.nn import Recurrent, kinds
from seqbench.nn.recurrent import KINDS
from seqbench.report.tables import COMMAND_ORDER
from seqbench.run_settings import BUDGET_SETTINGS, NAMED_SETTINGS, label_parts, name_parts, settings_from_argv
from seqbench.training import RunConfig
from seqbench.training.schedules import SCHEDULES


def test_the_choices_are_the_implementations():
    assert set(choices.SCHEDULES) == set(SCHEDULES)
    assert {name for name, kind in kinds().items() if issubclass(kind, Recurrent)} == set(KINDS)


def test_every_model_kind_has_its_own_label():
    assert list(kinds()) == ["tcn", "lstm", "gru", "rnn", "transformer", "ssm"]  # the paper's order, then later kinds
    assert [kind.LABEL for kind in kinds().values()] == ["TCN", "LSTM", "GRU", "RNN", "Transformer", "SSM"]
    assert choices.REFERENCE_KIND in kinds()


def test_every_setting_is_a_train_option_and_a_config_field():
    flags = {opt for p in train_command.params for opt in p.opts}
    for s in NAMED_SETTINGS + BUDGET_SETTINGS:
        assert s.flag in flags, s.flag
        assert s.field in RunConfig.__dataclass_fields__, s.field
    assert set(COMMAND_ORDER) | {"lr_schedule"} == {s.field for s in NAMED_SETTINGS + BUDGET_SETTINGS}


def test_names_labels_and_command_lines_come_from_the_same_table():
    run = {"kernel_size": 5, "clip": 0.0, "optimizer": "sgd", "lr_schedule": "none", "epochs": 7}
    assert name_parts(run) == ["k5", "sgd", "noclip", "constant-lr"]
    assert label_parts(run) == ["k 5", "sgd", "no clipping", "constant lr"]
    assert settings_from_argv(["--kernel-size", "5", "--clip", "1", "--test-every-epoch", "--epochs", "3"]) == \
        {"kernel_size": 5, "clip": 1.0, "test_every_epoch": True, "epochs": 3}
    cfg = RunConfig(task="jsb", **settings_from_argv(["--kernel-size", "5", "--clip", "0"]))
    assert cfg.run_name() == "jsb-paper-tcn-k5-noclip-seed0"
