r"""A diagonal state-space model (S4D, Gu et al. 2022), pure PyTorch: the ``"ssm"`` kind.

Each layer runs, on every channel ``h`` of its input separately, a linear recurrence with a
complex diagonal state of ``state_size`` modes, discretised by zero-order hold with a learned
step :math:`\Delta_h` per channel:

.. math::
    x_t = \bar A\, x_{t-1} + \bar B\, u_t, \qquad y_t = 2\,\mathrm{Re}(C x_t) + D u_t,
    \qquad \bar A = e^{\Delta A}, \quad \bar B = (\bar A - 1) / A,

with :math:`\mathrm{Re}(A) = -e^{a} < 0`, so :math:`|\bar A| < 1` for every parameter
value (a stable recurrence by construction). The modes are S4D-Lin's (:math:`A_n = -\tfrac12
+ i\pi n`), each standing for a conjugate pair (hence the 2 in :math:`2\,\mathrm{Re}`).

**Training reads the whole sequence at once** with a chunked scan: the sequence is cut into
chunks of ``chunk_size`` steps; inside a chunk the output is a causal (lower-triangular)
Toeplitz product with the layer's kernel :math:`K_l = 2\,\mathrm{Re}(C \bar A^l \bar B)`;
across chunks each chunk's end state is carried to the later ones by a log-depth
(Hillis-Steele) scan. Work is :math:`O(B T H (L + N))`, memory for the backward
:math:`O(B T H + B H N (T/L) \log(T/L))`: linear in the length ``T`` at a fixed chunk
(``benchmarks/ssm.py`` measures both). An FFT convolution with the length-``T`` kernel (S4D's)
costs :math:`O(B H T \log T)`, but its rounding lets every input touch every output (a
gradient of about 1e-17 from each later step): the chunked scan multiplies a later input by
nothing, so the model is exactly causal, as :func:`seqbench.check` measures it.

**Streaming runs the recurrence**: the state is ``(num_layers, B, H, N, 2)``, each mode's real
and imaginary parts (ONNX has no complex type), and a step costs :math:`O(H N)` per layer.

Between the layers: pre-norm residual blocks ``h + GLU(Linear(GELU(SSM(LayerNorm(h)))))``
(S4's block), then one LayerNorm. ``bidirectional=True`` adds, in every layer, a second
output map :math:`C` read backwards in time (S4's bidirectional form): not causal, reads
the whole sequence, cannot stream.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .registry import Encoder, register

__all__ = ["SSM", "DiagonalSSM", "SSMState", "SSMStep", "chunked_diagonal_ssm"]


# ---------------------------------------------------------------------------- the parallel form
def discrete_powers(log_decay: torch.Tensor, angle: torch.Tensor, exponent) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\bar A^{e} = e^{e \Delta A}` as (real, imaginary) parts, for ``exponent`` broadcast
    against ``log_decay`` :math:`= \Delta\,\mathrm{Re}(A)` and ``angle`` :math:`= \Delta\,\mathrm{Im}(A)`.
    Computed directly rather than by repeated products, so no rounding builds up with ``e``."""
    magnitude, turned = torch.exp(exponent * log_decay), exponent * angle
    return magnitude * torch.cos(turned), magnitude * torch.sin(turned)


def _scan_chunks(states: torch.Tensor, log_decay: torch.Tensor, angle: torch.Tensor, chunk: int) -> torch.Tensor:
    r"""The state entering each chunk: :math:`X_c = \sum_{c' < c} \bar A^{L(c-1-c')} S_{c'}`.

    ``states`` is ``(H, B, chunks, 2N)``, each chunk's end state from its own inputs (real
    parts, then imaginary). A Hillis-Steele scan: ``log2(chunks)`` rounds, each adding to a
    chunk the running sum ``k`` chunks before it, decayed by :math:`\bar A^{Lk}`; a chunk only
    ever receives earlier chunks' sums.
    """
    real, imag = states.chunk(2, dim=-1)
    count, k = states.size(2), 1
    while k < count - 1:  # the last chunk's own sum is never read
        pr, pi = (p[:, None, None] for p in discrete_powers(log_decay, angle, float(chunk * k)))
        earlier_r, earlier_i = real[:, :, :-k], imag[:, :, :-k]
        real = torch.cat([real[:, :, :k], real[:, :, k:] + pr * earlier_r - pi * earlier_i], dim=2)
        imag = torch.cat([imag[:, :, :k], imag[:, :, k:] + pr * earlier_i + pi * earlier_r], dim=2)
        k *= 2
    entering = torch.cat([real, imag], dim=-1)[:, :, :-1]
    return torch.cat([torch.zeros_like(entering[:, :, :1]), entering], dim=2)


