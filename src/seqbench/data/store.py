"""Finding, verifying and downloading dataset files.

The data root is, in order: the ``data_dir`` argument (``--data-dir``), the ``SEQBENCH_DATA``
environment variable, or the platform's cache directory (``pooch.os_cache("seqbench")``).
Files live at ``<root>/<folder>/<file>``. Downloads go through pooch with the registry's
sha256; archives are extracted next to them. Every failure names the dataset, the files and
the directory, so a user on a machine without internet knows what to put where.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_path
from .registry import DataFile, DatasetSpec, spec_for


class DataError(RuntimeError):
    """A dataset file is missing, corrupt, or fails its checksum."""


class MissingDataError(DataError):
    pass


class ChecksumError(DataError):
    pass


class CorruptFileError(DataError):
    pass


def data_root(data_dir=None) -> Path:
    """The data root: ``data_dir``, else ``$SEQBENCH_DATA``, else the platform cache directory."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("SEQBENCH_DATA")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("seqbench"))


_HASHES: dict[tuple[str, int, int, bool, str], str] = {}


def sha256_of(path: Path, decompress: bool = False, algorithm: str = "sha256") -> str:
    """sha256 (or ``algorithm``) of a file (of its gunzipped content with ``decompress``),
    remembered for the process, keyed by path, size and mtime."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, decompress, algorithm)
    if key not in _HASHES:
        h = hashlib.new(algorithm)
        try:
            with (gzip.open(path, "rb") if decompress else open(path, "rb")) as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except (OSError, EOFError) as e:
            raise CorruptFileError(f"{path}: cannot read ({e})") from e
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


@dataclass(frozen=True)
class Found:
    """A present copy of a dataset file and the checksum its content must have."""

    path: Path
    sha256: str | None          # the expected digest (of ``algorithm``, sha256 unless only SHA-1 is published)
    gzipped_copy: bool = False  # a .gz of a plain file: the checksum is of the decompressed bytes
    algorithm: str = "sha256"

    def actual_sha256(self) -> str:
        return sha256_of(self.path, decompress=self.gzipped_copy, algorithm=self.algorithm)


def find_file(folder: Path, f: DataFile) -> Found | None:
    """The present copy of ``f``: its canonical name, then its aliases, then a gzip-compressed
    copy of either (``ptb.train.txt.gz``), which is checked against the plain file's checksum."""
    names = [(f.name, f.sha256)] + [
        (a, f.alias_sha256[i] if i < len(f.alias_sha256) else None) for i, a in enumerate(f.aliases)
    ]
    candidates = [(n, d, False) for n, d in names] + [(n + ".gz", d, True) for n, d in names if not n.endswith(".gz")]
    for name, digest, gzipped in candidates:
        if (folder / name).is_file():
            if digest is None and f.sha1 is not None:  # the same content under any name: its SHA-1
                return Found(folder / name, f.sha1, gzipped, "sha1")
            return Found(folder / name, digest, gzipped)
    return None


def check_file(found: Found) -> None:
    """Raise :class:`ChecksumError` naming the file when its checksum is not the expected one."""
    if found.sha256 is None:
        return
    actual = found.actual_sha256()
    if actual != found.sha256:
        raise ChecksumError(
            f"{found.path}: {found.algorithm} {actual} does not match the expected {found.sha256}; the file is corrupt or "
            "a different version. Delete it and fetch it again (seqbench data fetch)."
        )


def _missing_message(spec: DatasetSpec, folder: Path, missing: list[str], reason: str) -> str:
    where = [f.url for f in spec.files if f.name in missing and f.url]
    if spec.archive_url:
        where.append(spec.archive_url)
    return (
        f"dataset {spec.name}: missing {', '.join(missing)} in {folder} ({reason}). Put the files in that "
        f"directory (download from {' or '.join(where) or 'the canonical source'}), or point --data-dir / "
        f"SEQBENCH_DATA at a directory that holds {spec.folder}/<files>."
    )


