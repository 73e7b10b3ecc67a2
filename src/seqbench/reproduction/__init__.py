"""Reproducing the results page: the plan of its runs (``plan``) and the queue that runs them
K at a time, resumably (``queue``). ``seqbench reproduce`` is the command line."""

from .plan import PLAN, Planned, select
from .queue import DONE, PARTIAL, RUNNING, TODO, Queue, state

__all__ = ["PLAN", "Planned", "select", "Queue", "state", "DONE", "PARTIAL", "RUNNING", "TODO"]
