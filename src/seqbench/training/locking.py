"""One process per run directory: an exclusive advisory lock held while a run trains.

Two processes training into one directory would overwrite each other's checkpoints and
results. ``RunLock`` takes the run directory's lock file (``RunDir.lock_file``) with
``flock``, which the kernel releases when the process ends however it ends (``kill -9``
included), so a stale lock cannot block a later ``--resume``. Reached through
:meth:`seqbench.training.run_dir.RunDir.lock`.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there go unlocked
    fcntl = None


class RunLocked(RuntimeError):
    """Another process is training in this run directory."""


class RunLock:
    """Context manager: creates the lock file's directory (the run directory) and holds the
    lock until the block ends.

    Raises:
        RunLocked: another process holds the lock.
        OSError: the directory cannot be created or written (read-only, full, not a directory).
    """

    def __init__(self, path: str | os.PathLike, enabled: bool = True) -> None:
        self.path, self.enabled = Path(path), enabled
        self.run_dir = self.path.parent
        self._file = None

    def __enter__(self) -> "RunLock":
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.enabled and fcntl is not None:
                self._file = open(self.path, "a+")
        except OSError as e:
            raise OSError(e.errno, f"cannot write the run directory {self.run_dir}: {e.strerror or e}") from None
        if self._file is None:
            return self
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            self._file = None
            raise RunLocked(f"{self.run_dir} is in use by another seqbench process (pid {holder}); wait for it "
                            "to finish, or train under another --name") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def is_locked(path: str | os.PathLike) -> bool:
    """Whether a process holds the lock at ``path`` now (False without ``flock``)."""
    path = Path(path)
    if fcntl is None or not path.exists():
        return False
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    return False
