"""A whole sequence model: input adapter -> encoder (TCN, recurrent or Transformer) -> head."""

from __future__ import annotations

import inspect
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..choices import INITS
from . import checks, registry

HEADS = ("per_step", "last", "mean", "lm")
ADAPTERS = ("identity", "linear", "embedding")


class SequenceModel(nn.Module):
    r"""Input adapter + encoder + head: the model every task trains.

    Args:
        encoder: a registered kind's encoder (:class:`~seqbench.nn.Encoder`: :class:`TCN`,
            :class:`Recurrent`, :class:`Transformer`, ...), or anything batch-first with
            ``input_size`` and ``output_size`` attributes.
        output_size: outputs per step (``per_step``/``lm``) or per sequence (``last``/``mean``).
            For ``lm`` it defaults to the vocabulary size.
        head: ``"per_step"`` (sequence-to-sequence), ``"last"`` (sequence-to-label from the
            last valid step; for a bidirectional recurrent encoder, each direction's final
            state), ``"mean"`` (sequence-to-label from the mean over valid steps)
            or ``"lm"`` (next-token logits over the vocabulary; token inputs).
        input_adapter: ``"identity"`` (inputs go straight in), ``"linear"`` (a projection to
            the encoder's input size) or ``"embedding"`` (token ids; ``input_size`` is the
            vocabulary size).
        input_size: features per step, or vocabulary size for ``"embedding"``
            (default: the encoder's input size).
        tie_weights: share the decoder weight with the embedding (``lm`` head; needs the
            encoder's output size to equal the embedding size).
        embedding_dropout: dropout on the embedded inputs.
        init: ``"default"``; ``"normal"`` (N(0, 0.01) decoder weight, zero bias, and
            U(-0.01, 0.01) embedding); or ``"official"`` (the official code's: N(0, 0.01)
            embedding and decoder weight, zero bias). With a tied decoder an embedding left
            at PyTorch's N(0, 1) starts the model hundreds of nats above a uniform guess.

    Shape:
        - Input: :math:`(B, T, \text{input\_size})` floats, or :math:`(B, T)` integer token ids.
        - mask (optional): :math:`(B, T)`, true at valid steps of a right-padded batch.
        - Output: :math:`(B, T, \text{output\_size})` for ``per_step``/``lm``,
          :math:`(B, \text{output\_size})` for ``last``/``mean``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        output_size: int | None = None,
        head: str = "per_step",
        input_adapter: str = "identity",
        input_size: int | None = None,
        tie_weights: bool = False,
        embedding_dropout: float = 0.0,
        init: str = "default",
    ) -> None:
        super().__init__()
        checks.choice("head", head, HEADS)
        checks.choice("input_adapter", input_adapter, ADAPTERS)
        checks.choice("init", init, INITS)
        checks.probability("embedding_dropout", embedding_dropout)
        enc_in, enc_out = encoder.input_size, encoder.output_size
        input_size = enc_in if input_size is None else checks.positive_int("input_size", input_size)
        if head == "lm" and input_adapter != "embedding":
            raise ValueError("head 'lm' predicts tokens from tokens: it needs input_adapter='embedding'")
        if output_size is None:
            if head != "lm":
                raise ValueError(f"output_size is required for head {head!r}")
            output_size = input_size
        checks.positive_int("output_size", output_size)
        if input_adapter == "identity" and input_size != enc_in:
            raise ValueError(
                f"input_adapter 'identity' needs input_size == encoder.input_size ({enc_in}), got {input_size}; "
                "use input_adapter='linear' to project"
            )
        if input_adapter == "embedding":
            self.adapter: nn.Module = nn.Embedding(input_size, enc_in)
        elif input_adapter == "linear":
            self.adapter = nn.Linear(input_size, enc_in)
        else:
            self.adapter = nn.Identity()
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.encoder = encoder
        self.decoder = nn.Linear(enc_out, output_size)
        if tie_weights:
            if head != "lm":
                raise ValueError(f"tie_weights needs head 'lm', got head {head!r}")
            if enc_out != enc_in or output_size != input_size:
                raise ValueError(
                    "tie_weights needs the decoder to be the embedding's transpose: encoder output size "
                    f"({enc_out}) must equal the embedding size ({enc_in}) and output_size ({output_size}) "
                    f"the vocabulary size ({input_size})"
                )
            self.decoder.weight = self.adapter.weight
        if init in ("normal", "official"):
            if input_adapter == "embedding" and init == "normal":
                nn.init.uniform_(self.adapter.weight, -0.01, 0.01)
            elif input_adapter == "embedding":
                nn.init.normal_(self.adapter.weight, 0.0, 0.01)
            if not tie_weights:
                nn.init.normal_(self.decoder.weight, 0.0, 0.01)
            nn.init.zeros_(self.decoder.bias)
        self.head, self.input_adapter, self.input_size, self.output_size = head, input_adapter, input_size, output_size
        self.tie_weights = bool(tie_weights)

    @property
    def receptive_field(self):
        return self.encoder.receptive_field

    @property
    def per_step(self) -> bool:
        """True when the model emits one output per input step (and so can stream)."""
        return self.head in ("per_step", "lm")

    def num_parameters(self, trainable_only: bool = True) -> int:
        """Parameters of the model, shared (tied) tensors counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def _check_input(self, x) -> None:
        if self.input_adapter == "embedding":
            if not isinstance(x, torch.Tensor) or x.dim() != 2:
                shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"SequenceModel expects token ids of shape (batch, time), got {shape}")
            if x.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
                raise ValueError(f"SequenceModel expects integer token ids, got dtype {x.dtype}")
            # the range check reads values: skipped while torch.export / ONNX export traces the graph
            if x.numel() and not torch.compiler.is_compiling() and (int(x.min()) < 0 or int(x.max()) >= self.input_size):
                raise ValueError(
                    f"token ids must lie in [0, {self.input_size}) (the vocabulary), got range "
                    f"[{int(x.min())}, {int(x.max())}]"
                )
            if x.size(1) == 0:
                raise ValueError("SequenceModel expects at least one time step")
        else:
            checks.sequence_input(x, self.input_size, self.decoder.weight, "SequenceModel")

    def init_state(self, batch_size: int, device=None, dtype=None):
        """A fresh streaming state (the encoder's; see :mod:`seqbench.nn.streaming`)."""
        if not hasattr(self.encoder, "init_state"):
            raise ValueError(f"the encoder {type(self.encoder).__name__} has no streaming support (init_state/step)")
        self._check_streams()
        return self.encoder.init_state(batch_size, device, dtype)

    def _check_streams(self) -> None:
        if self.head == "mean":
            raise ValueError("head 'mean' pools over the whole sequence and cannot stream; use 'per_step', 'lm' or 'last'")

    def step(self, x: torch.Tensor, state):
        r"""Advance one step: ``y_t, state = model.step(x_t, state)``, eval-mode numerics.

        With head ``per_step``/``lm`` the output is that step's output of the full forward;
        with head ``last`` it is the label the model would give if the sequence ended here.
        Head ``mean`` cannot stream.

        Shape:
            - x: :math:`(B, \text{input\_size})` floats, or :math:`(B,)` token ids.
            - output: :math:`(B, \text{output\_size})`
        """
        self._check_streams()
        checks.step_mode(self, "SequenceModel")
        if self.input_adapter == "embedding":
            self._check_step_tokens(x)
            h = F.embedding(x.long(), self.adapter.weight)
        else:
            checks.step_input(x, self.input_size, self.decoder.weight, "SequenceModel.step")
            h = F.linear(x, self.adapter.weight, self.adapter.bias) if self.input_adapter == "linear" else x
        # a registered kind's advance skips the input checks just made; any other encoder steps
        advance = getattr(self.encoder, "advance", None) or getattr(self.encoder, "step", None)
        if advance is None:
            raise ValueError(f"the encoder {type(self.encoder).__name__} has no streaming support (init_state/step)")
        h, state = advance(h, state)
        return F.linear(h, self.decoder.weight, self.decoder.bias), state

    def _check_step_tokens(self, x) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 1:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"SequenceModel.step expects one step of token ids of shape (batch,), got {shape}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ValueError(f"SequenceModel.step expects integer token ids, got dtype {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.input_size):
            raise ValueError(
                f"token ids must lie in [0, {self.input_size}) (the vocabulary), got range "
                f"[{int(x.min())}, {int(x.max())}]"
            )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x)
        if mask is not None:
            mask = checks.padding_mask(mask, x.size(0), x.size(1), "SequenceModel")
        h = self.embedding_dropout(self.adapter(x))
        if self.head == "last" and hasattr(self.encoder, "forward_last"):
            # a TCN computes each sequence's last valid step alone, and only what it depends on;
            # a bidirectional recurrent model summarises with both directions' final states
            return self.decoder(self.encoder.forward_last(h, mask))
        h = self.encoder(h, mask)
        if self.head == "last":
            if mask is None:
                h = h[:, -1]
            else:
                lengths = mask.sum(1)
                if bool((lengths == 0).any()):
                    raise ValueError("every sequence needs at least one valid step in the mask")
                h = h[torch.arange(h.size(0), device=h.device), lengths - 1]
        elif self.head == "mean":
            if mask is None:
                h = h.mean(1)
            else:
                w = mask.unsqueeze(-1).to(h.dtype)
                h = (h * w).sum(1) / w.sum(1).clamp_min(1.0)
        return self.decoder(h)


