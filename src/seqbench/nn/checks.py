"""Argument and input checks shared by the modules: one clear ValueError at the boundary."""

from __future__ import annotations

import math

import torch


def positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def finite_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def choice(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def sequence_input(x, features: int, reference: torch.Tensor, who: str) -> None:
    """Check a batch-first float input (batch, time, features) against the model's parameters."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{who} expects a torch.Tensor of shape (batch, time, {features}), got {type(x).__name__}")
    if x.dim() != 3 or x.size(-1) != features:
        raise ValueError(
            f"{who} expects input of shape (batch, time, {features}), got {tuple(x.shape)}"
            + (" (did you pass (batch, features, time)?)" if x.dim() == 3 and x.size(1) == features else "")
        )
    if not x.is_floating_point():
        raise ValueError(f"{who} expects a floating-point input, got dtype {x.dtype}")
    if x.dtype != reference.dtype:
        raise ValueError(f"{who} expects dtype {reference.dtype} (the model's), got {x.dtype}")
    if x.size(1) == 0:
        raise ValueError(f"{who} expects at least one time step, got shape {tuple(x.shape)}")
    finite(x, who)


def finite(x: torch.Tensor, who: str) -> None:
    """Refuse NaN or infinite inputs, which would otherwise spread silently through every later step.

    One reduction per call (on an accelerator, a synchronisation); skipped while
    ``torch.compile`` / ``torch.export`` trace the model, where values are not known.
    """
    if not x.numel() or torch.compiler.is_compiling():
        return
    # a finite sum means every element is finite (NaN and inf propagate); only when the sum
    # is not (a bad value, or finite values whose sum overflows) is each element checked:
    # one fast reduction in the common case instead of a mask and a reduction (5x faster)
    if bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all()):
        return
    bad = ~torch.isfinite(x)
    raise ValueError(f"{who} got {int(bad.sum())} non-finite value(s) (NaN or inf) in its input, "
                     f"first at index {tuple(bad.nonzero()[0].tolist())}")


def padding_mask(mask, batch: int, time: int, who: str) -> torch.Tensor:
    """Check a (batch, time) mask of valid steps; returns it as bool."""
    if not isinstance(mask, torch.Tensor) or mask.shape != (batch, time):
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{who} expects a padding mask of shape ({batch}, {time}), got {shape}")
    if mask.dtype != torch.bool:
        if mask.is_floating_point() or mask.is_complex():
            raise ValueError(f"{who} expects a bool (or 0/1 integer) padding mask, got dtype {mask.dtype}")
        mask = mask != 0
    return mask


def right_padded_lengths(mask: torch.Tensor, who: str) -> torch.Tensor:
    """Lengths (B,) of a bool (B, T) mask that must mark a prefix of each row (right padding).

    Packing (bidirectional recurrent models) and key padding plus positions (transformers)
    give each sequence the outputs it would have alone only when its valid steps come first.
    """
    lengths = mask.sum(1)
    if mask.numel() and not torch.compiler.is_compiling():
        prefix = torch.arange(mask.size(1), device=mask.device).unsqueeze(0) < lengths.unsqueeze(1)
        if not bool((prefix == mask).all()):
            row = int((prefix != mask).any(1).nonzero()[0])
            raise ValueError(
                f"{who} expects a right-padded batch: each row of the mask must be its valid steps followed by "
                f"padding, but row {row} has a valid step after a padded one"
            )
    return lengths


# ------------------------------------------------------------------ streaming steps


def step_input(x, features: int, reference: torch.Tensor, who: str) -> None:
    """Check one step of a batch-first float input, (batch, features), against the model's parameters."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != features:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who} expects one step of shape (batch, {features}), got {shape}")
    if x.dtype != reference.dtype:
        raise ValueError(f"{who} expects dtype {reference.dtype} (the model's), got {x.dtype}")
    if x.device != reference.device:
        raise ValueError(f"{who} expects the input on {reference.device} (the model's device), got {x.device}")
    finite(x, who)


def step_mode(model: torch.nn.Module, who: str) -> None:
    """Streaming computes eval-mode outputs: refuse training mode where that would differ."""
    if not model.training:
        return
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training:
            raise ValueError(
                f"{who}.step: the model is in training mode and uses batch norm, whose batch statistics "
                "need the whole sequence; call model.eval() before streaming"
            )
        if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.training and m.p > 0:
            raise ValueError(f"{who}.step: the model is in training mode with dropout p={m.p}; call model.eval() before streaming")
        if isinstance(m, torch.nn.RNNBase) and m.training and m.dropout > 0 and m.num_layers > 1:
            raise ValueError(f"{who}.step: the model is in training mode with dropout {m.dropout}; call model.eval() before streaming")


def batch_index(index, batch: int) -> torch.Tensor:
    """The batch elements ``index`` names (an int, ints, or a (batch,) bool mask) as int64 in [0, batch)."""
    if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
        if index.shape != (batch,):
            raise ValueError(f"reset mask must have shape ({batch},), got {tuple(index.shape)}")
        index = index.nonzero().flatten()
    idx = torch.as_tensor(index, dtype=torch.long).flatten()
    if idx.numel() and (int(idx.min()) < -batch or int(idx.max()) >= batch):
        raise ValueError(f"reset index out of range for batch size {batch}: {idx.tolist()}")
    return idx % batch if batch else idx
