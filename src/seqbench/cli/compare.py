"""``seqbench compare TASK``: every model kind, parameter-matched, over the same seeds and budget;
a table of mean ± std beside the paper's numbers with a significance verdict per baseline,
and a report (Markdown, figures, JSON)."""

from __future__ import annotations

import click

from ..choices import model_label
from .custom_options import announce_custom, custom_options, pop_custom
from ._options import MODELS, check_task, check_models, pop_variant, runtime_options, variant_options


def _models(ctx, param, value: str):
    kinds = [m.strip() for m in value.split(",") if m.strip()]
    bad = [m for m in kinds if m not in MODELS]
    if bad or not kinds:
        raise click.BadParameter(f"expected a comma-separated list of {', '.join(MODELS)}, got {value!r}")
    return kinds


@click.command()
@click.argument("task")
@click.option("--models", default=",".join(MODELS), show_default=True, callback=_models,
              help="Comma-separated model kinds; recurrent ones are matched to the TCN's parameter count.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Seeds per model (0..N-1), the same for every model; 3 or more to measure the spread.")
@click.option("--budget", default="small", show_default=True,
              help="The task preset to train with: small (minutes on a laptop) or paper.")
@variant_options
@custom_options
@runtime_options
def compare(task, models, seeds, budget, devices, **kw):
    """Train each model on TASK over the same seeds; print mean ± std beside the paper's numbers.

    The table gives per model the mean and sample std of the test metric over seeds, a 95%
    Student-t confidence interval, and Welch's t-test of the TCN against it (p < 0.05:
    significant). summary.json holds every seed's values; seeds.png draws them.
    """
    from ..comparison import compare as run_comparison
    from ..training import build_task

    check_task(task)
    variant = pop_variant(kw)
    variant.update(pop_custom(task, kw))
    built = announce_custom(task, variant)
    try:
        probe = build_task(task, kw["data_dir"], None, built=built, **variant)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    if budget not in probe.presets:
        raise click.BadParameter(f"task {task} has no budget {budget!r}; it has {', '.join(probe.presets)}",
                                 param_hint="--budget")
    check_models(probe, models, budget)
    if kw.pop("seed") != 0:
        raise click.UsageError("compare trains seeds 0..N-1 of every model: use --seeds N (--seed is train's)")
    if kw["resume"] and kw["overwrite"]:
        raise click.UsageError("--resume and --overwrite exclude each other")
    result = run_comparison(task, models, seeds=seeds, budget=budget, variant=variant, out=kw.pop("out"),
                            task_object=probe, announce=lambda line: click.echo(line, err=True),
                            devices=devices, **kw)
    if result:
        click.echo(comparison_table(result))
        paths = result["paths"]
        click.echo(f"report: {paths['markdown']}  curves: {paths['curves']}  summary: {paths['summary']}")


def comparison_table(result: dict) -> str:
    """The printed table: per model the seeds' mean ± std, 95% CI, the paper's figure, the other
    metrics' means, the budget used, and the verdict of the test against the TCN."""
    from ..report import format_epochs
    from ..stats import summarize

    runs = result["runs"]
    r0 = runs[0]
    metric, others = r0["primary_metric"], [m for m in r0["metrics"]["test"] if m != r0["primary_metric"]]
    note = r0["paper"].get("variant")
    lines = [f"\n{r0['task']} {r0['variant']}  (test {metric} over seeds; paper{' at ' + note if note else ''})",
             f"{'model':11s} {'parameters':>10s} {'seeds':>5s} {'epochs':>6s} {'steps':>6s} {'time':>7s} "
             f"{'ours':>11s} {'± std':>9s} {'paper':>11s} " + "".join(f"{m:>11s} " for m in others)
             + f"{'95% CI':>23s}  vs TCN"]
    for entry in result["models"]:
        mine = [r for r in runs if r["model"] == entry["model"]]
        s = entry["test"] or {}
        ci = f"[{_num(s['ci'][0])}, {_num(s['ci'][1])}]" if s.get("ci") else "-"
        means = [summarize([r["metrics"]["test"].get(m) for r in mine]).mean
                 if any(r["metrics"]["test"].get(m) is not None for r in mine) else None for m in others]
        against = entry.get("against_tcn")
        verdict = "-" if against is None else _verdict(against, r0["higher_is_better"], entry["model"])
        lines.append(f"{entry['model']:11s} {mine[0]['parameters']:10,d} {len(mine):5d} "
                     f"{format_epochs(_mean(r['epochs'] for r in mine)):>6s} "
                     f"{round(_mean(r.get('steps') or 0 for r in mine)):6d} "
                     f"{_mean(r['wall_time_s'] for r in mine):6.0f}s "
                     f"{_num(s.get('mean')):>11s} {_num(s.get('std')):>9s} {_num(entry['paper']):>11s} "
                     + "".join(f"{_num(v):>11s} " for v in means) + f"{ci:>23s}  {verdict}")
    if r0.get("baseline"):  # what "learned nothing" scores, so the table reads on its own
        ref = r0["baseline"]
        lines.append(f"baseline on test ({ref['name']}): " + ", ".join(f"{m} {_num(v)}" for m, v in ref["test"].items()))
    lines.append("mean and sample std over seeds, Student-t 95% CI; vs TCN: Welch's t-test, two-sided, p < 0.05; "
                 "epochs, steps and time: per seed")
    return "\n".join(lines)


def _verdict(against: dict, higher_is_better: bool, model: str) -> str:
    from ..stats import Difference

    d = Difference(against["mean_a"], against["mean_b"], against["t"], against["df"], against["p"])
    return d.verdict(higher_is_better, "TCN", model_label(model))


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def _num(x) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
