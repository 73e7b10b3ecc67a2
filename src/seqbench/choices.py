"""The names a user chooses from: model kinds, TCN options, optimizers, learning-rate schedules.

One torch-free list that the models (``seqbench.nn``), :class:`~seqbench.training.RunConfig`,
the command line, the report and ``seqbench predict`` all read, so a new choice is added
in one place. (The schedules' rules live in ``seqbench.training.schedules``; a test checks
that its table and :data:`SCHEDULES` name the same ones.)
"""

RECURRENT_KINDS = ("lstm", "gru", "rnn")
MODEL_KINDS = ("tcn", *RECURRENT_KINDS, "transformer")
_MODEL_LABELS = {"tcn": "TCN", "lstm": "LSTM", "gru": "GRU", "rnn": "RNN", "transformer": "Transformer"}


def model_label(kind: str) -> str:
    """How tables, plots and messages name a model kind: ``"lstm"`` -> ``"LSTM"``."""
    return _MODEL_LABELS.get(kind, kind.upper())

DROPOUT_MODES = ("elementwise", "channel")  # the official code's, and the paper's spatial dropout
INITS = ("default", "normal", "official")

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("halve_on_plateau", "official_music", "official_char", "official_word", "official_lambada",
             "official_mnist")
NO_SCHEDULE = "none"  # RunConfig.lr_schedule: a constant learning rate, whatever the preset runs

# how a run chooses the checkpoint it delivers: the lowest validation loss, the best
# validation primary metric, or the last validation (ties always go to the later one)
SELECTIONS = ("loss", "metric", "last")
