"""A Transformer encoder baseline, torch's ``nn.TransformerEncoderLayer``, behind the TCN's
interface: the ``"transformer"`` kind."""

from __future__ import annotations

import math

import torch
from torch import nn

from . import checks
from .registry import Encoder, register
from .sizing import count_parameters, match_parameters
from .transformer_streaming import TransformerState, transformer_init_state, transformer_step

POSITIONS = ("sinusoidal", "learned")
ACTIVATIONS = ("relu", "gelu")
#: heads when ``num_heads`` is not given and ``hidden_size`` is a multiple of it
DEFAULT_HEADS = 4


def default_heads(hidden_size: int) -> int:
    """The most heads, at most :data:`DEFAULT_HEADS`, that divide ``hidden_size``."""
    return next(h for h in range(DEFAULT_HEADS, 0, -1) if hidden_size % h == 0)


def sinusoidal_positions(positions: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    r"""The fixed encodings of Vaswani et al. (2017): :math:`\sin(p \omega_i), \cos(p \omega_i)`
    interleaved, :math:`\omega_i = 10000^{-2i/\text{size}}`.

    Shape:
        - positions: any shape :math:`(*)` of step indices
        - output: :math:`(*, \text{size})`
    """
    # float64 for a float64 model, else float32: the streaming step and the full forward
    # evaluate this same function, so their encodings agree to the last bit
    work = torch.float64 if dtype == torch.float64 else torch.float32
    freq = torch.exp(torch.arange(0, size, 2, device=positions.device, dtype=work) * (-math.log(10000.0) / size))
    angles = positions.to(work).unsqueeze(-1) * freq
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)[..., :size].to(dtype)


