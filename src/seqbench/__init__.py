"""seqbench: temporal convolutional networks vs recurrent networks, on the paper's benchmark suite."""

__version__ = "0.1.0"


def train(task: str, model: str = "tcn", **overrides) -> dict:
    """Train ``model`` on ``task``; returns the run's result record. See :func:`seqbench.train.train`.

    (Imported lazily: ``import seqbench`` stays light, Lightning loads on the first call.)
    """
    from .train import train as _train

    return _train(task, model, **overrides)


def __getattr__(name):
    # Lazy: `import seqbench` stays light; `seqbench.generate` imports torch only when used.
    if name == "generate":
        from .generate import generate

        # importing the submodule bound the name to the module; rebind it to the function
        globals()["generate"] = generate
        return generate
    raise AttributeError(f"module 'seqbench' has no attribute {name!r}")
