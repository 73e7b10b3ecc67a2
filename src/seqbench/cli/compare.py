"""``seqbench compare TASK``: every model kind, parameter-matched, at one budget; a table
beside the paper's numbers, and a report (Markdown + learning curves + JSON)."""

from __future__ import annotations

from pathlib import Path

import click

from .custom_options import announce_custom, custom_options, pop_custom
from ._options import MODELS, check_task, parse_devices, pop_variant, runtime_options, variant_options


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
@click.option("--budget", default="small", show_default=True,
              help="The task preset to train with: small (minutes on a laptop) or paper.")
@variant_options
@custom_options
@runtime_options
def compare(task, models, budget, devices, **kw):
    """Train each model on TASK and print ours beside the paper's numbers."""
    from ..report import write_report
    from ..report.build import _epochs
    from ..training import RunConfig, build_task, run
    from ..training.config import variant_parts
    from ..training.runner import is_launched_child

    check_task(task)
    variant = pop_variant(kw)
    variant.update(pop_custom(task, kw))
    announce_custom(task, variant)
    try:
        probe = build_task(task, kw["data_dir"], None, **variant)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    if budget not in probe.presets:
        raise click.BadParameter(f"task {task} has no budget {budget!r}; it has {', '.join(probe.presets)}",
                                 param_hint="--budget")
    group = Path(kw.pop("out")) / "-".join([f"compare-{task}"] + variant_parts(variant)
                                            + [budget])
    if not kw["resume"]:
        kw["overwrite"] = True  # a compare re-run replaces its own earlier runs
    results = []
    for kind in models:
        click.echo(f"== {task} / {kind} ({budget} budget)", err=True)
        cfg = RunConfig(task=task, model=kind, preset=budget, variant=variant, out=str(group), name=kind,
                        devices=parse_devices(devices), **kw)
        results.append(run(cfg))
    if is_launched_child():  # DDP's extra processes train; the first one reports
        return
    r0 = results[0]
    metric = r0["primary_metric"]
    others = [m for m in r0["metrics"]["test"] if m != metric]  # e.g. copy memory's recall accuracy
    note = r0["paper"]["variant"]
    click.echo(f"\n{r0['task']} {r0['variant']}  (test {metric}; paper{' at ' + note if note else ''})")
    click.echo(f"{'model':6s} {'parameters':>10s} {'ours':>11s} {'paper':>11s} "
               + "".join(f"{m:>11s} " for m in others) + f"{'epochs':>6s} {'steps':>6s} {'time':>7s}")
    for r in results:
        test = r["metrics"]["test"]
        click.echo(f"{r['model']:6s} {r['parameters']:10,d} {_num(test.get(metric)):>11s} {_num(r['paper']['value']):>11s} "
                   + "".join(f"{_num(test.get(m)):>11s} " for m in others)
                   + f"{_epochs(r['epochs']):>6s} {r.get('steps', 0):6d} {r['wall_time_s']:6.0f}s")
    if r0.get("baseline"):  # what "learned nothing" scores, so the table reads on its own
        ref = r0["baseline"]
        click.echo(f"baseline on test ({ref['name']}): "
                   + ", ".join(f"{m} {_num(v)}" for m, v in ref["test"].items()))
    paths = write_report(group)
    click.echo(f"report: {paths['markdown']}  curves: {paths['curves']}  summary: {paths['summary']}")


def _num(x) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
