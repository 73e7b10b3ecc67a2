"""Reports of finished runs: Markdown tables of our numbers beside the paper's (mean ± std over
seeds, Welch's test of the TCN against each baseline), figures (matplotlib PNG) and a JSON
summary. ``write_report(runs_dir)`` makes them all.

Modules: ``runs`` (labels, protocol runs, seeds as cells), ``tables``, ``curves``, ``page``.
"""

from .curves import TRAIN_LOSS_AS_METRIC, configuration_curves, learning_curves, seed_plot
from .page import load_results, summary, write_report
from .runs import config_label, run_label, schedule_override
from .tables import (every_run_table, format_epochs, headline_table, reproduce_command, selection_text,
                     significance_table)

__all__ = ["write_report", "load_results", "summary", "headline_table", "significance_table", "every_run_table",
           "reproduce_command", "format_epochs", "selection_text", "learning_curves", "configuration_curves",
           "seed_plot", "config_label", "run_label", "schedule_override", "TRAIN_LOSS_AS_METRIC"]
