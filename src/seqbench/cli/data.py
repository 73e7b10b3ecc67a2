"""``seqbench data list|verify|fetch``: what datasets are where, are they intact, get them."""

from __future__ import annotations

import click

from .. import data as datamod
from .. import tasks
from ..tasks.language import LanguageModel

_DATA_DIR = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                         help="Data root (default: $SEQBENCH_DATA, else the platform cache directory).")


@click.group()
def data():
    """Datasets of the benchmark: list, verify checksums, fetch."""


def _state(rows) -> str:
    present = [r for r in rows if r[1] is not None]
    if any(r[2].startswith("CORRUPT") for r in rows):
        return "CORRUPT"
    if len(present) == len(rows):
        return "present"
    return "missing" if not present else f"partial ({len(present)}/{len(rows)} files)"


@data.command("list")
@_DATA_DIR
def list_(data_dir):
    """Datasets, the tasks that use them, and whether they are present (checksums included)."""
    root = datamod.data_root(data_dir)
    click.echo(f"data root: {root}")
    click.echo(f"{'dataset':12s} {'tasks':18s} {'state':24s} where")
    for name, spec in datamod.DATASETS.items():
        rows = datamod.status(name, data_dir)
        click.echo(f"{name:12s} {','.join(spec.used_by):18s} {_state(rows):24s} {root / spec.folder}")
        for file, _, state in rows:
            if state != "ok":
                click.echo(f"{'':12s}   {file}: {state}")
    click.echo("task variants: " + "; ".join(f"{n}({', '.join(tasks.variants(n))})" for n in tasks.names()))


def _counts(name: str, data_dir) -> str:
    """What the loader makes of a present dataset: sequences or tokens per split, vocabulary."""
    t = tasks.get(name, data_dir=data_dir, download=False, verify=False)
    sizes = []
    for split in ("train", "valid", "test"):
        try:
            if isinstance(t, LanguageModel) and not (name == "lambada" and split != "train"):
                sizes.append(f"{split} {len(t.tokens(split)):,} tokens")
            else:
                sizes.append(f"{split} {len(t.dataset(split)):,}")
        except datamod.MissingDataError:
            sizes.append(f"{split} -")
    extra = f", vocabulary {len(t.vocabulary):,}" if isinstance(t, LanguageModel) and t.has_vocabulary else ""
    return ", ".join(sizes) + extra


@data.command()
@_DATA_DIR
@click.option("--quick", is_flag=True, help="Checksums only; do not parse the files.")
@click.pass_context
def verify(ctx, data_dir, quick):
    """Check the files present against their sha256 and parse them; missing datasets are listed.

    Exits non-zero when a file is corrupt or cannot be parsed.
    """
    bad = 0
    for name, spec in datamod.DATASETS.items():
        rows = datamod.status(name, data_dir)
        state = _state(rows)
        line = f"{name:12s} {state}"
        for file, _, s in rows:
            if s.startswith("CORRUPT"):
                bad += 1
                click.echo(f"{name:12s} {datamod.data_root(data_dir) / spec.folder / file}: {s}", err=True)
        if not quick and state != "CORRUPT" and any(r[1] is not None for r in rows):
            try:
                line += f": {_counts(name, data_dir)}"
            except (datamod.DataError, ValueError) as e:
                if isinstance(e, datamod.MissingDataError):
                    line += f": cannot load ({e})"
                else:
                    bad += 1
                    line += f": UNREADABLE: {e}"
        click.echo(line)
    if bad:
        click.echo(f"{bad} problem(s) found", err=True)
        ctx.exit(1)


@data.command()
@click.argument("name")
@_DATA_DIR
def fetch(name, data_dir):
    """Download dataset NAME (a dataset or task name) into the data root and verify it."""
    try:
        spec = datamod.spec_for(name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from None
    paths = datamod.locate(spec.name, data_dir=data_dir, download=True)
    for file, path in paths.items():
        click.echo(f"{file}: {path}")
