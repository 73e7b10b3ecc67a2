"""``seqbench compare TASK``: every model kind, parameter-matched, over the same folds, seeds and
budget, beside the reference predictors written into the comparison; a table of mean ± std
with an interval and a test against the TCN per row, and a report (Markdown, figures, JSON)."""

from __future__ import annotations

import json

import click

from ..choices import REFERENCE_KIND
from ..nn import kinds
from ..stats import MIN_TEST_ITEMS
from .custom_options import announce_custom, custom_options, pop_custom
from ._options import (ModelKinds, check_models, check_task, checked_preset, pop_variant, setting_option,
                       setting_options, variant_options)


def resampling_variants(task: str, variant: dict) -> list[dict]:
    """The variants a comparison trains every model on: for your own data the resampling plan of
    its variant (folds, resamples, backtests: ``seqbench.tasks.custom.resampling_plan``), one
    variant per fold; else the variant itself."""
    if task != "custom":
        return [variant]
    from ..tasks.custom import resampling_plan

    return resampling_plan(variant)


def prepared(task: str, models, preset: str | None, kw: dict) -> tuple[list[str], dict, object, str]:
    """What ``compare`` and ``tune`` check before any run: the model kinds (default: every
    registered one), the task's variant (popped from the options ``kw``), the task built once
    (your own file read and described now, so a bad file stops here), and its preset; every
    model is built on the meta device so a setting it refuses is a usage error."""
    from ..training import build_task

    models = models or list(kinds())
    check_task(task)
    variant = pop_variant(kw)
    variant.update(pop_custom(task, kw))
    built = announce_custom(task, variant)
    try:
        probe = build_task(task, kw["data_dir"], None, built=built, **variant)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    preset = checked_preset(probe, preset, compare=True)
    check_models(probe, models, preset)
    return models, variant, probe, preset


@click.command()
@click.argument("task")
@click.option("--models", type=ModelKinds(), default=None,
              help="Comma-separated model kinds [default: every registered one, tcn,lstm,gru,rnn,transformer built in]; "
                   "each is matched to the TCN's parameter count.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Seeds per model (0..N-1), the same for every model; 3 or more to measure the spread.")
@setting_option("preset", help="The task's preset every model trains with (default: the task's quick one: small for "
                                "a benchmark that has it, else paper; default for your own data); `seqbench models "
                                "TASK` lists them.")
@click.option("--budget", "old_budget", default=None, hidden=True,
              help="Deprecated name of --preset.")
@click.option("--season", type=click.IntRange(min=2), default=None,
              help="custom forecasts: the seasonal period in steps of the seasonal-naive reference [default: from a "
                   "regular time index, else the train period's autocorrelation].")
@click.option("--tuned", "tuned_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Train each model's best settings of this tuning (OUT/tune-TASK-..., from `seqbench tune`) "
                   "over the seeds and folds, beside the untuned comparison (run too, finished runs kept).")
@click.option("--tune", "tune_trials", type=click.IntRange(min=1), default=None, metavar="N",
              help="Tune every model first (`seqbench tune --trials N`, each trial of this command's budget), "
                   "then compare as --tuned.")
@setting_options("budget")
@variant_options
@custom_options
@setting_options("runtime", without=("name",))  # every run is named by the comparison
def compare(task, models, seeds, preset, old_budget, devices, season, tuned_dir, tune_trials, **kw):
    """Train each model on TASK over the same folds and seeds; print mean ± std, an interval and a
    test against the TCN per model and reference.

    The table gives per model the mean and sample std of the test metric over folds and seeds, a
    95% interval that stays in the metric's range (from the test items: Wilson for an accuracy,
    a bootstrap otherwise),
    and the TCN against it, paired over test items (McNemar or a paired bootstrap; Welch over
    seeds for results without items; no test below 30 test items). summary.json holds every
    fold's and seed's values; seeds.png draws them.
    """
    from ..comparison import compare as run_comparison

    models, variant, probe, preset = prepared(task, models, _preset_or_old_name(preset, old_budget), kw)
    if season is not None and (task != "custom" or probe.spec.kind != "forecast"):
        raise click.UsageError("--season applies to forecasts of your own data (compare custom ... --task forecast)")
    if kw.pop("seed") != 0:
        raise click.UsageError("compare trains seeds 0..N-1 of every model: use --seeds N (--seed is train's)")
    if kw["resume"] and kw["overwrite"]:
        raise click.UsageError("--resume and --overwrite exclude each other")
    if tuned_dir is not None and tune_trials is not None:
        raise click.UsageError("--tuned DIR uses a tuning, --tune N makes one: give one of them")
    if tuned_dir is not None or tune_trials is not None:
        return _tuned_comparison(task, models, seeds, preset, variant, probe, season, devices, tuned_dir,
                                 tune_trials, kw)
    result = run_comparison(task, models, seeds=seeds, preset=preset, variant=variant,
                            variants=resampling_variants(task, variant), out=kw.pop("out"), task_object=probe,
                            season=season, announce=lambda line: click.echo(line, err=True), devices=devices, **kw)
    if result:
        click.echo(comparison_table(result))
        paths = result["paths"]
        click.echo(f"report: {paths['markdown']}  curves: {paths['curves']}  summary: {paths['summary']}")