@register
class Transformer(Encoder):
    r"""A stack of torch's ``nn.TransformerEncoderLayer``, batch-first, causal by default.

    The input is projected to ``hidden_size`` (a ``Linear``), position encodings are added,
    and ``num_layers`` encoder layers follow (pre-norm by default, then a final
    ``LayerNorm``). A causal model's output at step ``t`` attends to steps ``0..t`` only.

    Args:
        input_size: features per input step.
        hidden_size: the model width ``d_model``; a multiple of ``num_heads``.
        num_layers: encoder layers (default 2).
        num_heads: attention heads (default: the most, at most 4, that divide ``hidden_size``).
        feedforward_size: width of each layer's feed-forward block (default ``4 * hidden_size``).
        dropout: dropout after the position encodings and inside every layer (attention
            weights, both residual branches, the feed-forward block).
        causal: mask attention to the future (default), or attend to the whole sequence.
        positions: ``"sinusoidal"`` (fixed, any length; default) or ``"learned"`` (a trained
            embedding of ``max_len`` positions).
        max_len: longest sequence with ``"learned"`` positions (default 1024); unused by
            ``"sinusoidal"``.
        activation: ``"relu"`` (default) or ``"gelu"`` in the feed-forward blocks.
        norm_first: pre-norm layers (default; they train without a learning-rate warm-up)
            or torch's default post-norm.

    Shape:
        - Input: :math:`(B, T, \text{input\_size})`
        - mask (optional): :math:`(B, T)`, true at the valid steps of a right-padded batch.
        - Output: :math:`(B, T, \text{hidden\_size})`; zeros at padded steps.

    With a mask, padded steps are hidden from every query (a key padding mask) and positions
    count from each sequence's start, so each sequence's valid outputs are the outputs it has
    alone. The layers are stacked here rather than in ``nn.TransformerEncoder``, whose
    nested-tensor fast path would change what padded steps output.

    Example::

        >>> tr = Transformer(input_size=2, hidden_size=32)
        >>> tr(torch.randn(4, 100, 2)).shape
        torch.Size([4, 100, 32])
    """

    NAME, LABEL = "transformer", "Transformer"
    BIDIRECTIONAL, WHOLE_SEQUENCE = True, {"causal": False}
    CAN_STREAM = True  # with a key/value cache that grows every step: no fixed-shape step to export
    SEARCH_SPACE = {**Encoder.SEARCH_SPACE, "num_layers": [1, 2, 3, 4], "num_heads": [1, 2, 4]}

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 2,
        num_heads: int | None = None,
        feedforward_size: int | None = None,
        dropout: float = 0.0,
        causal: bool = True,
        positions: str = "sinusoidal",
        max_len: int = 1024,
        activation: str = "relu",
        norm_first: bool = True,
    ) -> None:
        super().__init__()
        checks.positive_int("input_size", input_size)
        checks.positive_int("hidden_size", hidden_size)
        checks.positive_int("num_layers", num_layers)
        num_heads = default_heads(hidden_size) if num_heads is None else checks.positive_int("num_heads", num_heads)
        if hidden_size % num_heads:
            raise ValueError(
                f"hidden_size must be a multiple of num_heads ({num_heads}), got {hidden_size}: "
                f"each head gets hidden_size / num_heads features"
            )
        feedforward_size = 4 * hidden_size if feedforward_size is None else feedforward_size
        checks.positive_int("feedforward_size", feedforward_size)
        checks.probability("dropout", dropout)
        checks.choice("positions", positions, POSITIONS)
        checks.positive_int("max_len", max_len)
        checks.choice("activation", activation, ACTIVATIONS)
        self.input_size, self.hidden_size, self.num_layers, self.num_heads = input_size, hidden_size, num_layers, num_heads
        self.feedforward_size, self.positions, self.max_len = feedforward_size, positions, max_len
        self.causal, self.norm_first = bool(causal), bool(norm_first)
        self.output_size = hidden_size
        self.input_proj = nn.Linear(input_size, hidden_size)
        self.position = None
        if positions == "learned":
            self.position = nn.Embedding(max_len, hidden_size)
            # N(0, 1) would drown the projected input (of order 1/sqrt(input_size)); GPT-2's scale
            nn.init.normal_(self.position.weight, 0.0, 0.02)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden_size, num_heads, feedforward_size, dropout, activation,
                                       batch_first=True, norm_first=self.norm_first)
            for _ in range(num_layers)
        )
        # pre-norm layers leave the residual stream unnormalised: one norm closes the stack
        self.norm = nn.LayerNorm(hidden_size) if self.norm_first else nn.Identity()

    @classmethod
    def build(cls, input_size: int, hidden_size: int | None, *, num_layers: int = 2, dropout: float = 0.0,
              init: str = "default", **options) -> "Transformer":
        """``num_layers`` encoder layers (its depth, default 2) of width ``hidden_size``."""
        if hidden_size is None:
            raise ValueError("a transformer model needs hidden_size (its width, d_model)")
        return cls(input_size, hidden_size, num_layers=num_layers, dropout=dropout, **options)

    @classmethod
    def width_step(cls, fixed) -> int:
        """Its width is a multiple of its heads: ``num_heads``, or :data:`DEFAULT_HEADS` when left to
        the default (so the matched model gets that many heads, rather than whichever divisor a
        width happens to have)."""
        heads = fixed.get("num_heads")
        return DEFAULT_HEADS if heads is None else checks.positive_int("num_heads", heads)

    @classmethod
    def match(cls, target: int, **fixed) -> dict[str, int]:
        """Its width moves in steps of its heads: the feed-forward size fills in (:func:`match_transformer`)."""
        return match_transformer(target, **fixed)

    def describe(self) -> str:
        return (f"hidden={self.hidden_size} layers={self.num_layers} heads={self.num_heads} "
                f"feed-forward={self.feedforward_size}")

    def embed(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """The projected input plus the encodings of ``positions`` (broadcast against it)."""
        h = self.input_proj(x)
        if self.position is not None:
            return h + self.position(positions)
        return h + sinusoidal_positions(positions, self.hidden_size, h.dtype)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run on ``x`` (B, T, input_size); ``mask`` (B, T) marks the valid steps of a right-padded batch."""
        checks.sequence_input(x, self.input_size, self.input_proj.weight, "Transformer")
        batch, time = x.shape[:2]
        if self.position is not None and time > self.max_len:
            raise ValueError(
                f"Transformer with learned positions takes at most max_len={self.max_len} steps, got {time}; "
                "raise max_len or use positions='sinusoidal'"
            )
        padding = None  # (B, T) true at padded steps, or None when every step is valid
        if mask is not None:
            mask = checks.padding_mask(mask, batch, time, "Transformer")
            lengths = checks.right_padded_lengths(mask, "Transformer")
            if not bool((lengths == time).all()):
                # an empty sequence attends to its own padding: no query without a key, whose
                # softmax would be NaN (and NaN times a zero weight still NaN in the next layer)
                padding = ~mask & (lengths > 0).unsqueeze(1)
        h = self.dropout(self.embed(x, torch.arange(time, device=x.device)))
        future = None
        if self.causal:
            future = torch.ones(time, time, dtype=torch.bool, device=x.device).triu_(1)
        for layer in self.layers:
            h = layer(h, src_mask=future, src_key_padding_mask=padding, is_causal=self.causal)
        h = self.norm(h)
        if mask is not None and padding is not None:
            h = h.masked_fill(~mask.unsqueeze(-1), 0.0)
        return h

    def init_state(self, batch_size: int, device=None, dtype=None) -> TransformerState:
        """An empty key/value cache (see :mod:`seqbench.nn.transformer_streaming`); causal models only."""
        return transformer_init_state(self, batch_size, device, dtype)

    def step(self, x: torch.Tensor, state: TransformerState):
        r"""Advance one step: ``y_t, state = transformer.step(x_t, state)``, eval-mode numerics.

        The new step's query attends to the cached keys and values of every earlier step.

        Shape:
            - x: :math:`(B, \text{input\_size})`
            - output: :math:`(B, \text{hidden\_size})`
        """
        return transformer_step(self, x, state)

    def export_step(self):
        raise ValueError(
            "cannot export a step of a Transformer: its streaming state (a key/value cache) grows every step, "
            "which a step graph with fixed state shapes cannot hold; export the full model with export_onnx, "
            "or stream it eagerly with model.step"
        )

    def extra_repr(self) -> str:
        return (f"causal={self.causal}, positions={self.positions!r}"
                + (f", max_len={self.max_len}" if self.positions == "learned" else ""))


def match_transformer(target: int, **fixed) -> dict[str, int]:
    """``hidden_size`` and ``feedforward_size`` that bring a Transformer within a fraction of a
    percent of ``target`` parameters.

    Its width moves in steps of ``num_heads``, too coarse for small budgets (17% at 12K
    parameters). So the width is the largest multiple of the heads whose model, at the usual
    feed-forward size of 4 x width, stays within ``target``; the feed-forward layers then
    widen to close the gap (each unit adds ``num_layers x (2 x width + 1)`` parameters).

    Example::

        >>> match_transformer(12_530, input_size=1, output_size=10)
        {'hidden_size': 20, 'feedforward_size': 106}
    """
    checks.positive_int("target", target)
    if "feedforward_size" in fixed:
        raise ValueError("match_transformer chooses feedforward_size; leave it out of the fixed arguments")
    name, step = Transformer.NAME, Transformer.width_step(fixed)
    hidden = match_parameters(name, target, **fixed)
    while hidden > step and count_parameters(name, hidden, feedforward_size=4 * hidden, **fixed) > target:
        hidden -= step
    base = count_parameters(name, hidden, feedforward_size=4 * hidden, **fixed)
    layers = fixed.get("num_layers") or 2
    per_unit = layers * (2 * hidden + 1)
    extra = max(round((target - base) / per_unit), 0)
    return {"hidden_size": hidden, "feedforward_size": 4 * hidden + extra}
