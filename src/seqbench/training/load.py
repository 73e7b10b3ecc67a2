"""Reading a run back from its checkpoint: safely, and without Lightning.

A checkpoint is a file somebody may have sent you. ``torch.load``'s full unpickler builds
whatever objects a file names, which lets a crafted file run code the moment it is opened.
Every checkpoint is therefore read here with ``weights_only=True``: tensors, numbers,
strings and plain containers, which is all a seqbench checkpoint holds (the run's
configuration and the task's state are plain dicts). A file that needs anything else is
refused before any of its objects exist. Training's resume path reads through
:func:`read_checkpoint` too (``seqbench.training.checkpoints``).
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings
from pathlib import Path
from typing import NamedTuple

import torch

from .. import tasks
from ..nn import SequenceModel
from .config import RunConfig, Training, build_task

MODEL_PREFIX = "model."  # the LightningModule holds the model as ``self.model``


class CheckpointError(ValueError):
    """A file that is not a usable seqbench checkpoint: missing, empty, truncated, foreign."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose contents would need arbitrary Python objects (code) to load."""


def read_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """The contents of a seqbench checkpoint, loaded with ``weights_only=True``.

    Raises:
        UnsafeCheckpointError: the file names Python objects beyond tensors and plain data
            (what a malicious or foreign pickle does); nothing of it was built.
        CheckpointError: no such file, an empty or truncated file, not a torch file, or a
            torch file without a seqbench run inside.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): not a checkpoint")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's weights-only unpickler stops at the first global it does not allow
        detail = next((line.strip() for line in str(e).splitlines() if "GLOBAL" in line or "global" in line), "")
        raise UnsafeCheckpointError(
            f"refused to load {path}: it holds Python objects a seqbench checkpoint never contains"
            + (f" ({detail})" if detail else "") + "; checkpoints are opened as plain data only, so none of it ran"
        ) from None
    except Exception as e:  # garbage bytes fail anywhere in the unpickler: KeyError, EOFError, RuntimeError, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or not a torch file: {first})") from None
    if not isinstance(ckpt, dict) or not isinstance((ckpt.get("hyper_parameters") or {}).get("run_config"), dict) \
            or not isinstance(ckpt.get("state_dict"), dict):
        raise CheckpointError(f"{path} is not a seqbench checkpoint (no run configuration inside)")
    return ckpt


def run_config(ckpt: dict, path: str | Path = "checkpoint") -> RunConfig:
    """The :class:`RunConfig` a checkpoint was trained with."""
    try:
        return RunConfig.from_dict(ckpt["hyper_parameters"]["run_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path} holds a run this seqbench cannot rebuild: {e}") from None


def model_state(ckpt: dict) -> dict[str, torch.Tensor]:
    """The model's weights from a checkpoint's state dict (without the LightningModule's prefix)."""
    return {k[len(MODEL_PREFIX):]: v for k, v in ckpt["state_dict"].items() if k.startswith(MODEL_PREFIX)}


def same_run(a: RunConfig, b: RunConfig) -> bool:
    """True when two configurations train the same thing (budgets and run-time settings aside)."""
    return dataclasses.replace(a, name=None).run_name() == dataclasses.replace(b, name=None).run_name()


def changed_training(ckpt: dict, training: Training) -> str:
    """The resolved training settings that differ from those ``ckpt`` was trained with, as
    "lr 4.0, not 1.0"; empty when none do.

    Epochs are left out (``--resume --epochs N`` extends a run), and so is a checkpoint from
    before the settings were saved in it. Overrides are in the run's name and caught there; this
    catches a preset changed under a run that is then resumed.
    """
    saved = (ckpt.get("hyper_parameters") or {}).get("training")
    if not isinstance(saved, dict):
        return ""
    now = dataclasses.asdict(training)
    return ", ".join(f"{k} {saved[k]!r}, not {v!r}" for k, v in now.items()
                     if k != "epochs" and k in saved and saved[k] != v)


class LoadedRun(NamedTuple):
    """A run rebuilt from its checkpoint: configuration, task, and the trained model (eval mode)."""

    config: RunConfig
    task: tasks.Task
    model: SequenceModel


def load_run(path: str | Path, *, data_dir: str | Path | None = None, need_data: bool = True) -> LoadedRun:
    """Rebuild the configuration, task and trained model of a checkpoint, from the file alone.

    Args:
        path: a ``.ckpt`` a run wrote (``best.ckpt`` or ``last.ckpt``).
        data_dir: where the task's datasets lie on this machine (default: the run's own).
        need_data: ``False`` for a task that only has to build models and predict: a task
            with saved state (your own data) is then rebuilt from the checkpoint, without
            its training file.

    Raises:
        CheckpointError: see :func:`read_checkpoint`; also a configuration or weights that
            do not fit this seqbench's models.
    """
    ckpt = read_checkpoint(path)
    cfg = run_config(ckpt, path)
    if data_dir is not None:
        cfg = dataclasses.replace(cfg, data_dir=str(data_dir))
    state = (ckpt.get("seqbench") or {}).get("task_state")
    try:
        if state and not need_data:
            task = tasks.from_state(state)
        else:
            task = build_task(cfg.task, cfg.data_dir, cfg.preset, **cfg.variant)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tasks.ReceptiveFieldWarning)  # told at training time
            model = task.build_model(cfg.model, cfg.preset, **cfg.model_overrides())
    except tasks.DataError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path} holds a run this seqbench cannot rebuild: {e}") from None
    weights = model_state(ckpt)
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"{Path(path).name}: the saved weights do not fit the model its run describes "
                              f"({str(e).strip().splitlines()[0]})") from None
    check_finite_weights(weights, path)
    return LoadedRun(cfg, task, model.eval())


def check_finite_weights(weights: dict[str, torch.Tensor], path: str | Path = "checkpoint") -> None:
    """Refuse weights holding NaN or infinity (a run that diverged, or a damaged file): such
    a model predicts NaN for every input, which is no prediction.

    Raises:
        CheckpointError: naming ``path``, how many values are not finite, and the first tensor.
    """
    bad = {name: int((~torch.isfinite(w)).sum()) for name, w in weights.items()
           if torch.is_tensor(w) and w.is_floating_point() and not torch.isfinite(w).all()}
    if bad:
        first = next(iter(bad))
        raise CheckpointError(f"{path} holds non-finite weights ({sum(bad.values()):,} NaN or infinite values "
                              f"in {len(bad)} tensor(s), first {first}): the run diverged or the file is damaged")