def chunked_diagonal_ssm(u: torch.Tensor, log_decay: torch.Tensor, angle: torch.Tensor, b_bar: torch.Tensor,
                         c: torch.Tensor, chunk: int) -> torch.Tensor:
    r"""The causal output of a diagonal SSM on every step at once: :math:`y_t = \sum_{s \le t}
    2\,\mathrm{Re}(C \bar A^{t-s} \bar B)\, u_s` per channel (the ``D`` term excluded).

    Args:
        u: ``(B, T, H)``, one input per channel.
        log_decay, angle: ``(H, N)``, :math:`\Delta\,\mathrm{Re}(A)` (negative) and :math:`\Delta\,\mathrm{Im}(A)`.
        b_bar, c: ``(H, N, 2)``, :math:`\bar B` and :math:`C` as (real, imaginary) parts.
        chunk: steps per chunk (``L``); a shorter sequence is one chunk.

    Returns:
        ``(B, T, H)``.

    Every product is a batched matrix product over the channels, on ``(H, B * chunks, L)``
    (one transposing copy in, one out).
    """
    batch, time, channels = u.shape
    chunk = min(chunk, time)
    chunks = -(-time // chunk)
    if chunks * chunk != time:  # zeros after the end: they reach no earlier output
        u = F.pad(u, (0, 0, 0, chunks * chunk - time))
    # (H, B * chunks, L), contiguous: a view of the permuted input would make bmm copy matrix by matrix
    u = u.permute(2, 0, 1).contiguous().view(channels, batch * chunks, chunk)
    lags = torch.arange(chunk, device=u.device, dtype=u.dtype)
    # the kernel's first L taps: K_l = 2 Re(C B̄ Ā^l), (H, L)
    cb_r = c[..., 0] * b_bar[..., 0] - c[..., 1] * b_bar[..., 1]
    cb_i = c[..., 0] * b_bar[..., 1] + c[..., 1] * b_bar[..., 0]
    # Ā^l for l = 0..L, (H, N, L + 1): the taps read 0..L-1, the entering state 1..L
    powers_r, powers_i = discrete_powers(log_decay[..., None], angle[..., None], torch.cat([lags, lags[-1:] + 1]))
    pr, pi = powers_r[..., :-1], powers_i[..., :-1]
    kernel = 2 * (cb_r[..., None] * pr - cb_i[..., None] * pi).sum(1)
    # inside a chunk: a lower-triangular Toeplitz product; above the diagonal exact zeros
    offset = lags[None, :] - lags[:, None]  # [j, i] = i - j: input j reaches output i
    toeplitz = kernel[:, offset.clamp(min=0).long()] * (offset >= 0).to(u.dtype)  # (H, L in, L out)
    if chunks == 1:
        return torch.bmm(u, toeplitz).view(channels, batch, chunk)[:, :, :time].permute(1, 2, 0)
    # each chunk's end state from its own inputs, sum_j Ā^(L-1-j) B̄ u_j, in the same product
    er, ei = pr.flip(-1), pi.flip(-1)  # Ā^(L-1-j)
    into = torch.cat([er * b_bar[..., 0, None] - ei * b_bar[..., 1, None],
                      er * b_bar[..., 1, None] + ei * b_bar[..., 0, None]], dim=1)  # (H, 2N, L)
    both = torch.bmm(u, torch.cat([toeplitz, into.transpose(1, 2)], dim=2))  # (H, B * chunks, L + 2N)
    y, ends = both.split([chunk, both.size(-1) - chunk], dim=-1)  # split: its backward is one cat, no zero fill
    ends = ends.reshape(channels, batch, chunks, -1)
    entering = _scan_chunks(ends, log_decay, angle, chunk).view(channels, batch * chunks, -1)
    # what the entering state adds at offset i: 2 Re(C Ā^(i+1) X)
    qr, qi = powers_r[..., 1:], powers_i[..., 1:]
    ca_r = c[..., 0, None] * qr - c[..., 1, None] * qi
    ca_i = c[..., 0, None] * qi + c[..., 1, None] * qr
    read = torch.cat([2 * ca_r, -2 * ca_i], dim=1)  # (H, 2N, L)
    y = torch.bmm(entering, read).add_(y)  # a plain add of the strided y (baddbmm would copy it matrix by matrix)
    return y.view(channels, batch, chunks * chunk)[:, :, :time].permute(1, 2, 0)


# ---------------------------------------------------------------------------- one layer
class DiagonalSSM(nn.Module):
    r"""One diagonal state-space layer over ``channels`` independent channels (S4D).

    Args:
        channels: features in and out (``H``).
        state_size: complex modes per channel (``N``; each a conjugate pair, so S4D's "N=2N").
        bidirectional: add an output map read backwards in time (not causal).
        chunk_size: steps per chunk of the parallel form (a speed setting; same outputs).
        dt_min, dt_max: the range of the initial discretisation steps (log-uniform per channel).

    Shape:
        - Input: :math:`(B, T, H)`; mask (optional): :math:`(B, T)`, valid steps of a right-padded batch.
        - Output: :math:`(B, T, H)`.
    """

    def __init__(self, channels: int, state_size: int = 32, bidirectional: bool = False, chunk_size: int = 64,
                 dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        super().__init__()
        checks.positive_int("channels", channels)
        checks.positive_int("state_size", state_size)
        checks.positive_int("chunk_size", chunk_size)
        if not 0 < checks.finite_number("dt_min", dt_min) <= checks.finite_number("dt_max", dt_max):
            raise ValueError(f"need 0 < dt_min <= dt_max, got dt_min={dt_min!r}, dt_max={dt_max!r}")
        self.channels, self.state_size, self.chunk_size = channels, state_size, chunk_size
        self.bidirectional = bool(bidirectional)
        h, n = channels, state_size
        u = torch.rand(h)
        self.log_dt = nn.Parameter(math.log(dt_min) + u * (math.log(dt_max) - math.log(dt_min)))
        # S4D-Lin: A_n = -1/2 + i pi n; Re(A) is kept negative through its logarithm
        self.log_a_real = nn.Parameter(torch.full((h, n), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(n, dtype=torch.get_default_dtype()).expand(h, n).clone())
        # C ~ CN(0, 1) per mode pair, as S4D's (B is 1 and folded into C: the pair only acts as a product)
        self.c = nn.Parameter(torch.randn(h, n, 2) * math.sqrt(0.5))
        self.c_backward = nn.Parameter(torch.randn(h, n, 2) * math.sqrt(0.5)) if self.bidirectional else None
        self.d = nn.Parameter(torch.randn(h))

    def discretised(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r""":math:`\Delta\,\mathrm{Re}(A)`, :math:`\Delta\,\mathrm{Im}(A)` (each ``(H, N)``) and
        :math:`\bar B = (e^{\Delta A} - 1)/A` (zero-order hold, ``(H, N, 2)``)."""
        dt = torch.exp(self.log_dt)[:, None]
        a_real = -torch.exp(self.log_a_real)
        log_decay, angle = dt * a_real, dt * self.a_imag
        ar, ai = discrete_powers(log_decay, angle, 1.0)
        # (Ā - 1) / A, a complex division written in real parts
        nr, ni = ar - 1, ai
        norm = a_real * a_real + self.a_imag * self.a_imag
        b_bar = torch.stack([(nr * a_real + ni * self.a_imag) / norm, (ni * a_real - nr * self.a_imag) / norm], -1)
        return log_decay, angle, b_bar

    def forward(self, u: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        log_decay, angle, b_bar = self.discretised()
        if mask is not None and self.bidirectional:
            # a zero input leaves a zero state zero: the backward direction reaches each
            # sequence's last valid step having read nothing of its padding
            u = u * mask.unsqueeze(-1).to(u.dtype)
        y = chunked_diagonal_ssm(u, log_decay, angle, b_bar, self.c, self.chunk_size)
        if self.bidirectional:
            y = y + chunked_diagonal_ssm(u.flip(1), log_decay, angle, b_bar, self.c_backward, self.chunk_size).flip(1)
        return y + self.d * u

    def step_coefficients(self) -> tuple[torch.Tensor, ...]:
        r"""What a step multiplies by, each ``(H, N, 2)`` over the state's (real, imaginary) pairs:
        ``keep`` :math:`(\mathrm{Re}\,\bar A, \mathrm{Re}\,\bar A)`, ``turn``
        :math:`(-\mathrm{Im}\,\bar A, \mathrm{Im}\,\bar A)` (applied to the swapped pair),
        ``into`` :math:`\bar B`, ``read`` :math:`(2\,\mathrm{Re}\,C, -2\,\mathrm{Im}\,C)`; and ``D``."""
        log_decay, angle, b_bar = self.discretised()
        ar, ai = discrete_powers(log_decay, angle, 1.0)
        read = torch.stack([2 * self.c[..., 0], -2 * self.c[..., 1]], dim=-1)
        return torch.stack([ar, ar], -1), torch.stack([-ai, ai], -1), b_bar, read, self.d

    def step(self, u: torch.Tensor, state: torch.Tensor, coefficients=None) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the recurrence: ``u`` ``(B, H)``, ``state`` ``(B, H, N, 2)`` -> ``(y, new state)``;
        ``coefficients``: :meth:`step_coefficients`, when the caller keeps them."""
        keep, turn, into, read, d = self.step_coefficients() if coefficients is None else coefficients
        # (Ā x)_re = Re Ā x_re - Im Ā x_im, (Ā x)_im = Re Ā x_im + Im Ā x_re: the swapped pair carries Im Ā
        new = state * keep + state.flip(-1) * turn + into * u[..., None, None]
        return (new * read).sum((-2, -1)) + d * u, new

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, state_size={self.state_size}, chunk_size={self.chunk_size}"
                + (", bidirectional=True" if self.bidirectional else ""))


class SSMBlock(nn.Module):
    """A pre-norm residual block: ``h + Dropout(GLU(Linear(Dropout(GELU(SSM(LayerNorm(h)))))))``."""

    def __init__(self, channels: int, dropout: float, **ssm_options) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.ssm = DiagonalSSM(channels, **ssm_options)
        self.mix = nn.Linear(channels, 2 * channels)  # GLU halves it back to `channels`
        self.drop = nn.Dropout(dropout)

    def _after_ssm(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return h + self.drop(F.glu(self.mix(self.drop(F.gelu(y))), dim=-1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self._after_ssm(h, self.ssm(self.norm(h), mask))

    def step(self, h: torch.Tensor, state: torch.Tensor, coefficients=None) -> tuple[torch.Tensor, torch.Tensor]:
        y, state = self.ssm.step(self.norm(h), state, coefficients)
        return self._after_ssm(h, y), state


# ---------------------------------------------------------------------------- the kind
class SSMState(NamedTuple):
    """Streaming state of a causal :class:`SSM`: ``modes`` ``(num_layers, B, H, N, 2)``, every
    layer's complex state as (real, imaginary) parts."""

    modes: torch.Tensor

    # the state protocol of seqbench.nn.states
    def tensors(self) -> list[torch.Tensor]:
        return [self.modes]

    @property
    def batch_size(self) -> int:
        return self.modes.shape[1]

    def reset(self, index: torch.Tensor) -> None:
        self.modes.index_fill_(1, index.to(self.modes.device), 0.0)

    def to(self, device=None, dtype=None) -> "SSMState":
        return SSMState(self.modes.to(device=device, dtype=dtype).contiguous())

    def clone(self) -> "SSMState":
        return SSMState(self.modes.clone())


@register
class SSM(Encoder):
    r"""A stack of diagonal state-space layers (S4D), batch-first, causal by default.

    The input is projected to ``hidden_size`` channels (a ``Linear``), ``num_layers``
    :class:`SSMBlock` follow, then a ``LayerNorm``. See :mod:`seqbench.nn.ssm` for the maths,
    the parallel form and its cost.

    Args:
        input_size: features per input step.
        hidden_size: channels ``H`` of every layer (its width).
        num_layers: residual blocks (default 4).
        state_size: complex modes per channel (``N``, default 32, S4D's N=64 counted in conjugate pairs).
        dropout: after the GELU and after the GLU of every block.
        bidirectional: also read every layer backwards in time (not causal, cannot stream); with
            a mask, each sequence's valid outputs are those it has alone.
        chunk_size: steps per chunk of the parallel form (default 64; speed only).
        dt_min, dt_max: range of the initial discretisation steps (default 1e-3 to 1e-1).

    Shape:
        - Input: :math:`(B, T, \text{input\_size})`; mask (optional): :math:`(B, T)` valid steps.
        - Output: :math:`(B, T, \text{hidden\_size})`; when bidirectional with a mask, zeros at padded steps.

    Example::

        >>> ssm = SSM(input_size=2, hidden_size=32)
        >>> ssm(torch.randn(4, 100, 2)).shape
        torch.Size([4, 100, 32])
    """

    NAME, LABEL = "ssm", "SSM"
    BIDIRECTIONAL, WHOLE_SEQUENCE = True, {"bidirectional": True}
    CAN_STREAM = CAN_EXPORT = True
    # the parallel form's chunk count and scan rounds follow the length: the full export keeps the example's
    EXPORT_FIXED_LENGTH = True
    WIDTH_RANGE = (2, 1 << 14)  # a LayerNorm over one channel would output zeros
    # depth; the width follows from the parameter budget (state size and steps stay at their defaults)
    SEARCH_SPACE = {**Encoder.SEARCH_SPACE, "num_layers": [2, 4, 6]}

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 4, state_size: int = 32,
                 dropout: float = 0.0, bidirectional: bool = False, chunk_size: int = 64, dt_min: float = 1e-3,
                 dt_max: float = 1e-1) -> None:
        super().__init__()
        checks.positive_int("input_size", input_size)
        checks.positive_int("hidden_size", hidden_size, 2)
        checks.positive_int("num_layers", num_layers)
        checks.probability("dropout", dropout)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.num_layers, self.state_size, self.bidirectional = num_layers, state_size, bool(bidirectional)
        self.input_proj = nn.Linear(input_size, hidden_size)
        self.blocks = nn.ModuleList(
            SSMBlock(hidden_size, dropout, state_size=state_size, bidirectional=bidirectional, chunk_size=chunk_size,
                     dt_min=dt_min, dt_max=dt_max)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)

    @classmethod
    def build(cls, input_size: int, hidden_size: int | None, *, num_layers: int = 4, dropout: float = 0.0,
              init: str = "default", **options) -> "SSM":
        """``num_layers`` blocks (its depth, default 4) of ``hidden_size`` channels (its width)."""
        if hidden_size is None:
            raise ValueError("an ssm model needs hidden_size (its width, the channels of every layer)")
        return cls(input_size, hidden_size, num_layers=num_layers, dropout=dropout, **options)

    @property
    def causal(self) -> bool:
        return not self.bidirectional

    def describe(self) -> str:
        return (f"hidden={self.hidden_size} layers={self.num_layers} state={self.state_size}"
                + (" bidirectional" if self.bidirectional else ""))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run on ``x`` (B, T, input_size); ``mask`` (B, T) marks valid steps (read when bidirectional)."""
        checks.sequence_input(x, self.input_size, self.input_proj.weight, "SSM")
        if mask is not None:
            mask = checks.padding_mask(mask, x.size(0), x.size(1), "SSM")
            if not self.bidirectional or bool(mask.all()):
                mask = None  # a causal model's valid steps never read the padding after them
            else:
                checks.right_padded_lengths(mask, "SSM")
        h = self.input_proj(x)
        for block in self.blocks:
            h = block(h, mask)
        h = self.norm(h)
        return h if mask is None else h.masked_fill(~mask.unsqueeze(-1), 0.0)

    # -- streaming ---------------------------------------------------------------------
    def _check_streamable(self) -> None:
        if self.bidirectional:
            raise ValueError("a bidirectional SSM (bidirectional=True) reads each sequence backwards from its end, "
                             "so it cannot stream one step at a time; build it with bidirectional=False")

    def init_state(self, batch_size: int, device=None, dtype=None) -> SSMState:
        """A zero :class:`SSMState` for ``batch_size`` sequences; causal models only."""
        self._check_streamable()
        checks.positive_int("batch_size", batch_size)
        p = self.input_proj.weight
        shape = (self.num_layers, batch_size, self.hidden_size, self.state_size, 2)
        return SSMState(torch.zeros(shape, device=p.device if device is None else device,
                                    dtype=p.dtype if dtype is None else dtype))

    def step(self, x: torch.Tensor, state: SSMState):
        r"""Advance one step: ``y_t, state = ssm.step(x_t, state)``, eval-mode numerics.

        Shape:
            - x: :math:`(B, \text{input\_size})`
            - output: :math:`(B, \text{hidden\_size})`
        """
        checks.step_mode(self, "SSM")
        checks.step_input(x, self.input_size, self.input_proj.weight, "SSM.step")
        return self.advance(x, state)  # which refuses a bidirectional model first

    def advance(self, x: torch.Tensor, state: SSMState):
        self._check_streamable()  # SequenceModel.step comes here directly: a bidirectional one cannot stream
        who = "SSM.step"
        if not isinstance(state, SSMState):
            raise ValueError(f"{who} expects the SSMState from this model's init_state, got {type(state).__name__}")
        shape = (self.num_layers, x.shape[0], self.hidden_size, self.state_size, 2)
        if not isinstance(state.modes, torch.Tensor) or tuple(state.modes.shape) != shape:
            got = tuple(state.modes.shape) if isinstance(state.modes, torch.Tensor) else type(state.modes).__name__
            raise ValueError(f"{who}: the state has shape {got}, this model and batch need {shape} "
                             "(num_layers, batch, hidden_size, state_size, 2): a state from another model or batch size?")
        y, modes = self.step_tensors(x, state.modes)
        return y, SSMState(modes)

    def step_tensors(self, x: torch.Tensor, modes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The step on plain tensors (what :class:`SSMStep` exports): ``(x_t, modes) -> (y_t, new modes)``."""
        coefficients = self._step_coefficients()
        h, new = self.input_proj(x), []
        for block, layer_modes, layer_coefficients in zip(self.blocks, modes.unbind(0), coefficients):
            h, layer_modes = block.step(h, layer_modes, layer_coefficients)
            new.append(layer_modes)
        return self.norm(h), torch.stack(new)

    def _step_coefficients(self) -> list:
        """Every layer's :meth:`DiagonalSSM.step_coefficients`: kept between steps taken without
        gradients (a stream's), recomputed once a parameter changes (its version counter moves) or
        moves; computed afresh, and not kept, where gradients flow or a graph is being traced."""
        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            return [None] * self.num_layers
        params = list(self.parameters())
        key = [(p._version, p.device, p.dtype, p.data_ptr()) for p in params]
        cached = self.__dict__.get("_step_cache")
        if cached is None or cached[0] != key:
            cached = (key, [block.ssm.step_coefficients() for block in self.blocks])
            self.__dict__["_step_cache"] = cached  # a plain attribute: outside the state_dict
        return cached[1]

    def export_step(self) -> "SSMStep":
        self._check_streamable()
        return SSMStep(self)

    def extra_repr(self) -> str:
        return "bidirectional=True" if self.bidirectional else ""


class SSMStep(nn.Module):
    """One step of a causal :class:`SSM` as a pure function (ONNX export): ``(x_t, modes) -> (y_t,
    new modes)``, on a copy of the model; ``modes`` is ``(num_layers, B, H, N, 2)``, real tensors only."""

    batch_dim = 1

    def __init__(self, ssm: SSM) -> None:
        super().__init__()
        self.core = copy.deepcopy(ssm).eval()

    def state_shapes(self, batch_size: int) -> list[tuple[int, ...]]:
        c = self.core
        return [(c.num_layers, batch_size, c.hidden_size, c.state_size, 2)]

    def forward(self, x: torch.Tensor, modes: torch.Tensor):
        return self.core.step_tensors(x, modes)
