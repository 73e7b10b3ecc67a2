"""Reports of finished runs: a Markdown table of our numbers beside the paper's, learning
curves (PNG, matplotlib) and a JSON summary. ``write_report(runs_dir)`` makes all three."""

from .build import find_results, learning_curves, markdown_table, summary, write_report

__all__ = ["find_results", "markdown_table", "learning_curves", "summary", "write_report"]
