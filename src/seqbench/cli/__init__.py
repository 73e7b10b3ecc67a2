"""The ``seqbench`` command line. Each command group lives in its own module here and is
registered in :data:`COMMANDS`; ``main`` turns errors into one-line messages."""

from __future__ import annotations

import importlib
import sys

import click

from ..files import one_line

# the most characters of an error line: a message quoting a 10 MB cell is cut, not printed whole
ERROR_LIMIT = 600

# command name -> "module:attribute" (imported only when the command runs, so --help is fast)
COMMANDS = {
    "models": "seqbench.cli.models:models",
    "data": "seqbench.cli.data:data",
    "train": "seqbench.cli.train:train",
    "evaluate": "seqbench.cli.evaluate:evaluate",
    "compare": "seqbench.cli.compare:compare",
    "report": "seqbench.cli.report:report",
    "predict": "seqbench.cli.predict:predict",
    "reproduce": "seqbench.cli.reproduce:reproduce",
    "check": "seqbench.cli.check:check",
    "tune": "seqbench.cli.tune:tune",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        """Run the command; an ``EOFError`` (a reader meeting the end of a truncated or empty
        file) becomes an ordinary error, since click would take it for Ctrl-D and abort (130)."""
        try:
            return super().invoke(ctx)
        except EOFError as e:
            raise TruncatedInput(f"unexpected end of a file: {e}" if str(e) else "unexpected end of a file") from e


class TruncatedInput(Exception):
    """A file ended before its reader expected (exit 1, not click's "aborted")."""


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="seqbench")
@click.pass_context
def cli(ctx, debug):
    """seqbench: TCN vs LSTM/GRU/RNN on the benchmark suite of Bai, Kolter & Koltun (2018)."""
    ctx.obj = {"debug": debug}


def main(argv=None) -> None:
    """Entry point: usage errors exit 2, runtime errors exit 1 with one line (``--debug``: traceback)."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="seqbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:  # usage errors (bad option, unknown task, malformed value)
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:  # outside training (training's own: RunInterrupted, below)
        hint = "; run the same command with --resume to continue" if _resumable(args) else ""
        click.echo(f"interrupted{hint}", err=True)
        sys.exit(130)
    except Exception as e:  # runtime errors: one line unless --debug
        if debug:
            raise
        click.echo(f"error: {one_line(e, ERROR_LIMIT)}", err=True)
        sys.exit(getattr(e, "exit_code", 1))  # an interrupted run says 143


def _resumable(args: list[str]) -> bool:
    """Whether the command line is one that ``--resume`` continues (train, compare)."""
    command = next((a for a in args if not a.startswith("-")), None)
    return command in ("train", "compare")


if __name__ == "__main__":
    main()
