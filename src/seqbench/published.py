"""The best published test result we could source for each of the paper's tasks: the results
page's "best published" column, beside the paper's own figures (:mod:`seqbench.paper`).

Pure data. Numbers from papers carry over as printed there; each entry names its model, the
parameter count its source states, the reference, where the number was read, and what makes it
differ from our setting (dynamic evaluation, note-dependent outputs). Where nothing better than
the paper's own result could be sourced at the paper's setting (the adding problem at T=600,
copy memory at T=1000), the paper's best stands. Results that pick their epoch on the test set,
train on extra data, or could only be seen second hand were left out (said per task below).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Published:
    """One published test result: ``value`` of the task's primary metric for ``model``."""

    task: str
    value: float
    model: str
    parameters: str   # as the source states it ("not stated" where it does not)
    reference: str    # authors, year, title, venue
    source: str       # where the number is printed
    variant: dict = field(default_factory=dict)  # the task variant it was measured on ({}: any)
    note: str = ""    # how its setting differs from ours

    def matches(self, task: str, variant: dict) -> bool:
        return task == self.task and all(variant.get(k) == v for k, v in self.variant.items())

    def citation(self) -> str:
        """One line for the page's list of sources."""
        parts = [f"{self.model}, {self.parameters} parameters" if self.parameters != "not stated"
                 else f"{self.model} (parameters not stated)", self.reference, self.source]
        return "; ".join(parts) + (f". {self.note}" if self.note else "")


_BAI = "Bai, Kolter and Koltun (2018), An Empirical Evaluation of Generic Convolutional and Recurrent Networks"
_NADE = ("Boulanger-Lewandowski, Bengio and Vincent (2012), Modeling Temporal Dependencies in High-Dimensional "
         "Sequences, ICML 2012")
_NADE_NOTE = ("RNN-NADE models the notes of a frame jointly, the models here (and the paper's) independently; "
              "the paper's own table cites a DBN-LSTM (Vohra et al. 2015) lower still, which we could not verify")
_MOGRIFIER = "Melis, Kočiský and Blunsom (2020), Mogrifier LSTM, ICLR 2020"

BEST: tuple[Published, ...] = (
    Published("mnist", 99.65, "S5", "not stated",
              "Smith, Warrington and Linderman (2023), Simplified State Space Layers for Sequence Modeling, ICLR 2023",
              "its sequential-MNIST result, as listed by wizwand.com",
              note="A state-space model, the family of this page's SSM"),
    Published("pmnist", 98.76, "LSSL", "not stated",
              "Gu et al. (2021), Combining Recurrent, Convolutional, and Continuous-time Models with Linear "
              "State-Space Layers, NeurIPS 2021", "its permuted-MNIST result, as listed by Papers with Code",
              note="A state-space model"),
    Published("adding", 5.3e-5, "GRU", "about 70K", _BAI, "Table 1 (no better result found at T=600)",
              variant={"seq_len": 600}),
    Published("copy_memory", 3.5e-5, "TCN", "about 16K", _BAI, "Table 1 (no better result found at T=1000)",
              variant={"seq_len": 1000}),
    Published("jsb", 5.19, "RNN-NADE", "not stated", _NADE, "its JSB Chorales result, as listed by wizwand.com",
              note=_NADE_NOTE),
    Published("nottingham", 2.31, "RNN-NADE", "not stated", _NADE, "its Nottingham result, as listed by wizwand.com",
              note=_NADE_NOTE),
    Published("ptb", 44.8, "Mogrifier LSTM + dynamic evaluation", "24M", _MOGRIFIER,
              "NLP-progress's Penn Treebank table (Papers with Code lists 44.9)",
              note="Dynamic evaluation adapts the model on the test stream as it reads it; without it 50.1"),
    Published("ptb_char", 1.083, "Mogrifier LSTM + dynamic evaluation", "24M", _MOGRIFIER,
              "NLP-progress's character-level Penn Treebank table", note="Without dynamic evaluation 1.120"),
)


def best_published(task: str, variant: dict | None = None) -> Published | None:
    """The entry of :data:`BEST` for ``task`` at ``variant``, or None (another length, your own data)."""
    return next((p for p in BEST if p.matches(task, variant or {})), None)