def _tuned_comparison(task, models, seeds, preset, variant, probe, season, devices, tuned_dir, tune_trials, kw):
    """``compare --tuned DIR`` / ``--tune N``: the untuned comparison, then each model's tuned
    settings over the same seeds and folds in ``compare-...-tuned``, whose report adds the tuning
    (best settings, best value against trial number, importances); both tables printed."""
    import os

    from ..comparison import compare as run_comparison
    from ..comparison import group_dir
    from ..files import write_text
    from ..tuning import load_tuning, tune, tuned_models
    from ..tuning.report import TUNING_PNG, markdown
    from ..tuning.study import TRIAL_OPTIONS

    say = lambda line: click.echo(line, err=True)  # noqa: E731
    out = kw.pop("out")
    if tune_trials is not None:
        trial_options = {k: kw[k] for k in TRIAL_OPTIONS if kw.get(k) is not None}
        tuning = tune(task, models, trials=tune_trials, preset=preset, variant=variant, out=out,
                      task_object=probe, announce=say, **trial_options)
        tuned_dir = os.path.dirname(tuning["paths"]["summary"])
    else:
        tuning = load_tuning(tuned_dir)
    tuned = tuned_models(tuning, models, task, variant, preset)
    common = dict(seeds=seeds, preset=preset, variant=variant, variants=resampling_variants(task, variant), out=out,
                  task_object=probe, season=season, announce=say, devices=devices)
    resume, overwrite = kw.pop("resume"), kw.pop("overwrite")
    say("== untuned comparison (its finished runs are kept)")
    untuned = run_comparison(task, models, resume=resume or not overwrite, overwrite=overwrite, **common, **kw)
    group = group_dir(out, task, variant, preset)
    tuned_group = group_dir(out, task, variant, preset, tuned=True)
    tuned_group.mkdir(parents=True, exist_ok=True)
    image = os.path.relpath(os.path.join(tuned_dir, TUNING_PNG), tuned_group)
    notes = write_text(tuned_group / "tuning.md", "\n" + markdown(tuning, image=image, heading="##")
                       + _untuned_text(untuned, group))
    say("== tuned comparison: each model's best settings")
    result = run_comparison(task, models, resume=resume, overwrite=overwrite, tuned=tuned, notes=notes,
                            **common, **kw)
    if result:
        click.echo(comparison_table(result))
        click.echo(beside_untuned(untuned, result))
        click.echo(f"report: {result['paths']['markdown']}  untuned: {untuned['paths']['markdown']}  "
                   f"tuning: {tuned_dir}")


def _untuned_text(untuned: dict, group) -> str:
    """The untuned comparison's means, for the tuned report's page."""
    rows = [f"{e['label']} {_num((e['test'] or {}).get('mean'))} ± {_num((e['test'] or {}).get('std'))}"
            for e in untuned.get("models", []) if not e.get("reference")]
    return f"\nUntuned, the same seeds and folds (`{group.name}`): " + "; ".join(rows) + ".\n"


def beside_untuned(untuned: dict, tuned: dict) -> str:
    """Per model: the untuned and the tuned test mean ± std, and the trials and pruned trials of its tuning."""
    before = {e["model"]: e for e in untuned.get("models", []) if not e.get("reference")}
    r0 = tuned["runs"][0]
    lines = [f"\ntuned beside untuned (test {r0['primary_metric']}, "
             f"{'higher' if r0['higher_is_better'] else 'lower'} is better)",
             f"{'model':11s} {'untuned':>19s} {'tuned':>19s} {'trials':>6s} {'pruned':>6s}"]
    for e in tuned["models"]:
        if e.get("reference") or not e.get("tuning"):
            continue
        lines.append(f"{e['model']:11s} {_mean_std(before.get(e['model'])):>19s} {_mean_std(e):>19s} "
                     f"{e['tuning']['trials']:6d} {e['tuning']['pruned']:6d}")
    return "\n".join(lines)


