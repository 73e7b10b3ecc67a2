"""Autoregressive sampling from a token model through the streaming path."""

from __future__ import annotations

import torch

from .nn import checks


def generate(model, prompt, steps: int, temperature: float = 1.0, top_k: int | None = None, seed: int | None = None):
    """Sample ``steps`` tokens that continue ``prompt``, one streaming step per token.

    The prompt is consumed step by step with ``model.step`` (each token costs one step,
    never a recomputation of the receptive field); then each sampled token is fed back.

    Args:
        model: a :class:`~seqbench.nn.SequenceModel` over tokens (``input_adapter="embedding"``,
            head ``"lm"``, or ``"per_step"`` with ``output_size`` equal to the vocabulary).
        prompt: token ids, shape ``(T,)`` or ``(B, T)`` with ``T >= 1``.
        steps: tokens to sample (``>= 0``).
        temperature: logits are divided by it; ``0`` means greedy (argmax).
        top_k: sample only among the ``top_k`` most likely tokens (``None``: all).
        seed: seeds a private generator, so the same seed gives the same tokens and the
            global random state is left alone.

    Returns:
        The sampled tokens, ``(steps,)`` or ``(B, steps)`` like the prompt, int64.

    The model runs in eval mode for the call (its mode is restored afterwards) and
    without autograd.
    """
    vocab = _check_model(model)
    if not isinstance(prompt, torch.Tensor):
        prompt = torch.as_tensor(prompt)
    if prompt.dim() not in (1, 2) or prompt.shape[-1] == 0:
        raise ValueError(f"prompt must be token ids of shape (T,) or (batch, T) with T >= 1, got {tuple(prompt.shape)}")
    if prompt.is_floating_point() or prompt.is_complex() or prompt.dtype == torch.bool:
        raise ValueError(f"prompt must hold integer token ids, got dtype {prompt.dtype}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None:
        checks.positive_int("top_k", top_k)
        if top_k > vocab:
            raise ValueError(f"top_k must be at most the vocabulary size {vocab}, got {top_k}")
    single = prompt.dim() == 1
    device = model.decoder.weight.device
    tokens = (prompt[None] if single else prompt).to(device=device, dtype=torch.long)
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed))

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            state = model.init_state(tokens.size(0))
            for t in range(tokens.size(1)):
                logits, state = model.step(tokens[:, t], state)
            out = torch.empty(tokens.size(0), steps, dtype=torch.long, device=device)
            for i in range(steps):
                out[:, i] = _sample(logits, temperature, top_k, generator)
                if i + 1 < steps:
                    logits, state = model.step(out[:, i], state)
    finally:
        model.train(was_training)
    return out[0] if single else out


def _check_model(model) -> int:
    from .nn import SequenceModel

    if not isinstance(model, SequenceModel):
        raise ValueError(f"generate needs a seqbench.nn.SequenceModel, got {type(model).__name__}")
    if model.input_adapter != "embedding" or model.head not in ("lm", "per_step") or model.output_size != model.input_size:
        raise ValueError(
            "generate needs a token model: input_adapter='embedding' and head 'lm' (or 'per_step' with output_size "
            f"equal to the vocabulary); got input_adapter={model.input_adapter!r}, head={model.head!r}, "
            f"vocabulary {model.input_size}, output_size {model.output_size}"
        )
    return model.input_size


def _sample(logits: torch.Tensor, temperature: float, top_k: int | None, generator) -> torch.Tensor:
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]
