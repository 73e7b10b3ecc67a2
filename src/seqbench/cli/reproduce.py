"""``seqbench reproduce``: the queue of the results page's runs (docs/results.md), K at a time."""

from __future__ import annotations

import shlex

import click

from ._options import ModelKinds, setting_option


def _names(ctx, param, value):
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@click.command()
@click.option("--tasks", callback=_names, default=None, help="Comma-separated tasks [default: every task of the plan].")
@click.option("--models", type=ModelKinds(), default=None,
              help="Comma-separated model kinds [default: every kind of the plan].")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Seeds 0..N-1 of every selected configuration [default: the plan's seeds].")
@click.option("--only", callback=_names, default=None, help="Comma-separated run names.")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Runs side by side.")
@setting_option("threads", default=1, help="torch threads per run.")
@click.option("--list", "list_only", is_flag=True, help="Each run's state and the time left; run nothing.")
@click.option("--dry-run", is_flag=True,
              help="Print the commands of the runs to do (for a cluster scheduler or GNU parallel); run nothing.")
@setting_option("data_dir")
@setting_option("out", help="Run directories (checkpoints, logs).")
@click.option("--results", default="docs/results", show_default=True, type=click.Path(file_okay=False),
              help="Where finished runs' result.json files are collected (the results page's runs).")
@click.option("--carry", type=click.Path(file_okay=False), default=None,
              help="Where a run that stops unfinished leaves a copy of its run directory, and is resumed "
                   "from when OUT has none (a directory that outlives the machine).")
@click.option("--stop-after", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds after which the runs checkpoint and stop, and no more start.")
def reproduce(tasks, models, seeds, only, jobs, threads, list_only, dry_run, data_dir, out, results, carry,
              stop_after):
    """Train the runs of the results page that are not done yet, JOBS at a time.

    Stopping loses nothing: a run with checkpoints resumes, a finished one is collected
    into RESULTS at once, and one another process trains is left to it. Then rebuild the
    page with `seqbench report RESULTS`.

    On machines whose disks do not outlive the session, give --carry a directory that does
    (kept, or committed) and --stop-after the time left: the runs stop in time, their run
    directories go to CARRY, and the same command on the next machine resumes them.
    """
    from pathlib import Path

    from ..reproduction import PLAN, PARTIAL, TODO, Queue, select, state
    from ..reproduction.queue import (format_duration, measured_paces, progress, protocol_epochs, resume_source,
                                      seconds_left)

    plan = select(PLAN, tasks, models, seeds, only)
    if not plan:
        raise click.UsageError("no planned run matches; see seqbench reproduce --list")
    runs, collected = Path(out), Path(results)
    carried = None if carry is None else Path(carry)
    warn = lambda line: click.echo(f"warning: {line}", err=True)  # noqa: E731  (a malformed run file)
    if dry_run:
        for p in plan:
            now = state(p, runs, collected, carried, warn)
            if now in (TODO, PARTIAL):
                if now == PARTIAL and resume_source(p, runs, carried).path != runs / p.name:  # resumed from CARRY
                    click.echo(shlex.join(["mkdir", "-p", out]))
                    click.echo(shlex.join(["cp", "-r", f"{carried / p.name}/.", str(runs / p.name)]))
                click.echo(shlex.join(p.argv(data_dir, out, now == PARTIAL, threads)))
        click.echo(f"# then: seqbench reproduce --list --out {shlex.quote(out)} --results {shlex.quote(results)} "
                   "(collects what finished)", err=True)
        return
    if list_only:
        paces, total, counts = measured_paces(collected), 0.0, {}
        for p in plan:
            now = state(p, runs, collected, carried, warn)
            counts[now] = counts.get(now, 0) + 1
            left = None
            if now != "done":
                at = (progress(p, runs, warn) or (carried and progress(p, carried, warn))) if now != TODO else None
                spent = None
                if now == PARTIAL and p.max_time is not None:
                    spent = resume_source(p, runs, carried).time_spent()
                left = seconds_left(p, paces.get((p.task, p.model)), protocol_epochs(p), at[1] if at else 0, spent)
                total += left or 0.0
            budget = "protocol" if p.max_time is None else format_duration(p.max_time)
            click.echo(f"{now:8s} {budget:>9s} {'' if left is None else format_duration(left) + ' left':>12s}  {p.name}")
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        click.echo(f"{len(plan)} runs: {summary}; about {format_duration(total / jobs)} at {jobs} at a time "
                   "(measured step times of finished runs)")
        return
    failed = Queue(plan, runs, collected, data_dir, jobs=jobs, threads=threads, echo=click.echo, carry=carried,
                   stop_after=stop_after).run()
    if failed:
        raise click.ClickException(f"{failed} run(s) failed; their logs are under {out}")
