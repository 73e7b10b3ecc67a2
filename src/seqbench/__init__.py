"""seqbench: temporal convolutional networks vs recurrent networks, on the paper's benchmark suite."""

__version__ = "0.1.0"


def train(task: str, model: str = "tcn", **overrides) -> dict:
    """Train ``model`` on ``task``; returns the run's result record. See :func:`seqbench.training.train`.

    (Imported on first call: ``import seqbench`` stays light, Lightning loads when needed.)
    """
    from .training import train as _train

    return _train(task, model, **overrides)


def generate(model, prompt, steps: int, temperature: float = 1.0, top_k=None, seed=None):
    """Sample ``steps`` tokens from a token model after ``prompt``. See :func:`seqbench.generation.generate`."""
    from .generation import generate as _generate

    return _generate(model, prompt, steps, temperature=temperature, top_k=top_k, seed=seed)
