"""``seqbench report RUNS_DIR``: Markdown table (ours beside the paper's), learning-curve
PNG and JSON summary of every run under a directory."""

from __future__ import annotations

import click


@click.command()
@click.argument("runs_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Where to write (default: RUNS_DIR).")
@click.option("--page", type=click.Path(dir_okay=False), default=None,
              help="The Markdown page to write (default: OUT/report.md).")
@click.option("--title", default="seqbench report", show_default=True, help="The page's heading.")
@click.option("--notes", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A Markdown file appended to the page (the discussion).")
def report(runs_dir, out, page, title, notes):
    """Summarise the runs under RUNS_DIR (every result.json found, recursively).

    A malformed result file is skipped with a warning naming it."""
    from ..report import every_run_table, load_results, write_report

    results = load_results(runs_dir, warn=lambda line: click.echo(f"warning: {line}", err=True))
    paths = write_report(runs_dir, out, page=page, title=title, notes=notes, results=results)
    click.echo(every_run_table(results), nl=False)
    click.echo(f"report: {paths['markdown']}  curves: {paths['curves']}  summary: {paths['summary']}")
