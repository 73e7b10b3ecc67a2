"""Equal tuning for every model kind: the same number of Optuna trials of the same budget for
each, searched over each kind's declared ``SEARCH_SPACE`` at the matched parameter budget, in
studies that a SQLite file or a shared database (several machines) holds.

Modules: ``space`` (the declarations as Optuna distributions), ``trial`` (one trial on the
validation split, pruned from its curve), ``study`` (workers, storage, ``tune``), ``report``.
Optuna is imported only when a tuning runs (``pip install 'seqbench[tune]'``).
"""

from .space import declares_own_space, describe, search_space
from .study import PRUNERS, SAMPLERS, load_tuning, tune, tune_dir, tuned_models

__all__ = ["tune", "tune_dir", "load_tuning", "tuned_models", "search_space", "describe", "declares_own_space",
           "SAMPLERS", "PRUNERS"]
