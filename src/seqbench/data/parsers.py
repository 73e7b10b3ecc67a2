"""Parsers of the standard file formats. Each raises :class:`CorruptFileError` naming the file
when the content is not what the format promises: a dataset is never silently partial.
Every parser also reads a gzip-compressed copy of its file."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from ..files import one_line
from .store import CorruptFileError

EOS = "<eos>"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    """File bytes, gunzipped when the file starts with the gzip magic (whatever its name)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # bad header or CRC, truncated, bad deflate data
            raise CorruptFileError(f"{path}: broken gzip stream ({one_line(e) or type(e).__name__})") from e
    return raw


def read_idx(path) -> np.ndarray:
    """An IDX file (MNIST's format; ``.gz`` or raw): magic ``0 0 dtype ndim``, big-endian sizes, data.

    Returns:
        the array with the shape the header declares.
    """
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise CorruptFileError(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptFileError(f"{path}: IDX header truncated")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise CorruptFileError(f"{path}: IDX header declares shape {shape} ({expected} bytes) but the file has "
                               f"{len(data)} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def read_music(path) -> dict[str, list[np.ndarray]]:
    """A polyphonic music ``.mat`` file: ``traindata`` / ``validdata`` / ``testdata``, each a cell
    array of (T_i, 88) binary piano rolls. Returns ``{"train": [...], "valid": [...], "test": [...]}``
    of float32 arrays."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(io.BytesIO(_read_bytes(path)))
    except Exception as e:  # scipy raises several types for malformed files
        raise CorruptFileError(f"{path}: cannot read as a MATLAB .mat file ({one_line(e)})") from e
    missing = [f"{s}data" for s in ("train", "valid", "test") if f"{s}data" not in mat]
    if missing:
        raise CorruptFileError(f"{path}: no {', '.join(missing)} variable (has "
                               f"{sorted(k for k in mat if not k.startswith('__'))})")
    out = {}
    for split in ("train", "valid", "test"):
        key = f"{split}data"
        if mat[key].dtype != object:
            raise CorruptFileError(f"{path}: {key} is a {mat[key].dtype} array, expected a cell array of piano rolls")
        cells = mat[key].reshape(-1)
        seqs = []
        for i, c in enumerate(cells):
            a = np.asarray(c)
            if a.ndim != 2 or a.shape[1] != 88 or a.shape[0] < 2:
                raise CorruptFileError(f"{path}: {key}[{i}] has shape {a.shape}, expected (T >= 2, 88)")
            if not np.isin(a, (0, 1)).all():
                raise CorruptFileError(f"{path}: {key}[{i}] is not a binary piano roll")
            seqs.append(a.astype(np.float32))
        out[split] = seqs
    return out


def _read_text(path) -> str:
    try:
        return _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorruptFileError(f"{path}: not UTF-8 text ({one_line(e)})") from e


def _lines(path) -> list[str]:
    """Lines split on ``"\\n"`` only, like ``for line in file`` (``str.splitlines`` would also split
    on rare Unicode separators inside Wikitext and change the token counts)."""
    text = _read_text(path)
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_words(path) -> list[str]:
    """A word-level corpus (PTB, Wikitext): each line's whitespace tokens followed by ``<eos>``.

    Lines that are empty still give their ``<eos>`` (the pytorch/examples and locuslab convention
    for PTB; Wikitext's blank lines count the same way in the published token counts).
    """
    return [w for line in _lines(path) for w in line.split() + [EOS]]


def read_char_ptb(path) -> str:
    """Mikolov's character rendering of PTB (``ptb.char.*.txt``): characters separated by spaces,
    ``_`` between words. Returns the text with ``_`` as a space and ``"\\n"`` ending each line."""
    lines = []
    for line in _lines(path):
        chars = line.split()
        if chars:  # the train file ends with a blank line that is not a sentence
            lines.append("".join(" " if c == "_" else c for c in chars) + "\n")
    return "".join(lines)


def read_text8(path) -> str:
    """text8: one line of lower-case letters and spaces."""
    text = _read_text(path).rstrip("\n")
    bad = set(text) - set("abcdefghijklmnopqrstuvwxyz ")
    if bad:
        raise CorruptFileError(f"{path}: text8 holds only a-z and space, found {sorted(bad)[:10]}")
    return text


def read_lines_of_words(path) -> list[list[str]]:
    """One tokenised passage per non-empty line (LAMBADA); the last word is the target."""
    rows = [line.split() for line in _lines(path)]
    rows = [r for r in rows if r]
    for i, r in enumerate(rows):
        if len(r) < 2:
            raise CorruptFileError(f"{path}: passage {i + 1} has fewer than two words")
    return rows


def read_vocabulary(path) -> list[str]:
    """One word per line (LAMBADA's ``lambada_vocabulary_sorted.txt``)."""
    words = [line.strip() for line in _lines(path) if line.strip()]
    if not words:
        raise CorruptFileError(f"{path}: empty vocabulary")
    return words
