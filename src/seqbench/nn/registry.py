"""Model kinds: the encoder classes that :func:`~seqbench.nn.make_model`, parameter matching,
streaming, export and every command look up by name.

A kind is a subclass of :class:`Encoder` that declares what it is and can do in class
attributes (as neuralforecast's models do) and is registered once::

    @seqbench.nn.register
    class MyEncoder(seqbench.nn.Encoder):
        NAME, LABEL = "mine", "Mine"
        ...

The built-in kinds (``tcn``, ``lstm``, ``gru``, ``rnn``, ``transformer``) register themselves
the same way when :mod:`seqbench.nn` is imported.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from . import checks

__all__ = ["Encoder", "register", "kinds", "get_kind", "label"]


class Encoder(nn.Module):
    r"""Base class of a model kind: a batch-first encoder ``(B, T, input_size) -> (B, T, output_size)``.

    A subclass sets the class attributes below, implements ``forward(x, mask=None)`` and
    sets ``input_size`` and ``output_size`` on its instances. Where it streams it overrides
    :meth:`init_state` and :meth:`step`; where its step exports, :meth:`export_step`.

    Attributes:
        NAME: what commands and run files call it (``"tcn"``): lower case, a Python identifier.
        LABEL: how tables and plots name it (``"TCN"``).
        CAUSAL: it can be built causal (an output never reads a later input): the models of
            a next-step or streaming task.
        BIDIRECTIONAL: it can be built to read the whole sequence, with the options
            :attr:`WHOLE_SEQUENCE`: the models of a task whose label follows the whole sequence.
        WHOLE_SEQUENCE: the :meth:`build` options that make it read the whole sequence.
        CAN_STREAM: a causal instance steps one input at a time (:meth:`init_state`, :meth:`step`).
        CAN_EXPORT: a causal instance's step exports to ONNX (:meth:`export_step`).
        EXPORT_FIXED_LENGTH: its full ONNX export keeps the example's length (torch's exporter
            unrolls it), rather than a dynamic time axis.
        WIDTH_RANGE: the widths (``hidden_size``) parameter matching searches, ``(lowest, highest)``.
        SEARCH_SPACE: what ``seqbench tune`` searches for this kind: ``{setting: values}`` over
            run settings (``seqbench.run_settings``), a list being choices, ``(low, high)`` a
            uniform range and ``(low, high, "log")`` a log-uniform one. Architecture choices
            leave the width to parameter matching, so every trial keeps the matched budget.
            The base class's is the training settings every kind shares; a kind that does not
            declare its own is tuned on those alone.
    """

    NAME: str = ""
    LABEL: str = ""
    CAUSAL: bool = True
    BIDIRECTIONAL: bool = False
    WHOLE_SEQUENCE: Mapping[str, Any] = {}
    CAN_STREAM: bool = False
    CAN_EXPORT: bool = False
    EXPORT_FIXED_LENGTH: bool = False
    WIDTH_RANGE: tuple[int, int] = (1, 1 << 14)
    SEARCH_SPACE: Mapping[str, Any] = {"lr": (1e-4, 1e-2, "log"), "optimizer": ["adam", "rmsprop"],
                                       "dropout": (0.0, 0.3), "clip": [0.0, 0.5, 1.0]}

    @classmethod
    def build(cls, input_size: int, hidden_size: int | None, *, dropout: float = 0.0, init: str = "default",
              **options) -> "Encoder":
        """The encoder of width ``hidden_size`` that :func:`~seqbench.nn.make_model` puts behind its adapter.

        ``init`` is :class:`~seqbench.nn.SequenceModel`'s initialisation name, for a kind with
        its own scheme; ``options`` are the kind's own (depth, kernel size, ...). The default
        passes everything but ``init`` to the constructor.
        """
        if hidden_size is None:
            raise ValueError(f"a {cls.NAME} model needs hidden_size")
        return cls(input_size, hidden_size, dropout=dropout, **options)

    @classmethod
    def width_step(cls, fixed: Mapping[str, Any]) -> int:
        """The step between valid widths for a model of the ``make_model`` options ``fixed`` (default 1)."""
        return 1

    @classmethod
    def match(cls, target: int, **fixed) -> dict[str, Any] | None:
        """The ``make_model`` options beside ``fixed`` that bring the model closest to ``target``
        parameters, for a kind whose width alone cannot; None (the default) lets
        :func:`~seqbench.nn.match_parameters` search the width."""
        return None

    def describe(self) -> str:
        """A short line of its shape, for ``seqbench models``."""
        return f"hidden={getattr(self, 'hidden_size', '?')}"

    @property
    def receptive_field(self) -> float:
        """Input steps one output step depends on (unbounded unless the kind says otherwise)."""
        return float("inf")

    # -- streaming and export: kinds that can, override ----------------------------------
    def init_state(self, batch_size: int, device=None, dtype=None):
        """A fresh streaming state (see :mod:`seqbench.nn.states` for what a state provides)."""
        raise ValueError(f"a {self.NAME or type(self).__name__} encoder cannot stream (no init_state/step)")

    def step(self, x: torch.Tensor, state):
        """Advance one step: ``y_t, state = encoder.step(x_t, state)``; ``x`` is ``(B, input_size)``."""
        raise ValueError(f"a {self.NAME or type(self).__name__} encoder cannot stream (no init_state/step)")

    def advance(self, x: torch.Tensor, state):
        """:meth:`step` on an input that the caller (:meth:`SequenceModel.step`) has already checked;
        a kind may skip its input checks here."""
        return self.step(x, state)

    def export_step(self) -> nn.Module:
        r"""A pure-function copy of the step for ONNX, ``(x_t, *state) -> (y_t, *new_state)``.

        The module has ``state_shapes(batch_size)`` (the state tensors' shapes, in order) and
        ``batch_dim`` (the batch dimension of each state tensor). Eval-mode numerics.
        """
        raise ValueError(f"cannot export a step of {type(self).__name__}: its kind has no step export")


_REGISTRY: dict[str, type[Encoder]] = {}
_CAPABILITIES = ("CAUSAL", "BIDIRECTIONAL", "CAN_STREAM", "CAN_EXPORT", "EXPORT_FIXED_LENGTH")


def register(kind: type[Encoder]) -> type[Encoder]:
    """Register a model kind so that every part of seqbench can build it by name.

    Usable as a class decorator. Once registered, ``make_model(kind.NAME, ...)``,
    parameter matching, ``seqbench train --model NAME``, ``seqbench compare --models``,
    the report and streaming / export (where the kind can) all take it.

    Raises:
        ValueError: ``kind`` is not an :class:`Encoder` subclass, its ``NAME`` is not a lower-case
            identifier or is taken, its ``LABEL`` is empty, a capability is not a bool, or it
            claims to stream / export without overriding ``init_state`` and ``step`` / ``export_step``.
    """
    if not isinstance(kind, type) or not issubclass(kind, Encoder):
        raise ValueError(f"a model kind must be a subclass of seqbench.nn.Encoder, got {kind!r}")
    name = kind.__dict__.get("NAME")
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"{kind.__name__}.NAME must be a lower-case identifier such as 'tcn', got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"a model kind named {name!r} is registered already ({_REGISTRY[name].__qualname__})")
    if not isinstance(kind.LABEL, str) or not kind.LABEL.strip():
        raise ValueError(f"{kind.__name__}.LABEL must name the kind in tables, e.g. 'TCN'; got {kind.LABEL!r}")
    for flag in _CAPABILITIES:
        if not isinstance(getattr(kind, flag), bool):
            raise ValueError(f"{kind.__name__}.{flag} must be True or False, got {getattr(kind, flag)!r}")
    if not isinstance(kind.WHOLE_SEQUENCE, Mapping) or (kind.BIDIRECTIONAL and not kind.WHOLE_SEQUENCE):
        raise ValueError(f"{kind.__name__}.WHOLE_SEQUENCE must be the build options that make it read the whole "
                         "sequence (needed when BIDIRECTIONAL is True)")
    low, high = kind.WIDTH_RANGE if isinstance(kind.WIDTH_RANGE, tuple) and len(kind.WIDTH_RANGE) == 2 else (0, 0)
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
        raise ValueError(f"{kind.__name__}.WIDTH_RANGE must be (lowest, highest) widths, got {kind.WIDTH_RANGE!r}")
    needs = {"CAN_STREAM": ("init_state", "step"), "CAN_EXPORT": ("export_step",)}
    for flag, methods in needs.items():
        missing = [m for m in methods if getattr(kind, flag) and getattr(kind, m) is getattr(Encoder, m)]
        if missing:
            raise ValueError(f"{kind.__name__}.{flag} is True but it does not override {', '.join(missing)}")
    _REGISTRY[name] = kind
    return kind


def kinds() -> dict[str, type[Encoder]]:
    """The registered model kinds, ``{NAME: class}``, built-in ones first in the paper's order."""
    return dict(_REGISTRY)


def get_kind(name: str) -> type[Encoder]:
    """The registered kind called ``name``; a ValueError naming the known ones otherwise."""
    checks.choice("kind", name, _REGISTRY)
    return _REGISTRY[name]


def label(name: str) -> str:
    """How tables, plots and messages name kind ``name``: ``"lstm"`` -> ``"LSTM"`` (a name that
    is not registered in this process, e.g. from another session's run files, as it is)."""
    kind = _REGISTRY.get(name)
    return kind.LABEL if kind is not None else name
