"""Language modelling: word level (PTB, Wikitext-2, Wikitext-103, LAMBADA) and character
level (char-PTB, text8). How a corpus becomes items (windows scored once each, LAMBADA's
last words) is :mod:`seqbench.tasks.corpus`.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from .. import paper
from ..data import CorruptFileError, MissingDataError, locate, spec_for
from ..data.parsers import EOS, read_char_ptb, read_lines_of_words, read_text8, read_vocabulary, read_words
from ..data.store import data_root
from ..units import bits_per_character, perplexity
from .base import Metric, Preset, Task
from .corpus import UNK, LastWordDataset, StreamWindows, build_vocabulary, encode, token_nll


class LanguageModel(Task):
    """Common part of the language models: vocabulary, windows, loss and metrics.

    Subclasses implement ``tokens(split)`` (tokens of a split) and set ``level`` to
    ``"word"`` (metric perplexity) or ``"char"`` (metric bits per character).

    Variant: ``seq_len`` and ``valid_seq_len`` (the window and its scored part), ``batch_size``
    (rows of the training stream), ``eval_batch_size`` (rows of the evaluation streams),
    ``download``, ``verify``.
    """

    head, input_adapter = "lm", "embedding"
    level = "word"
    sort_vocabulary = False
    eval_streams = 10  # the official word_cnn evaluates with 10 rows
    nominal_vocabulary: int | None = None  # when the paper's configuration is another corpus's

    def __init__(self, data_dir=None, seq_len: int | None = None, valid_seq_len: int | None = None,
                 batch_size: int | None = None, eval_batch_size: int | None = None, download: bool = True,
                 verify: bool = True) -> None:
        training = dict(paper.TRAINING[self._training_key()])
        default_seq_len, default_valid_seq_len = training.pop("seq_len"), training.pop("valid_seq_len")
        seq_len = default_seq_len if seq_len is None else seq_len
        valid_seq_len = default_valid_seq_len if valid_seq_len is None else valid_seq_len
        batch_size = training["batch_size"] if batch_size is None else batch_size
        eval_batch_size = self.eval_streams if eval_batch_size is None else eval_batch_size
        for k, v in [("seq_len", seq_len), ("valid_seq_len", valid_seq_len), ("batch_size", batch_size),
                     ("eval_batch_size", eval_batch_size)]:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{self.name}: {k} must be an integer >= 1, got {v!r}")
        if valid_seq_len > seq_len:
            raise ValueError(f"{self.name}: valid_seq_len ({valid_seq_len}) must be <= seq_len ({seq_len})")
        super().__init__(data_dir, seq_len=seq_len, valid_seq_len=valid_seq_len, batch_size=batch_size,
                         eval_batch_size=eval_batch_size, download=download, verify=verify)
        self.metrics = ((Metric("perplexity"), Metric("nll")) if self.level == "word"
                        else (Metric("bpc"), Metric("nll")))
        self.presets = {"paper": self._paper_preset(training, default_seq_len, default_valid_seq_len)}
        self.paper_results = paper.RESULTS[self.name][3] if self.name in paper.RESULTS else {}
        self._vocab: dict[str, int] | None = None
        self._datasets: dict[str, Dataset] = {}
        self._local_only = False          # set while input_size peeks at the local files
        self._nominal_size_used = False   # input_size answered without data (see input_size)

    # -- presets ------------------------------------------------------------------------
    def _training_key(self) -> str:
        return self.name

    def _config_key(self) -> str:
        return self.name

    def _paper_preset(self, training: dict, seq_len: int, valid_seq_len: int) -> Preset:
        cfg = paper.config(self._config_key())
        model = {k: v for k, v in cfg.model_kwargs().items()
                 if k not in ("input_size", "output_size", "head", "input_adapter")}
        # the official code draws the (tied) embedding from N(0, 0.01); PyTorch's N(0, 1)
        # would start the model hundreds of nats per token above a uniform guess
        model["init"] = "official"
        return Preset(model, **training, clip=cfg.clip, variant=dict(seq_len=seq_len, valid_seq_len=valid_seq_len),
                      baseline_training=paper.BASELINE_TRAINING.get(self._training_key(), {}))

    # -- vocabulary ---------------------------------------------------------------------
    @property
    def vocabulary(self) -> dict[str, int]:
        """Token -> id, built from the training split (read on first use)."""
        if self._vocab is None:
            self._vocab = self._build_vocabulary()
        return self._vocab

    @property
    def has_vocabulary(self) -> bool:
        """True once the vocabulary is built (reading the training split), so asking its size costs nothing."""
        return self._vocab is not None

    def _build_vocabulary(self) -> dict[str, int]:
        tokens = self.tokens("train")
        if not tokens:
            raise CorruptFileError(f"{self.name}: the training split holds no tokens (an empty file?)")
        return build_vocabulary(tokens, sort=self.sort_vocabulary)

    @property
    def input_size(self) -> int:
        """Vocabulary size, read from the local files (never downloads). Without them, the
        paper's nominal size, so models can still be listed; ``dataset()`` then downloads the
        data, and refuses to go on if a model was already sized with a different vocabulary."""
        if self._vocab is None:
            self._local_only = True
            try:
                return len(self.vocabulary)
            except MissingDataError:
                self._nominal_size_used = True
                return self._nominal_size()
            finally:
                self._local_only = False
        return len(self._vocab)

    @property
    def output_size(self) -> int:
        return self.input_size

    # -- data ---------------------------------------------------------------------------
    def _paths(self, *files) -> dict[str, Path]:
        return locate(self.name, files=list(files), data_dir=self.data_dir,
                      download=self.variant["download"] and not self._local_only, verify=self.variant["verify"])

    def tokens(self, split: str) -> list[str] | str:
        """The tokens of ``split`` as read from its file: a list of words, or a string of characters."""
        raise NotImplementedError

    def _nominal_size(self) -> int:
        return self.nominal_vocabulary or paper.config(self._config_key()).input_size

    def _check_size_unchanged(self) -> None:
        nominal = self._nominal_size()
        if self._nominal_size_used and len(self.vocabulary) != nominal:
            raise ValueError(
                f"{self.name}: a model was sized for the paper's vocabulary of {nominal:,} before the data was "
                f"available, but the data has {len(self.vocabulary):,} tokens; build the model after task.dataset()")

    def dataset(self, split: str) -> Dataset:
        self.check_split(split)
        self._check_size_unchanged()
        if split not in self._datasets:
            v = self.variant
            ids = encode(self.tokens(split), self.vocabulary, f"{self.name} {split} split")
            rows = v["batch_size"] if split == "train" else v["eval_batch_size"]
            try:
                self._datasets[split] = StreamWindows(ids, rows, v["seq_len"], v["valid_seq_len"])
            except ValueError as e:
                option = "batch_size" if split == "train" else "eval_batch_size"
                raise ValueError(f"{self.name} {split} split: {e}; lower the variant {option}") from None
        return self._datasets[split]

    # -- loss and metrics ---------------------------------------------------------------
    def loss(self, output, batch):
        nll, n, _ = token_nll(output, batch["y"], batch.get("target_mask"), batch.get("mask"))
        return nll / n.clamp_min(1.0)

    def statistics(self, output, batch):
        nll, n, correct = token_nll(output.detach(), batch["y"], batch.get("target_mask"), batch.get("mask"))
        return {"nll": (nll, n), "accuracy": (correct, n)}

    def compute_metrics(self, totals):
        s, n = totals["nll"]
        mean = float(s) / max(float(n), 1.0)
        out = {"nll": mean}
        out.update({"perplexity": perplexity(mean)} if self.level == "word" else {"bpc": bits_per_character(mean)})
        if "accuracy" in totals:
            c, n = totals["accuracy"]
            out["accuracy"] = 100.0 * float(c) / max(float(n), 1.0)
        return out


class WordCorpus(LanguageModel):
    """A word-level corpus of three files: words of each line followed by ``<eos>``;
    the vocabulary is that of the training file."""

    def tokens(self, split):
        file = spec_for(self.name).splits[split]
        return read_words(self._paths(file)[file])


class PennTreebank(WordCorpus):
    """Word-level Penn Treebank (Mikolov's 10k-word version); metric perplexity."""

    name = "ptb"


class Wikitext2(WordCorpus):
    """Wikitext-2 (not in the paper; PTB's settings); metric perplexity."""

    name = "wikitext2"
    nominal_vocabulary = 33_278  # Merity et al. (2016)

    def _training_key(self):
        return "ptb"

    def _config_key(self):
        return "ptb"


class Wikitext103(WordCorpus):
    """Wikitext-103; metric perplexity. The paper gives its TCN; the training defaults are
    the official word_cnn script's (PTB), the only word-level script it ships."""

    name = "wikitext103"

    def _training_key(self):
        return "ptb"


class CharPennTreebank(LanguageModel):
    """Character-level PTB from Mikolov's ``ptb.char.*.txt``: 49 characters (``_`` read as a
    space) plus an end-of-line symbol, 50 in all; metric bits per character."""

    name = "ptb_char"
    level, sort_vocabulary, eval_streams = "char", True, 1  # the official char_cnn evaluates one row

    def tokens(self, split):
        file = spec_for(self.name).splits[split]
        return read_char_ptb(self._paths(file)[file])


class Text8(LanguageModel):
    """text8: the first 90M characters train, the next 5M validate, the last 5M test (the
    official split); 27 symbols. ``valid_chars`` / ``test_chars`` change the split sizes."""

    name = "text8"
    level, sort_vocabulary, eval_streams = "char", True, 1

    def __init__(self, data_dir=None, valid_chars: int = 5_000_000, test_chars: int = 5_000_000, **variant) -> None:
        super().__init__(data_dir, **variant)
        self.variant.update(valid_chars=valid_chars, test_chars=test_chars)
        self._text: str | None = None

    def _training_key(self):
        return "ptb_char"  # the official char_cnn script runs both with the same defaults

    def tokens(self, split):
        if self._text is None:
            self._text = read_text8(self._paths("text8")["text8"])
        text, v, t = self._text, self.variant["valid_chars"], self.variant["test_chars"]
        if v + t >= len(text):
            raise ValueError(f"text8: {len(text)} characters cannot hold a {v}-character valid and "
                             f"{t}-character test split and a training split")
        bounds = {"train": (0, len(text) - v - t), "valid": (len(text) - v - t, len(text) - t),
                  "test": (len(text) - t, len(text))}[split]
        return text[bounds[0]: bounds[1]]


class Lambada(LanguageModel):
    """LAMBADA: predict the last word of each passage from the words before it; metric
    perplexity of those words (and accuracy).

    ``valid`` = the development passages, ``test`` = the test passages (one item each);
    ``train`` = the training novels (``lambada/train-novels/**/*.txt``) as a word stream in
    windows. The vocabulary is ``lambada_vocabulary_sorted.txt`` plus ``<unk>`` and ``<eos>``.
    """

    name = "lambada"

    def _build_vocabulary(self):
        words = read_vocabulary(self._paths("lambada_vocabulary_sorted.txt")["lambada_vocabulary_sorted.txt"])
        return build_vocabulary(words + [UNK, EOS])

    def tokens(self, split):
        if split != "train":
            raise ValueError("LAMBADA's valid and test splits are passages, read by dataset()")
        folder = data_root(self.data_dir) / spec_for(self.name).folder / "train-novels"
        files = sorted(folder.rglob("*.txt")) if folder.is_dir() else []
        if not files:
            raise MissingDataError(
                f"dataset lambada: no training novels in {folder} (expected train-novels/<genre>/<book>.txt from "
                f"{spec_for(self.name).archive_url}); the development and test passages alone cannot train a model")
        return [w for f in files for w in read_words(f)]

    def dataset(self, split):
        self.check_split(split)
        self._check_size_unchanged()
        if split == "train":
            return super().dataset(split)
        if split not in self._datasets:
            file = spec_for(self.name).splits[split]
            path = self._paths(file)[file]
            passages = [encode(p, self.vocabulary, path) for p in read_lines_of_words(path)]
            self._datasets[split] = LastWordDataset(passages)
        return self._datasets[split]
