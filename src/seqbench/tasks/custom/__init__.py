"""The ``custom`` task: training, comparison and prediction on the user's own data."""

from .data import FILL_POLICIES, DataError, fill_array, write_table
from .task import KINDS, STATE_VERSION, CustomTask, ReceptiveFieldWarning, custom

__all__ = ["CustomTask", "custom", "DataError", "ReceptiveFieldWarning", "write_table", "fill_array",
           "KINDS", "FILL_POLICIES", "STATE_VERSION"]
