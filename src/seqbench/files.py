"""Files written whole or not at all (a temporary file beside the target, renamed over it),
run files read with a size limit, and error messages kept to one short line.

A reader (another process, a later ``--resume``, a person) never sees half a file, and an
error or a kill half-way leaves the previous version and no temporary file behind. Every
file seqbench writes goes through :func:`atomic_path`: checkpoints, results, reports,
figures, predictions, exported models and extracted datasets.
"""

from __future__ import annotations

import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; when the block ends without an error it
    replaces ``path`` in one rename, otherwise it is deleted.

    The temporary name keeps the suffix (``.NAME.PID.tmp.png``) for writers that choose the
    format by it. ``fsync``: flush the file to disk before the rename (checkpoints: a power
    cut must not leave a renamed but empty file).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def jsonable(x: Any):
    """``json.dumps(default=...)`` for what results hold besides plain data (paths, tensors)."""
    if isinstance(x, Path):
        return str(x)
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(obj, indent=2, default=jsonable) + "\n")


# A run file (result.json, logs/metrics.csv) is at most a few MB; far more is not one.
RUN_FILE_LIMIT = 64 * 2**20


class UnreadableFile(ValueError):
    """A file that is not a regular file, larger than its reader allows, or not text."""


def read_text_limited(path: str | os.PathLike, max_bytes: int = RUN_FILE_LIMIT) -> str:
    """The UTF-8 text of ``path``, read only when it is a regular file of at most ``max_bytes``.

    A symlink to ``/dev/zero``, a FIFO or a runaway file would otherwise be read until memory
    runs out (or forever).

    Raises:
        FileNotFoundError: no such file.
        UnreadableFile: not a regular file, larger than ``max_bytes``, or not UTF-8 (naming ``path``).
    """
    path = Path(path)
    info = path.stat()  # follows symlinks: their target is what would be read
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(f"{path}: not a regular file")
    if info.st_size > max_bytes:
        raise UnreadableFile(f"{path}: {info.st_size:,} bytes, more than the {max_bytes:,} its reader allows")
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)  # the file may have grown since stat
    if len(data) > max_bytes:
        raise UnreadableFile(f"{path}: more than the {max_bytes:,} bytes its reader allows")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableFile(f"{path}: not UTF-8 text (byte {e.start})") from None


def one_line(text, limit: int = 300) -> str:
    """``text`` as one line of at most about ``limit`` characters, for error messages: line
    breaks become spaces, and a longer text is cut, saying how long it was."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def excerpt(value, limit: int = 60) -> str:
    """``repr(value)`` as :func:`one_line` of about ``limit`` characters: a 10 MB cell or file
    name quoted in an error must not make a 10 MB message."""
    return one_line(repr(value), limit)