def make_model(
    kind: str,
    *,
    input_size: int,
    output_size: int | None = None,
    hidden_size: int | None = None,
    head: str = "per_step",
    input_adapter: str = "identity",
    embedding_size: int | None = None,
    levels: int | None = None,
    channels: Sequence[int] | None = None,
    kernel_size: int | None = None,
    dilations: Sequence[int] | None = None,
    num_layers: int | None = None,
    dropout: float = 0.0,
    tie_weights: bool = False,
    embedding_dropout: float = 0.0,
    init: str = "default",
    **encoder_options,
) -> SequenceModel:
    """Build a :class:`SequenceModel` of a registered ``kind`` (``"tcn"``, ``"lstm"``, ``"gru"``,
    ``"rnn"``, ``"transformer"``, or one added with :func:`~seqbench.nn.register`).

    The encoder is the kind's :meth:`~seqbench.nn.Encoder.build` at width ``hidden_size``: the TCN
    gets ``channels`` or ``[hidden_size] * levels`` (``kernel_size``, default 2, and
    ``dilations``); a recurrent model ``num_layers`` layers of ``hidden_size`` (default 1); a
    Transformer ``num_layers`` encoder layers of width ``hidden_size`` (default 2). Those shape
    arguments go to the kinds whose ``build`` names them and are ignored by the others, so one
    set of arguments builds every kind. ``embedding_size`` is the encoder's input size behind a
    ``"linear"`` or ``"embedding"`` adapter (``input_size`` otherwise). Extra keyword arguments
    go to the encoder (``norm``, ``dropout_mode``, ``bidirectional``, ``num_heads``, ``causal``,
    ``positions``, ...); an argument given as None takes the kind's default.
    """
    encoder_class = registry.get_kind(kind)
    if input_adapter == "identity":
        enc_in = input_size
    else:
        enc_in = embedding_size if embedding_size is not None else hidden_size
        if enc_in is None:
            raise ValueError(f"input_adapter {input_adapter!r} needs embedding_size (or hidden_size)")
    shape = dict(levels=levels, channels=channels, kernel_size=kernel_size, dilations=dilations, num_layers=num_layers)
    takes = inspect.signature(encoder_class.build).parameters
    options = {**{k: v for k, v in shape.items() if k in takes}, **encoder_options}
    options = {k: v for k, v in options.items() if v is not None}
    encoder = encoder_class.build(enc_in, hidden_size, dropout=dropout, init=init, **options)
    return SequenceModel(
        encoder, output_size, head=head, input_adapter=input_adapter, input_size=input_size,
        tie_weights=tie_weights, embedding_dropout=embedding_dropout, init=init,
    )
