"""One process per run directory: an exclusive advisory lock held while a run trains.

Two processes training into one directory would overwrite each other's checkpoints and
results. ``RunLock`` takes ``RUN_DIR/.lock`` with ``flock``, which the kernel releases
when the process ends however it ends (``kill -9`` included), so a stale lock cannot
block a later ``--resume``.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there go unlocked
    fcntl = None

LOCK = ".lock"


class RunLocked(RuntimeError):
    """Another process is training in this run directory."""


class RunLock:
    """Context manager: creates ``run_dir`` and holds its lock until the block ends.

    Raises:
        RunLocked: another process holds the lock.
        OSError: the directory cannot be created or written (read-only, full, not a directory).
    """

    def __init__(self, run_dir: str | os.PathLike, enabled: bool = True) -> None:
        self.run_dir, self.enabled = Path(run_dir), enabled
        self._file = None

    def __enter__(self) -> "RunLock":
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.enabled and fcntl is not None:
                self._file = open(self.run_dir / LOCK, "a+")
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
