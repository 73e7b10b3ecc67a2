"""The names a user chooses from: TCN options, optimizers, learning-rate schedules (model kinds are
registered classes, :func:`seqbench.nn.kinds`).

One torch-free list that the models (``seqbench.nn``), :class:`~seqbench.training.RunConfig`,
the command line, the report and ``seqbench predict`` all read, so a new choice is added
in one place. (The schedules' rules live in ``seqbench.training.schedules``; a test checks
that its table and :data:`SCHEDULES` name the same ones.)
"""

# the model kind a task's preset describes, which every other kind is matched to in parameters
# and tested against in the report (the kinds themselves: seqbench.nn.kinds())
REFERENCE_KIND = "tcn"

DROPOUT_MODES = ("elementwise", "channel")  # the official code's, and the paper's spatial dropout
INITS = ("default", "normal", "official")

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("halve_on_plateau", "official_music", "official_char", "official_word", "official_lambada",
             "official_mnist")
NO_SCHEDULE = "none"  # RunConfig.lr_schedule: a constant learning rate, whatever the preset runs

# how a run chooses the checkpoint it delivers: the lowest validation loss, the best
# validation primary metric, or the last validation (ties always go to the later one)
SELECTIONS = ("loss", "metric", "last")
