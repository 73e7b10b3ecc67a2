"""The temporal convolutional network: residual blocks of dilated causal convolutions."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from ..choices import DROPOUT_MODES as DROPOUTS
from ..choices import INITS
from . import checks
from .conv import CausalConv1d
from .functional import dropout, padded_conv1d, strided_causal_conv1d
from .registry import Encoder, register
from .tcn_export import TCNShiftStep
from .tcn_plan import receptive_field
from .tcn_streaming import TCNState, check_streamable, tcn_init_state, tcn_step, tcn_step_channels_first

NORMS = ("weight", "batch", "layer", "none")
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}


class _ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of each time step of a (B, C, T) tensor (causal, unlike GroupNorm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.transpose(1, 2), self.normalized_shape, self.weight, self.bias, self.eps).transpose(1, 2)


def _make_conv(cin, cout, k, d, causal, norm, init) -> CausalConv1d:
    conv = CausalConv1d(cin, cout, k, dilation=d, causal=causal)
    if init == "normal":
        # Initialise the plain weight *before* weight norm wraps it: weight_norm then sets
        # g = ||w|| and v = w, so the N(0, 0.01) draw is the weight the network starts from.
        # (Initialising after registration, as the official code does, is overwritten.)
        nn.init.normal_(conv.weight, 0.0, 0.01)
    if norm == "weight":
        conv = _weight_norm(conv, dim=0)
    return conv


def _make_norm(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm1d(channels)
    if norm == "layer":
        return _ChannelLayerNorm(channels)
    return nn.Identity()  # "weight" lives inside the conv; "none" is none


class ElementwiseDropout(nn.Dropout):
    """:class:`torch.nn.Dropout` through :func:`seqbench.nn.functional.dropout` (a cheaper
    mask on CPU, the same distribution)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