def _mean_std(entry: dict | None) -> str:
    s = (entry or {}).get("test") or {}
    return f"{_num(s.get('mean'))} ± {_num(s.get('std'))}" if s else "-"


def _preset_or_old_name(preset: str | None, old_budget: str | None) -> str | None:
    """``--preset``, or the deprecated ``--budget`` that named it (with a warning: scripts use it)."""
    if old_budget is None:
        return preset
    click.echo("warning: compare's --budget is deprecated: it names a preset, say --preset "
               f"{old_budget} (a time budget is --max-time)", err=True)
    if preset is not None and preset != old_budget:
        raise click.UsageError(f"--budget {old_budget} and --preset {preset} disagree: give --preset only")
    return old_budget


def comparison_table(result: dict) -> str:
    """The printed table: per model and reference the mean ± std over folds and seeds, its
    interval, the paper's figure (benchmarks), the other metrics' means, the budget used, and the
    test against the TCN; then the methods used."""
    runs, entries = result["runs"], result["models"]
    r0 = next((r for r in runs if r["model"] == REFERENCE_KIND), runs[0])
    metric, better = r0["primary_metric"], "higher" if r0["higher_is_better"] else "lower"
    # per-series errors (mae@north) are listed under the table, not as columns
    others = list(dict.fromkeys(m for e in entries for m in e.get("other_metrics", {}) if "@" not in m))
    paper = any(e.get("paper") is not None for e in entries)
    note = r0["paper"].get("variant") if paper else None
    folds = max((len(e.get("folds") or [None]) for e in entries), default=1)
    seeds = max((len(e["seeds"]) for e in entries if not e.get("reference")), default=1)
    over = " x ".join(([f"{folds} folds"] if folds > 1 else []) + [f"{seeds} seed{'s' if seeds > 1 else ''}"])
    common = {k: v for k, v in r0["variant"].items() if all(r["variant"].get(k) == v for r in runs)}
    tuned = any(e.get("tuning") for e in entries)
    width = max([11] + [len(_row_name(e)) for e in entries])
    lines = [f"\n{r0['task']} {_variant_text(common)}  (test {metric}, {better} is better; mean over {over}"
             + (f"; paper{' at ' + note if note else ''}" if paper else "") + ")",
             f"{'model':{width}s} {'parameters':>10s} {'runs':>4s} "
             + (f"{'trials':>6s} {'pruned':>6s} " if tuned else "") + f"{'epochs':>6s} {'steps':>6s} {'time':>7s} "
             f"{'ours':>9s} {'± std':>9s} " + (f"{'paper':>9s} " if paper else "")
             + "".join(f"{m:>{max(9, len(m))}s} " for m in others) + f"{'95% interval':>21s}  vs TCN"]
    lines += [_row(e, width, paper, others, r0["higher_is_better"], tuned) for e in entries]
    return "\n".join(lines + _per_series(entries, width) + _footer(runs, entries, folds))


def _per_series(entries: list[dict], width: int) -> list[str]:
    """The per-series errors of a forecast of several series (``mae@north``), one row per
    model and reference, one column per series and metric; nothing when there are none."""
    names = list(dict.fromkeys(m for e in entries for m in e.get("other_metrics", {}) if "@" in m))
    if not names:
        return []
    widths = [max(9, len(n)) for n in names]
    lines = ["per series (test, mean over runs):",
             f"{'model':{width}s} " + " ".join(f"{n:>{w}s}" for n, w in zip(names, widths))]
    for e in entries:
        values = e.get("other_metrics", {})
        lines.append(f"{_row_name(e):{width}s} " + " ".join(f"{_num(values.get(n)):>{w}s}" for n, w in zip(names, widths)))
    return lines


