"""seqbench: temporal convolutional networks vs recurrent networks, on the paper's benchmark suite."""

from .choices import REFERENCE_KIND

__version__ = "0.1.0"


def train(task: str, model: str = REFERENCE_KIND, **overrides) -> dict:
    """Train ``model`` on ``task``; returns the run's result record. See :func:`seqbench.training.train`.

    (Imported on first call: ``import seqbench`` stays light, Lightning loads when needed.)
    """
    from .training import train as _train

    return _train(task, model, **overrides)


def compare(task: str, models=None, seeds: int = 1, preset: str | None = None, **options) -> dict:
    """Train every registered model kind (or ``models``) on ``task`` over seeds ``0 .. seeds-1`` with ``preset``
    (None: the task's quick one); returns the comparison's summary (mean ± std, 95% CI and the
    test against the TCN per model). See :func:`seqbench.comparison.compare`.

    (``budget=`` is the deprecated name of ``preset``.)
    """
    from .comparison import compare as _compare

    if "budget" in options:
        import warnings

        warnings.warn("seqbench.compare(budget=...) is deprecated: it names a preset, say preset=...",
                      DeprecationWarning, stacklevel=2)
        preset = options.pop("budget") if preset is None else preset
    return _compare(task, models or None, seeds=seeds, preset=preset, **options)


def tune(task: str, models=None, trials: int = 20, preset: str | None = None, **options) -> dict:
    """Tune every registered model kind (or ``models``) on ``task`` with the same number of Optuna
    trials of the same budget, each over its kind's ``SEARCH_SPACE``; returns each model's trial
    counts and best settings (``tuning.json``). See :func:`seqbench.tuning.tune` (needs
    ``pip install 'seqbench[tune]'``)."""
    from .tuning import tune as _tune

    return _tune(task, models, trials=trials, preset=preset, **options)


def generate(model, prompt, steps: int, temperature: float = 1.0, top_k=None, seed=None):
    """Sample ``steps`` tokens from a token model after ``prompt``. See :func:`seqbench.generation.generate`."""
    from .generation import generate as _generate

    return _generate(model, prompt, steps, temperature=temperature, top_k=top_k, seed=seed)


def check(module, input_size=None, **options):
    """Measure causality, receptive field, padding invariance and streaming of any sequence module;
    returns a report (``.ok``, ``.summary()``, ``.to_dict()``). See :func:`seqbench.checking.check`."""
    from .checking import check as _check

    return _check(module, input_size, **options)