class TemporalBlock(nn.Module):
    r"""One residual level: two [conv -> norm -> activation -> dropout] layers and a skip.

    Output: :math:`\mathrm{act}(x + F(x))`, where the skip is a 1x1 convolution when the
    channel counts differ.

    Args:
        in_channels, out_channels: channels in and out.
        kernel_size: taps of both convolutions.
        dilation: dilation of both convolutions.
        dropout: drop probability after each activation.
        norm: ``"weight"`` (weight normalisation, the paper's), ``"batch"``, ``"layer"``
            (over channels per step) or ``"none"``.
        dropout_mode: ``"elementwise"`` (the official code) or ``"channel"`` (whole channels,
            the paper's "spatial dropout").
        activation: ``"relu"`` (default), ``"gelu"``, ``"tanh"``, ``"elu"`` or ``"silu"``.
        init: ``"default"`` (PyTorch's), ``"normal"`` (N(0, 0.01) on conv weights), or
            ``"official"``: what the official code's initialisation amounts to, N(0, 0.01) on
            the 1x1 skip only (its N(0, 0.01) on weight-normed convs is overwritten by weight norm).
        causal: past-side padding (default) or "same" padding.

    Shape:
        - Input: :math:`(B, C_{in}, T)` channel-first (the TCN transposes once, not per block)
        - Output: :math:`(B, C_{out}, T)`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        dilation: int,
        dropout: float = 0.0,
        norm: str = "weight",
        dropout_mode: str = "elementwise",
        activation: str = "relu",
        init: str = "default",
        causal: bool = True,
    ) -> None:
        super().__init__()
        checks.choice("norm", norm, NORMS)
        checks.choice("dropout_mode", dropout_mode, DROPOUTS)
        checks.choice("activation", activation, ACTIVATIONS)
        checks.choice("init", init, INITS)
        checks.probability("dropout", dropout)
        drop = nn.Dropout1d if dropout_mode == "channel" else ElementwiseDropout
        self.conv1 = _make_conv(in_channels, out_channels, kernel_size, dilation, causal, norm, init)
        self.norm1 = _make_norm(norm, out_channels)
        self.act1 = ACTIVATIONS[activation]()
        self.drop1 = drop(dropout)
        self.conv2 = _make_conv(out_channels, out_channels, kernel_size, dilation, causal, norm, init)
        self.norm2 = _make_norm(norm, out_channels)
        self.act2 = ACTIVATIONS[activation]()
        self.drop2 = drop(dropout)
        self.downsample = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else None
        if self.downsample is not None and init in ("normal", "official"):
            nn.init.normal_(self.downsample.weight, 0.0, 0.01)
        self.act = ACTIVATIONS[activation]()
        self.kernel_size, self.dilation, self.causal = kernel_size, dilation, causal

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # mask (B, 1, T) matters only for non-causal blocks: it keeps the padded tail of a
        # right-padded batch from leaking into valid steps through the future-side taps.
        h = x if mask is None else x * mask
        h = self.drop1(self.act1(self.norm1(self.conv1(h))))
        if mask is not None:
            h = h * mask
        h = self.drop2(self.act2(self.norm2(self.conv2(h))))
        if self.downsample is None:
            skip = x
        else:  # the 1x1 convolution through the same routing, so it keeps the batch-first memory layout
            skip = padded_conv1d(x, self.downsample.weight, self.downsample.bias, 1, 0, 0)
        return self.act(h + skip)

    def forward_lattice(self, x: torch.Tensor, stride: int, mask: torch.Tensor | None = None) -> torch.Tensor:
        r"""This block's output at every ``stride``-th step counted back from the last step.

        ``x`` is the block's input at the steps ``dilation`` apart that end at the last one
        (step ``T-1``, ``T-1-d``, ...; oldest first). On that lattice both convolutions have
        dilation 1 and their zero padding is the lattice's own past, so each computed output
        equals the full forward's at that step; the second convolution runs with ``stride``
        and computes only the outputs the next level reads. ``mask`` (1 at the steps of the
        sequence, 0 before its start) zeroes both convolutions' inputs before the start, so
        a sequence shifted to end at ``T-1`` sees the zero padding it would see at step 0.

        Shape:
            - x: :math:`(B, C_{in}, L)` lattice steps; mask: :math:`(B, 1, L)` or None
            - output: :math:`(B, C_{out}, \lceil L / \text{stride} \rceil)`, the last entry at step ``T-1``
        """
        start = (x.size(-1) - 1) % stride  # the first kept output, so that the last one is kept too
        h = x if mask is None else x * mask
        h = self.drop1(self.act1(self.norm1(strided_causal_conv1d(h, self.conv1.weight, self.conv1.bias, 1, 0))))
        if mask is not None:
            h = h * mask
        h = self.drop2(self.act2(self.norm2(strided_causal_conv1d(h, self.conv2.weight, self.conv2.bias, stride, start))))
        skip = x[..., start::stride]
        if self.downsample is not None:
            skip = padded_conv1d(skip, self.downsample.weight, self.downsample.bias, 1, 0, 0)
        return self.act(h + skip)


def _every_from_end(t: torch.Tensor | None, f: int) -> torch.Tensor | None:
    """Every ``f``-th step of ``t`` (time last), counted back from its last step (a view)."""
    return None if t is None else t[..., (t.size(-1) - 1) % f :: f]


def _end_aligned(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift each right-padded sequence of ``x`` (B, T, C) so its last valid step is step T-1.

    Returns the shifted batch (zeros before each sequence's start) and a (B, 1, T) float mask,
    1 from each sequence's first step on.
    """
    t = x.size(1)
    source = torch.arange(t, device=x.device).unsqueeze(0) - (t - lengths).unsqueeze(1)  # (B, T)
    started = source >= 0
    index = source.clamp_min(0).unsqueeze(-1).expand(-1, -1, x.size(2))
    shifted = x.gather(1, index) * started.unsqueeze(-1).to(x.dtype)
    return shifted, started.unsqueeze(1).to(x.dtype)


