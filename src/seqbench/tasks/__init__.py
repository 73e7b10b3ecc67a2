"""The benchmark tasks. ``names()`` lists them; ``get(name, data_dir=None, **variant)`` builds one.

``custom(file, target=..., ...)`` builds a task from the user's own data; ``get("custom",
file=..., ...)`` does the same. It is not among ``names()``: it is no benchmark and needs a file.
"""

from __future__ import annotations

import inspect

from .base import Metric, Preset, Task, TensorDictDataset, pad_collate
from .custom import CustomTask, DataError, ReceptiveFieldWarning
from .custom import custom  # the function takes the submodule's name here: seqbench.tasks.custom(...)
from .language import CharPennTreebank, Lambada, PennTreebank, Text8, Wikitext2, Wikitext103
from .mnist import PermutedMNIST, SequentialMNIST
from .music import JSBChorales, MuseData, Nottingham, PianoMidi
from .synthetic import AddingProblem, CopyMemory

_REGISTRY: dict[str, type[Task]] = {
    "adding": AddingProblem,
    "copy_memory": CopyMemory,
    "mnist": SequentialMNIST,
    "pmnist": PermutedMNIST,
    "jsb": JSBChorales,
    "nottingham": Nottingham,
    "muse": MuseData,
    "piano": PianoMidi,
    "ptb": PennTreebank,
    "ptb_char": CharPennTreebank,
    "wikitext2": Wikitext2,
    "wikitext103": Wikitext103,
    "lambada": Lambada,
    "text8": Text8,
}


# tasks built from user files: reachable through get(), but not benchmarks to loop over
_USER_TASKS: dict[str, type[Task]] = {"custom": CustomTask}


def names() -> list[str]:
    """Registered task names."""
    return list(_REGISTRY)


def variants(name: str) -> list[str]:
    """The variant parameters task ``name`` accepts (``seq_len``, ``valid_size``, ...)."""
    return sorted(_accepted(_REGISTRY[name]))


def _accepted(cls) -> set[str]:
    # the keyword parameters of the class's __init__, and of its bases' while it passes **variant on
    accepted: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        accepted |= {p for p, v in params.items()
                     if p not in ("self", "data_dir") and v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)}
        if not any(v.kind is v.VAR_KEYWORD for v in params.values()):
            break
    return accepted


def from_state(state: dict) -> Task:
    """The task a checkpoint's saved state describes (``Task.state()``; your own data's task),
    able to build models and predict without its data file."""
    cls = _USER_TASKS.get(state.get("task")) if isinstance(state, dict) else None
    if cls is None:
        raise ValueError(f"saved task state names no task that keeps state: {state.get('task') if isinstance(state, dict) else state!r}")
    return cls.from_state(state)


def get(name: str, data_dir=None, **variant) -> Task:
    """The task ``name`` with its variant, e.g. ``get("adding", seq_len=600)``."""
    cls = _REGISTRY.get(name) or _USER_TASKS.get(name)
    if cls is None:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(_REGISTRY)}, or custom (your own file)")
    unknown = set(variant) - _accepted(cls)
    if unknown:
        raise ValueError(f"task {name} has no variant {', '.join(sorted(unknown))}; "
                         f"it accepts {', '.join(sorted(_accepted(cls)))}")
    return cls(data_dir=data_dir, **variant)


__all__ = ["Task", "Metric", "Preset", "TensorDictDataset", "pad_collate", "names", "get", "variants", "custom",
           "CustomTask", "DataError", "ReceptiveFieldWarning", "from_state"]
