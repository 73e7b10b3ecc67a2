"""The module under check, seen through one interface: a float64 copy in eval mode, batch-first.

Every measurement calls the module through a :class:`Probe`, which hides how the module
wants its input (batch-first or channels-first), how it is told about padding (a mask or
lengths keyword, or not at all) and how it streams (a ``step`` method and an initial state).
"""

from __future__ import annotations

import copy
import inspect

import torch
from torch import nn

from ..nn import checks

LAYOUTS = ("batch_first", "channels_first")
AUTO = "auto"


class KeywordError(ValueError):
    """A mask, lengths or step keyword that the module does not have (the command line: a malformed option)."""


class Probe:
    """Calls a float64, eval-mode copy of ``module`` on batch-first inputs; returns ``(B, T, out)``.

    Args:
        module: maps ``(batch, time, input_size)`` (``(batch, input_size, time)`` when
            ``layout="channels_first"``) to one output per step.
        input_size: features per step (default: ``module.input_size``).
        mask_arg / lengths_arg: the keyword of ``forward`` that takes a ``(batch, time)`` bool
            mask, true at valid steps / the ``(batch,)`` lengths of a right-padded batch;
            ``"auto"`` finds a parameter named ``mask`` or ``lengths``, None passes neither.
        step_method: the method ``y_t, state = module.step(x_t, state)`` that streams, its first
            state from ``module.init_state(batch_size)`` when there is one (else None);
            ``"auto"`` uses ``step`` when the module has ``step`` and ``init_state``, None none.
        seed: seeds every random input the checks draw.
    """

    def __init__(self, module: nn.Module, input_size: int | None = None, layout: str = "batch_first",
                 mask_arg: str | None = AUTO, lengths_arg: str | None = AUTO, step_method: str | None = AUTO,
                 seed: int = 0) -> None:
        if not isinstance(module, nn.Module):
            raise ValueError(f"check expects a torch.nn.Module, got {type(module).__name__}")
        self.layout = checks.choice("layout", layout, LAYOUTS)
        if input_size is None:
            input_size = getattr(module, "input_size", None)
            if not isinstance(input_size, int):
                raise ValueError(f"{type(module).__name__} has no integer input_size attribute: pass input_size")
        self.input_size = checks.positive_int("input_size", input_size)
        self.name = type(module).__name__
        self.module = _float64_eval_copy(module)
        tensors = [*self.module.parameters(), *self.module.buffers()]
        self.device = tensors[0].device if tensors else torch.device("cpu")
        self.mask_arg, self.lengths_arg = _padding_keywords(self.module, mask_arg, lengths_arg)
        self.step_method = _step_method(self.module, step_method)
        #: True when the caller named the step method (its failures are errors, not "cannot stream")
        self.step_declared = step_method not in (AUTO, None)
        self.generator = torch.Generator().manual_seed(checks.positive_int("seed", seed, 0))

    @property
    def padding_keyword(self) -> str | None:
        return self.mask_arg or self.lengths_arg

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal float64 values on the module's device, from the probe's own generator."""
        return torch.randn(*shape, generator=self.generator, dtype=torch.float64).to(self.device)

    def inputs(self, batch: int, length: int) -> torch.Tensor:
        return self.randn(batch, length, self.input_size)

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The module's outputs on ``x`` (B, T, F), as ``(B, T, out)``; ``lengths`` (B,) of valid steps."""
        batch, time = x.shape[:2]
        kwargs = {}
        if lengths is not None:
            if self.mask_arg is not None:
                kwargs[self.mask_arg] = torch.arange(time, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
            else:
                kwargs[self.lengths_arg] = lengths
        given = x.transpose(1, 2) if self.layout == "channels_first" else x
        try:
            y = self.module(given, **kwargs)
        except RuntimeError as e:  # most often a shape mismatch: say what it was given, and how
            raise ValueError(f"{self.name} failed on a {self.layout} input of shape {tuple(given.shape)} "
                             f"(float64{', with ' + next(iter(kwargs)) if kwargs else ''}): {e}") from e
        if isinstance(y, (tuple, list)):  # nn.LSTM and friends: (output, state)
            y = y[0]
        if not isinstance(y, torch.Tensor):
            raise ValueError(f"{self.name} returned {type(y).__name__}; check needs a tensor of outputs per step")
        if self.layout == "channels_first" and y.dim() >= 3:
            y = y.movedim(-1, 1)  # (B, C, T) -> (B, T, C)
        if y.dim() < 2 or tuple(y.shape[:2]) != (batch, time):
            expected = "(batch, out, time)" if self.layout == "channels_first" else "(batch, time, out)"
            raise ValueError(
                f"{self.name} mapped an input of {time} steps to shape {tuple(y.shape)}; check needs one output "
                f"per input step, {expected} (a sequence-to-label head has no per-step outputs to check)"
            )
        return y.reshape(batch, time, -1)

    def initial_state(self, batch: int):
        init = getattr(self.module, "init_state", None)
        return init(batch) if callable(init) else None

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        """The outputs of stepping through ``x`` (B, T, F) one step at a time, as ``(B, T, out)``."""
        step = getattr(self.module, self.step_method)
        state, outputs = self.initial_state(x.size(0)), []
        with torch.no_grad():
            for t in range(x.size(1)):
                result = step(x[:, t], state)
                if not isinstance(result, tuple) or len(result) != 2:
                    raise ValueError(f"{self.name}.{self.step_method} must return (output, state), "
                                     f"got {type(result).__name__}")
                y, state = result
                outputs.append(y.reshape(x.size(0), -1))
        return torch.stack(outputs, 1)


def _float64_eval_copy(module: nn.Module) -> nn.Module:
    """A float64 copy in eval mode: dropout off, batch norm on its running statistics, and
    rounding far below any leak worth reporting. The caller's module is left as it was."""
    try:
        clone = copy.deepcopy(module)
    except Exception as e:  # a module holding something that cannot be copied (a lock, a file)
        raise ValueError(f"check works on a copy of the module, and {type(module).__name__} cannot be "
                         f"deep-copied: {e}") from e
    return clone.double().eval()


def _forward_parameters(module: nn.Module) -> dict:
    try:
        return dict(inspect.signature(module.forward).parameters)
    except (TypeError, ValueError):  # a builtin or C-implemented forward: nothing to read
        return {}


def _padding_keywords(module: nn.Module, mask_arg, lengths_arg) -> tuple[str | None, str | None]:
    """Which keyword of ``forward`` takes a padding mask or lengths (at most one of them)."""
    params = _forward_parameters(module)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    explicit = {name: value for name, value in (("mask_arg", mask_arg), ("lengths_arg", lengths_arg))
                if value not in (AUTO, None)}
    if len(explicit) == 2:
        raise KeywordError("give mask_arg or lengths_arg, not both: the module is told about padding one way")
    for option, keyword in explicit.items():
        if not isinstance(keyword, str) or not keyword.isidentifier():
            raise KeywordError(f"{option} must name a keyword argument of forward, got {keyword!r}")
        if keyword not in params and not takes_any:
            raise KeywordError(f"{option}={keyword!r}: {type(module).__name__}.forward has no parameter {keyword!r} "
                             f"(it has {', '.join(params) or 'none'})")
    if explicit:
        return explicit.get("mask_arg"), explicit.get("lengths_arg")
    if mask_arg == AUTO and "mask" in params:
        return "mask", None
    if lengths_arg == AUTO and "lengths" in params:
        return None, "lengths"
    return None, None


def _step_method(module: nn.Module, step_method) -> str | None:
    if step_method is None:
        return None
    if step_method == AUTO:
        streams = callable(getattr(module, "step", None)) and callable(getattr(module, "init_state", None))
        return "step" if streams else None
    if not isinstance(step_method, str) or not callable(getattr(module, step_method, None)):
        raise KeywordError(f"step_method={step_method!r}: {type(module).__name__} has no such method")
    return step_method