@register
class TCN(Encoder):
    r"""Temporal convolutional network (Bai, Kolter & Koltun, 2018), batch-first: the ``"tcn"`` kind.

    A stack of :class:`TemporalBlock` levels; level ``v`` uses dilation ``2**v`` unless
    ``dilations`` says otherwise. Each output step sees the last :attr:`receptive_field`
    input steps and nothing after it (with ``causal=True``).

    Args:
        input_size: features per input step.
        channels: output channels of each level, e.g. ``[25] * 8``; its length is the depth.
        kernel_size: taps per convolution (default 2).
        dilations: one dilation per level (default ``[1, 2, 4, ...]``).
        dropout, norm, dropout_mode, activation, init, causal: as in :class:`TemporalBlock`.

    Shape:
        - Input: :math:`(B, T, \text{input\_size})`
        - Output: :math:`(B, T, \text{channels[-1]})`

    Example::

        >>> tcn = TCN(input_size=2, channels=[24] * 8, kernel_size=8)
        >>> tcn(torch.randn(4, 600, 2)).shape
        torch.Size([4, 600, 24])
        >>> tcn.receptive_field
        3571
    """

    NAME, LABEL = "tcn", "TCN"
    BIDIRECTIONAL, WHOLE_SEQUENCE = True, {"causal": False}  # "same" padding
    CAN_STREAM = CAN_EXPORT = True
    # depth and kernel set the receptive field; the width follows from the parameter budget
    SEARCH_SPACE = {**Encoder.SEARCH_SPACE, "kernel_size": [2, 3, 5, 7, 8], "levels": [4, 6, 8, 10]}

    def __init__(
        self,
        input_size: int,
        channels: Sequence[int],
        kernel_size: int = 2,
        dilations: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "weight",
        dropout_mode: str = "elementwise",
        activation: str = "relu",
        init: str = "default",
        causal: bool = True,
    ) -> None:
        super().__init__()
        checks.positive_int("input_size", input_size)
        checks.positive_int("kernel_size", kernel_size)
        channels = list(channels) if channels is not None else []
        if not channels:
            raise ValueError("channels must list at least one level's channel count, e.g. [25] * 8; got an empty list")
        for c in channels:
            checks.positive_int("each entry of channels", c)
        if dilations is None:
            dilations = [2**v for v in range(len(channels))]
        dilations = list(dilations)
        if len(dilations) != len(channels):
            raise ValueError(f"dilations must give one value per level ({len(channels)}), got {len(dilations)}")
        for d in dilations:
            checks.positive_int("each dilation", d)
        self.input_size, self.channels, self.kernel_size = input_size, channels, kernel_size
        self.dilations, self.causal = dilations, bool(causal)
        self.output_size = channels[-1]
        ins = [input_size] + channels[:-1]
        self.blocks = nn.ModuleList(
            TemporalBlock(i, o, kernel_size, d, dropout, norm, dropout_mode, activation, init, causal)
            for i, o, d in zip(ins, channels, dilations)
        )

    @classmethod
    def build(cls, input_size: int, hidden_size: int | None = None, *, levels: int | None = None,
              channels: Sequence[int] | None = None, kernel_size: int = 2, dilations: Sequence[int] | None = None,
              dropout: float = 0.0, init: str = "default", **options) -> "TCN":
        """A TCN of ``channels``, or of ``levels`` levels of ``hidden_size`` channels (its width and depth)."""
        if channels is None:
            if hidden_size is None or levels is None:
                raise ValueError("a TCN needs channels, or hidden_size and levels")
            channels = [checks.positive_int("hidden_size", hidden_size)] * checks.positive_int("levels", levels)
        return cls(input_size, channels, kernel_size, dilations=dilations, dropout=dropout, init=init, **options)

    def describe(self) -> str:
        return f"k={self.kernel_size} channels={self.channels}"

    @property
    def receptive_field(self) -> int:
        """Input steps that one output step depends on (centred on it when ``causal=False``)."""
        return receptive_field(self.kernel_size, self.dilations)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the network on ``x`` (B, T, input_size); ``mask`` (B, T) marks valid steps.

        A causal TCN needs no mask: right padding can never reach a valid step. For a
        non-causal one the mask zeroes the padded tail before every convolution.
        """
        param = next(self.parameters())
        checks.sequence_input(x, self.input_size, param, "TCN")
        m = None
        if mask is not None:
            mask = checks.padding_mask(mask, x.size(0), x.size(1), "TCN")
            if not self.causal:
                m = mask.unsqueeze(1).to(x.dtype)
        h = x.transpose(1, 2)
        for block in self.blocks:
            h = block(h, m)
        return h.transpose(1, 2)

    @property
    def computes_last_step_alone(self) -> bool:
        """True when :meth:`forward_last` can compute the last step's output without the others:
        causal, each dilation dividing the next (the default doubling does), and no batch norm
        (whose statistics would come from fewer steps)."""
        return (self.causal and all(b % a == 0 for a, b in zip(self.dilations, self.dilations[1:]))
                and not isinstance(self.blocks[0].norm1, nn.BatchNorm1d))

    def forward_last(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        r"""The output at the last step only, ``forward(x)[:, -1]``, computing only what it depends on.

        A sequence-to-label model (adding problem, sequential MNIST) reads one output step.
        That step depends on the last :attr:`receptive_field` input steps and, at level
        ``v``, only on the steps ``dilation[v]`` apart counted back from the last one; so the
        input is cropped to the receptive field, each level runs at dilation 1 on its lattice
        of steps, and its second convolution keeps only what the next level reads (stride
        ``dilation[v+1] / dilation[v]``). With the default dilations the levels shrink by half
        each: about 3 full-length convolutions of work instead of ``2 * levels``. The values
        equal the full forward's up to float rounding (the same sums over the same taps).

        With a ``mask`` of a right-padded batch the output is each sequence's last valid
        step: the sequences are first shifted to end at step ``T-1``, and the steps before
        a sequence's start are zeroed before every convolution, which is the zero padding
        the full forward gives it at step 0.

        Elementwise dropout draws its masks for fewer positions than the full forward does,
        so in training mode the random draws (not their distribution) differ from it.
        Falls back to the full forward when :attr:`computes_last_step_alone` is false.

        Shape:
            - Input: :math:`(B, T, \text{input\_size})`; mask: :math:`(B, T)` valid steps, or None
            - Output: :math:`(B, \text{channels[-1]})`
        """
        checks.sequence_input(x, self.input_size, next(self.parameters()), "TCN")
        if mask is not None:
            mask = checks.padding_mask(mask, x.size(0), x.size(1), "TCN")
            lengths = mask.sum(1)
            if bool((lengths == 0).any()):
                raise ValueError("every sequence needs at least one valid step in the mask")
        if not self.computes_last_step_alone:
            h = self.forward(x, mask)
            return h[:, -1] if mask is None else h[torch.arange(h.size(0), device=h.device), lengths - 1]
        started = None  # (B, 1, T): 1 from each sequence's first step on, after the shift
        if mask is not None and not bool((lengths == x.size(1)).all()):
            x, started = _end_aligned(x, lengths)
        if x.size(1) > self.receptive_field:
            x = x[:, -self.receptive_field :]
            started = None if started is None else started[..., -self.receptive_field :]
        h, spacing = x.transpose(1, 2), 1
        for v, block in enumerate(self.blocks):
            f = block.dilation // spacing  # to the lattice of steps `dilation` apart ending at T-1
            h, started = _every_from_end(h, f), _every_from_end(started, f)
            last = v == len(self.blocks) - 1
            stride = h.size(-1) if last else self.dilations[v + 1] // block.dilation
            h, spacing = block.forward_lattice(h, stride, started), block.dilation * stride
            started = _every_from_end(started, stride)
        return h[..., -1]

    def init_state(self, batch_size: int, device=None, dtype=None) -> TCNState:
        """A fresh streaming state for ``batch_size`` sequences (see :mod:`seqbench.nn.tcn_streaming`).

        Its zeros are the left padding the full forward sees, so streamed outputs equal the
        full forward's from the first step. Also folds the weights for :meth:`step`, once.
        Raises ``ValueError`` for a non-causal TCN.
        """
        return tcn_init_state(self, batch_size, device, dtype)

    def step(self, x: torch.Tensor, state: TCNState):
        r"""Advance one step: ``y_t, state = tcn.step(x_t, state)``, eval-mode numerics.

        The state's buffers are updated in place (use ``streaming.clone_state`` to branch).

        Shape:
            - x: :math:`(B, \text{input\_size})`
            - output: :math:`(B, \text{channels[-1]})`
        """
        return tcn_step(self, x, state)

    def advance(self, x: torch.Tensor, state: TCNState):
        check_streamable(self)
        h, state = tcn_step_channels_first(self, x.t(), state)
        return h.t(), state

    def export_step(self) -> TCNShiftStep:
        """The step over shift buffers (:class:`~seqbench.nn.tcn_export.TCNShiftStep`), weights folded."""
        return TCNShiftStep(self)

    def extra_repr(self) -> str:
        return f"receptive_field={self.receptive_field}"
