"""The ``custom`` task: the suite's training, comparison and prediction on the user's own data.

Three problems, read from a file with no code:

* **classify** - many sequences, one class per sequence (cross-entropy, accuracy), or one
  class per step ("per-step labelling") when the target changes within a sequence.
* **regress** - many sequences, one value (or vector) per sequence or per step (MSE).
* **forecast** - one long series (or several, told apart by an id column): windows of
  ``input_length`` steps predict the next ``horizon`` steps of the target column(s).

Files: a long-format CSV/TSV/Parquet table (one row per step: ``sequence_id``, ``time``,
feature columns, target column), or, for many sequences, an ``.npz`` with ``x`` (N, T, C),
optional ``lengths`` (N,) and ``y``, or a UCR/UEA ``.ts`` file (read by aeon). A pandas DataFrame works in place of a table path. A
table of texts (``text=...``: one row per text, a label or number per text) is classified
or regressed from its token ids (:mod:`.text`: word or character tokens, the vocabulary
of the train split only, padding id 0 and unknown id 1).

What the task guarantees:

* Splits never leak. Sequences are split at random (seeded, stratified by class) into
  train/valid/test, or the test set is fixed (``test_file=``, ``split_column=``), or drawn
  by folds or resamples (:func:`resampling_plan` lists the trainings); a forecast series is
  split in time order (valid and test are the later stretches, or ``test_size=``,
  ``cutoff=``, ``backtest=`` origins; their windows may look back into the earlier stretch
  for inputs, never for targets).
* Features (and regression/forecast targets) are standardised with the mean and standard
  deviation of the **train split only**; the statistics live in :meth:`CustomTask.state`,
  a JSON-able dict a checkpoint carries, from which :meth:`CustomTask.from_state` rebuilds
  the task to :meth:`~CustomTask.predict` on new files.
* Metrics: accuracy (and NLL) for classes; for numbers ``nmse``, the MSE of the standardised
  target (the training loss; 1.0 is about what always predicting the train mean scores),
  then RMSE and MAE in the target's own units.
* The default TCN is the smallest (:func:`seqbench.nn.plan_tcn`) whose receptive field
  covers the input length; a TCN that does not cover it gets a :class:`ReceptiveFieldWarning`
  with the plan that would.
* One target per whole sequence (or text) gets models that see all of it (``causal=False``:
  a non-causal TCN, bidirectional recurrent networks, a non-causal Transformer, read out by
  a masked mean); forecasts and per-step targets get causal ones. ``causal=`` chooses.

Every problem with the data raises :class:`DataError` with a one-line message naming it.

The modules, one concept each: :mod:`.spec` (constants, the frozen spec and the saved
state), :mod:`.files` (reading and writing files), :mod:`.columns` (which column is which),
:mod:`.missing` (NaN/inf policies), :mod:`.reading` (the one reader, for training and
prediction), :mod:`.scaling` (the train-split standardisation), :mod:`.text` (tokens and
the train-split vocabulary), :mod:`.resampling` (the split options and
:func:`resampling_plan`), :mod:`.splits` (which sequence or step goes where, and the
datasets), :mod:`.kinds` (one strategy per problem: classify, regress, forecast, text),
:mod:`.task` (the Task contract), :mod:`.predict` (predictions as a table).
"""

from .errors import DataError, ReceptiveFieldWarning
from .files import READERS, write_table
from .kinds import Classify, Forecast, Problem, Regress, Text, problem_of
from .missing import fill_array
from .resampling import SplitOptions, resampling_plan
from .scaling import Standardizer
from .spec import FILL_POLICIES, KINDS, STATE_VERSION, CustomSpec, Layout
from .task import CustomTask, custom
from .text import MAX_LENGTH_LIMIT, TOKEN_KINDS, TextEncoder, Vocabulary, tokenize

# ``seqbench.tasks.custom`` is the function :func:`custom` once seqbench.tasks is imported (the
# package's name is taken by it there), so the compare loop's entry point is reachable from it too
custom.resampling_plan = resampling_plan

__all__ = ["CustomTask", "custom", "CustomSpec", "Layout", "Standardizer", "DataError", "ReceptiveFieldWarning",
           "write_table", "fill_array", "KINDS", "FILL_POLICIES", "STATE_VERSION", "TOKEN_KINDS", "TextEncoder",
           "Vocabulary", "tokenize", "resampling_plan", "SplitOptions", "READERS", "Problem", "Classify", "Regress",
           "Forecast", "Text", "problem_of", "MAX_LENGTH_LIMIT"]
