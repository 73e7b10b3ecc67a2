"""A tuning's report: ``tuning.json`` (per model its trial counts, best value and settings, and
Optuna's hyperparameter importances), ``tuning.md`` and ``tuning.png`` (the best validation
value so far against the trial number, one line per model)."""

from __future__ import annotations

from pathlib import Path

from ..files import write_json, write_text
from ..nn import label as model_label
from .space import settings_text

TUNING_JSON, TUNING_MD, TUNING_PNG = "tuning.json", "tuning.md", "tuning.png"


def history(study) -> list[dict]:
    """The study's finished and pruned trials in number order: ``number``, ``state``, ``value``
    (a pruned trial's last reported value), ``settings``."""
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
        rows.append({"number": t.number, "state": t.state.name.lower(),
                     "value": t.value if t.state == TrialState.COMPLETE else last,
                     "settings": t.user_attrs.get("settings"), "steps": t.user_attrs.get("steps")})
    return sorted(rows, key=lambda r: r["number"])


def importances(study) -> dict[str, float] | str:
    """Optuna's hyperparameter importances (fANOVA, seeded, normalised to sum to 1) over the
    finished trials of searched settings, or why there are none (fewer than two finished trials, or nothing varied)."""
    import optuna
    from optuna.trial import TrialState

    # the preset's trial chose no values (it overrides nothing), so it says nothing of them
    finished = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.params]
    if len(finished) < 2:
        return f"not computed: {len(finished)} finished trial(s) of searched settings, at least 2 needed"
    searched = optuna.create_study(directions=study.directions)
    searched.add_trials(finished)
    try:
        return {k: round(float(v), 4) for k, v in optuna.importance.get_param_importances(
            searched, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)).items()}
    except (RuntimeError, ValueError) as e:  # e.g. every finished trial had the same settings
        return f"not computed: {e}"


def write_tuning_report(directory: Path, setup: dict, models: list[dict], storage) -> dict:
    """Write ``tuning.json``, ``tuning.md`` and ``tuning.png`` into ``directory``; return the summary."""
    import optuna

    for entry in models:
        study = optuna.load_study(study_name=entry["study"], storage=storage)
        entry["history"] = history(study)
        entry["importances"] = importances(study)
    figure = best_value_plot(models, directory / TUNING_PNG)
    summary = {"setup": setup, "models": models,
               "paths": {"summary": str(directory / TUNING_JSON), "markdown": str(directory / TUNING_MD),
                         "plot": str(figure)}}
    write_text(directory / TUNING_MD, markdown(summary))
    write_json(directory / TUNING_JSON, summary)
    return summary


def best_so_far(entry: dict) -> list[tuple[int, float]]:
    """``(trial number, best finished value up to it)`` of one model, at each finished trial."""
    points, best = [], None
    for row in entry["history"]:
        if row["state"] != "complete":
            continue
        v = row["value"]
        best = v if best is None else (max if entry["higher_is_better"] else min)(best, v)
        points.append((row["number"], best))
    return points


def best_value_plot(models: list[dict], path: Path) -> Path:
    """The best validation value so far against the trial number, one line per model."""
    from ..report.curves import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for entry in models:
        points = best_so_far(entry)
        line = ax.plot(*zip(*points), marker="o", drawstyle="steps-post", label=model_label(entry["model"]))[0] \
            if points else None
        pruned = [(r["number"], r["value"]) for r in entry["history"] if r["state"] == "pruned" and r["value"] is not None]
        if pruned:  # where each pruned trial stood when it was stopped
            ax.scatter(*zip(*pruned), marker="x", color=line.get_color() if line else None, alpha=0.6,
                       label=f"{model_label(entry['model'])} pruned (last value)")
    objective = models[0]["objective"][len("valid_"):] if models else "value"
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"best validation {objective} so far")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def markdown(summary: dict, image: str = TUNING_PNG, heading: str = "#") -> str:
    """The tuning's page (``heading`` "##": a section of a comparison's page): what was searched and
    how, and per model its trials and best settings; ``image`` the plot's path from the page."""
    s, budget = summary["setup"], summary["setup"]["budget"]
    per_trial = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in budget.items() if v is not None) or "the preset's"
    sub = heading + "#"
    lines = [f"{heading} Tuning: {s['task']} ({s['preset']} preset)", "",
             f"{s['trials']} trials per model (finished or pruned), each with {per_trial}; sampler {s['sampler']}, "
             f"pruner {s['pruner']}; chosen on the validation split (the test split is not read). "
             f"Study: `{s['storage']}`.", "", f"{sub} Search spaces", ""]
    lines += [f"- {text}" for text in s["spaces"].values()]
    lines += ["", f"{sub} Trials and best settings", "",
              "| model | trials | pruned | failed | best trial | best validation | best settings |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for m in summary["models"]:
        value = "-" if m["best_value"] is None else f"{m['best_value']:.4g}"
        lines.append(f"| {model_label(m['model'])} | {m['trials']} | {m['pruned']} | {m['failed']} | "
                     f"{'-' if m['best_trial'] is None else m['best_trial']} | {value} | "
                     f"{('-' if m['best_settings'] is None else settings_text(m['best_settings']))} |")
    lines += ["", f"{sub} Hyperparameter importances (Optuna, fANOVA, over the finished trials)", ""]
    for m in summary["models"]:
        imp = m["importances"]
        text = imp if isinstance(imp, str) else ", ".join(f"{k} {v:.2f}" for k, v in imp.items())
        lines.append(f"- {model_label(m['model'])}: {text}")
    lines += ["", f"![best validation value against trial number]({image})", ""]
    return "\n".join(lines)
