"""Files written whole or not at all: a temporary file beside the target, renamed over it.

A reader (another process, a later ``--resume``, a person) never sees half a file, and an
error or a kill half-way leaves the previous version and no temporary file behind. Every
file seqbench writes goes through :func:`atomic_path`: checkpoints, results, reports,
figures, predictions, exported models and extracted datasets.
"""

from __future__ import annotations

import json
import os
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