def locate(name: str, files=None, data_dir=None, download: bool = True, verify: bool = True) -> dict[str, Path]:
    """Paths of ``files`` of dataset ``name`` (all its files by default), downloading what is missing.

    Args:
        name: registry name (``"mnist"``, ``"jsb"``, ``"ptb"``, ...).
        files: canonical file names needed (default: every file of the dataset).
        data_dir: the data root (see :func:`data_root`).
        download: try to download missing files; ``False`` raises straight away.
        verify: check sha256 of each file that has a published one.

    Raises:
        MissingDataError: a file is absent and could not be downloaded (names dataset, files, directory).
        ChecksumError: a file does not match its checksum (names the file).
    """
    spec = spec_for(name)
    folder = data_root(data_dir) / spec.folder
    wanted = [spec.file(n) for n in (files or [f.name for f in spec.files])]
    missing = [f.name for f in wanted if find_file(folder, f) is None]
    if missing:
        if not download:
            raise MissingDataError(_missing_message(spec, folder, missing, "download disabled"))
        try:
            fetch(spec.name, data_dir=data_dir, files=missing)
        except DataError:
            raise
        except Exception as e:  # network errors come in many types (requests, urllib, socket)
            raise MissingDataError(_missing_message(spec, folder, missing, f"download failed: {e}")) from e
    out: dict[str, Path] = {}
    for f in wanted:
        found = find_file(folder, f)
        if found is None:
            raise MissingDataError(_missing_message(spec, folder, [f.name], "not found after download"))
        if verify:
            check_file(found)
        out[f.name] = found.path
    return out


def fetch(name: str, data_dir=None, files=None) -> Path:
    """Download dataset ``name`` (or just ``files`` of it) into ``<root>/<folder>``; returns the folder."""
    import pooch

    spec = spec_for(name)
    folder = data_root(data_dir) / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [spec.file(n) for n in (files or [f.name for f in spec.files])]
    need_archive = False
    for f in wanted:
        if find_file(folder, f) is not None:
            continue
        if f.url:
            known = f"sha256:{f.sha256}" if f.sha256 else (f"sha1:{f.sha1}" if f.sha1 else None)
            pooch.retrieve(f.url, known_hash=known, fname=f.name,
                           path=folder, progressbar=False)
        else:
            need_archive = True
    if need_archive:
        archive = Path(pooch.retrieve(spec.archive_url, known_hash=f"sha256:{spec.archive_sha256}"
                                      if spec.archive_sha256 else None, path=folder / ".download",
                                      progressbar=False))
        _extract(archive, folder, spec)
    for f in wanted:
        found = find_file(folder, f)
        if found is not None:
            check_file(found)
    return folder


def _extract(archive: Path, folder: Path, spec: DatasetSpec) -> None:
    """Copy the dataset's files (matched by base name) and any ``train-novels/`` tree out of ``archive``."""
    names = {f.name for f in spec.files}

    def target(member: str) -> Path | None:
        base = member.rsplit("/", 1)[-1]
        if base in names:
            return folder / base
        if "train-novels/" in member and not member.endswith("/"):
            return folder / member[member.index("train-novels/"):]
        return None

    def copy(src, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dest) as tmp, open(tmp, "wb") as f:
            shutil.copyfileobj(src, f)

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for m in z.namelist():
                    if (dest := target(m)) is not None:
                        with z.open(m) as src:
                            copy(src, dest)
        else:
            with tarfile.open(archive) as t:
                for m in t:
                    if m.isfile() and (dest := target(m.name)) is not None:
                        copy(t.extractfile(m), dest)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as e:
        raise CorruptFileError(f"{archive}: cannot extract the {spec.name} archive ({e}); delete it and fetch again") from e


def status(name: str, data_dir=None) -> list[tuple[str, Path | None, str]]:
    """Each file of dataset ``name``: (file, path or None, "ok" / "missing" / "unverified" / "CORRUPT: ...")."""
    spec = spec_for(name)
    folder = data_root(data_dir) / spec.folder
    rows = []
    for f in spec.files:
        found = find_file(folder, f)
        if found is None:
            rows.append((f.name, None, "missing"))
            continue
        if found.sha256 is None:
            rows.append((f.name, found.path, "present (no published checksum)"))
            continue
        try:
            check_file(found)
            rows.append((f.name, found.path, "ok"))
        except ChecksumError:
            rows.append((f.name, found.path, f"CORRUPT: {found.algorithm} {found.actual_sha256()} != {found.sha256}"))
        except CorruptFileError as e:
            rows.append((f.name, found.path, f"CORRUPT: {e}"))
    return rows