def _row(e: dict, width: int, paper: bool, others: list[str], higher_is_better: bool, tuned: bool = False) -> str:
    """One model's (or reference's) line of the table; ``tuned``: with its tuning's trials and pruned trials."""
    from ..report import format_epochs

    s, trained, against = e["test"] or {}, not e.get("reference"), e.get("against_tcn")
    ci = f"[{_num(s['ci'][0])}, {_num(s['ci'][1])}]" if s.get("ci") else "-"
    verdict = "-" if against is None else _verdict(against, higher_is_better, e["label"])
    t = e.get("tuning") or {}
    trials = f"{t.get('trials', '-'):>6} {t.get('pruned', '-'):>6} " if tuned else ""
    return (f"{_row_name(e):{width}s} {e['parameters']:10,d} {e['runs']:4d} {trials}"
            f"{format_epochs(e['epochs']) if trained else '-':>6s} {_steps(e) if trained else '-':>6s} "
            f"{e['wall_time_s']:6.0f}s {_num(s.get('mean')):>9s} {_num(s.get('std')):>9s} "
            + (f"{_num(e.get('paper')):>9s} " if paper else "")
            + "".join(f"{_num(e.get('other_metrics', {}).get(m)):>{max(9, len(m))}s} " for m in others)
            + f"{ci:>21s}  {verdict}")


def _footer(runs: list[dict], entries: list[dict], folds: int) -> list[str]:
    """What the table's numbers are: the model-free baseline, the checkpoint rule, and the
    interval and test each row got (the rows named where they differ)."""
    from ..report import selection_text

    lines = []
    baselines = {json.dumps(r["variant"], sort_keys=True, default=str): r["baseline"] for r in runs if r.get("baseline")}
    if baselines:  # what "learned nothing" scores, so the table reads on its own
        ref = next(iter(baselines.values()))
        mean = {m: sum(b["test"][m] for b in baselines.values()) / len(baselines) for m in ref["test"]}
        lines.append(f"baseline on test ({ref['name']}{', mean over folds' if len(baselines) > 1 else ''}): "
                     + ", ".join(f"{m} {_num(v)}" for m, v in mean.items() if "@" not in m))
    rules = sorted({selection_text({**(r.get("selection") or {}), "epoch": None}) for r in runs
                    if r.get("selection") and r.get("preset") != "reference"})
    lines.append("ours: mean and sample std over " + ("folds and seeds" if folds > 1 else "seeds")
                 + "; epochs, steps and time: mean per run" + (f"; checkpoint: {', '.join(rules)}" if rules else ""))
    intervals, tests = {}, {}
    for e in entries:
        s, against = e["test"] or {}, e.get("against_tcn")
        if s.get("ci") or s.get("ci_method", "").startswith("too few"):
            intervals.setdefault(s["ci_method"], []).append(e["label"])
        if against is not None and against.get("p") is not None:
            tests.setdefault(against["method"], []).append(e["label"])
    lines += [f"interval: {method}" + (f" ({', '.join(who)})" if len(intervals) > 1 else "")
              for method, who in intervals.items()]
    lines += [f"vs TCN: {method}, p < 0.05" + (f" ({', '.join(who)})" if len(tests) > 1 else "")
              for method, who in tests.items()]
    levels = sorted({m[len("coverage"):] for e in entries for m in e.get("other_metrics", {})
                     if m.startswith("coverage")}, key=float)
    if levels:  # what an interval's columns mean, so they read without the README
        lines.append(f"coverageL, widthL: share of the test values inside the central L% interval and its mean width "
                     f"in the target's units (L = {', '.join(levels)}); the references' intervals come from their "
                     "residuals on the validation windows")
    if any("mase" in e.get("other_metrics", {}) for e in entries):
        lines.append("mase: the MAE over each series' in-sample seasonal-naive MAE on its train part (the seasonal "
                     "period: the 'scaling per series' line above); rmse, mae: in the target's units")
    return lines + [f"no test below {MIN_TEST_ITEMS} test items (all folds together)"]


def _row_name(entry: dict) -> str:
    """A model by its kind, as --models names it (``lstm tuned`` for tuned settings); a reference by its label."""
    if entry.get("reference"):
        return entry["label"]
    return entry["model"] + (" tuned" if entry.get("tuning") else "")


def _steps(entry: dict) -> str:
    return f"{round(entry['steps']):d}"


def _variant_text(variant: dict) -> str:
    """The variant without the fold (the table spans every fold), as ``key=value`` words."""
    return " ".join(f"{k}={v}" for k, v in variant.items() if k not in ("fold", "label"))


def _verdict(against: dict, higher_is_better: bool, label: str) -> str:
    from ..stats import Difference

    return Difference.from_dict(against).verdict(higher_is_better, "TCN", label)


def _num(x) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
