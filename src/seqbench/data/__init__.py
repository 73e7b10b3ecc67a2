"""Datasets: the registry (URLs, files, sha256), the data directory, downloads and parsers.

``locate(name, data_dir=...)`` gives verified local paths (downloading through pooch where it
can); ``status`` / ``fetch`` back the ``seqbench data`` commands.
"""

from .registry import DATASETS, DataFile, DatasetSpec, spec_for
from .store import (ChecksumError, CorruptFileError, DataError, MissingDataError, data_root, fetch, locate,
                    sha256_of, status)

__all__ = ["DATASETS", "DataFile", "DatasetSpec", "spec_for", "DataError", "MissingDataError", "ChecksumError",
           "CorruptFileError", "data_root", "locate", "fetch", "status", "sha256_of"]
