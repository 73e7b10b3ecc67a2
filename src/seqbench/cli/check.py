"""``seqbench check MODULE_SPEC``: causality, receptive field, padding and streaming of a model, measured."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

import click

from ._options import _parse_value

#: the options that build one of seqbench's kinds, and their flags
KIND_FLAGS = {"hidden_size": "--hidden", "levels": "--levels", "kernel_size": "--kernel-size",
              "dilations": "--dilations", "num_layers": "--layers"}
DEFAULT_SHAPE = {"hidden_size": 16, "levels": 4}  # levels: for a kind with levels (the TCN)


@click.command()
@click.argument("module_spec", metavar="MODULE_SPEC")
@click.option("--input-size", type=click.IntRange(min=1), default=None,
              help="Features per input step (default: the module's input_size attribute; 1 for a seqbench kind).")
@click.option("--layout", type=click.Choice(["batch_first", "channels_first"]), default="batch_first",
              show_default=True, help="channels_first: the module takes and returns (batch, features, time).")
@click.option("--causal", is_flag=True, help="Require causality: exit 1 if any output reads a later input.")
@click.option("--expect-rf", type=click.IntRange(min=1), default=None, metavar="N",
              help="Require a receptive field of N steps (the output's own included) with no holes: exit 1 otherwise.")
@click.option("--mask-arg", default="auto", show_default=True, metavar="NAME",
              help="forward's keyword for a (batch, time) bool mask, true at valid steps; 'none': no padding check.")
@click.option("--lengths-arg", default="auto", show_default=True, metavar="NAME",
              help="forward's keyword for (batch,) lengths of a right-padded batch; 'none': do not look for one.")
@click.option("--step-method", default="auto", show_default=True, metavar="NAME",
              help="Method streaming one step, y, state = step(x_t, state) (state from init_state(batch) if the "
                   "module has it); auto: step when it has step and init_state; 'none': no streaming check.")
@click.option("--max-length", type=click.IntRange(min=16), default=2048, show_default=True,
              help="Longest input the receptive field is measured on (raised to hold --expect-rf).")
@click.option("--inputs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Random inputs per gradient pass; more passes run until two in a row add no step.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seeds the random inputs.")
@click.option("--tolerance", type=click.FloatRange(min=0), default=1e-9, show_default=True,
              help="Differences up to this times max(1, largest |output|) count as rounding.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch threads. The check's tensors are small: one thread is fastest, and two on a busy "
                   "2-core machine ran 10x slower; raise it for a wide model.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Also write the full report as JSON to PATH.")
@click.option("--hidden", "hidden_size", type=click.IntRange(min=1), default=None,
              help="seqbench kind: hidden channels (TCN) or units/width (default 16).")
@click.option("--levels", type=click.IntRange(min=1), default=None, help="tcn: levels (default 4).")
@click.option("--kernel-size", type=click.IntRange(min=1), default=None, help="tcn: kernel size (default 2).")
@click.option("--dilations", default=None, metavar="D1,D2,...", help="tcn: one dilation per level (default 1,2,4,...).")
@click.option("--layers", "num_layers", type=click.IntRange(min=1), default=None,
              help="lstm/gru/rnn/transformer: layers.")
@click.option("--output-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="seqbench kind: outputs per step.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="Another keyword for make_model (e.g. causal=false, norm=batch) or for the factory (repeatable).")
def check(module_spec, input_size, layout, causal, expect_rf, mask_arg, lengths_arg, step_method, max_length, inputs,
          seed, tolerance, threads, json_path, option_pairs, **kind_options):
    """Measure causality, receptive field, padding invariance and streaming equivalence of a sequence model.

    MODULE_SPEC is one of seqbench's kinds (tcn, lstm, gru, rnn, transformer, built from the options
    below) or package.module:factory, a callable returning a torch.nn.Module. A factory spec imports
    that module (from the current directory or the installed packages) and calls the factory: it runs
    that code, so check only code you trust. Exit status: 0 when every asked property holds, 1 when
    one fails (--causal, --expect-rf, and a mask or step method that the module offers), 2 for a
    malformed option.
    """
    import torch

    from ..checking import check as run_check
    from ..nn import kinds
    from ..checking.probe import KeywordError
    from ..files import write_json

    options = _parse_options(option_pairs)
    if json_path is not None and not Path(json_path).resolve().parent.is_dir():
        raise click.BadParameter(f"the folder of {json_path} does not exist", param_hint="--json")
    keywords = {"mask_arg": mask_arg, "lengths_arg": lengths_arg, "step_method": step_method}
    keywords = {k: None if v.lower() == "none" else v for k, v in keywords.items()}
    if module_spec in kinds():
        module, name = _seqbench_model(module_spec, input_size or 1, options, kind_options), f"seqbench {module_spec}"
        input_size = input_size or 1
    else:
        given = [flag for key, flag in KIND_FLAGS.items() if kind_options[key] is not None]
        if given:
            raise click.BadParameter(f"{', '.join(given)} build one of seqbench's kinds; pass a factory's settings "
                                     "with --option KEY=VALUE", param_hint="MODULE_SPEC")
        module, name = _from_factory(module_spec, options), module_spec
    torch.set_num_threads(threads)
    try:
        report = run_check(module, input_size, layout=layout, causal=causal, expect_rf=expect_rf,
                           max_length=max_length, inputs=inputs, seed=seed, tolerance=tolerance, name=name, **keywords)
    except KeywordError as e:  # a keyword the module does not have: a malformed option
        raise click.UsageError(str(e)) from e
    click.echo(report.summary())
    if json_path is not None:
        write_json(json_path, {"spec": module_spec, **report.to_dict()})
    if not report.ok:
        sys.exit(1)


def _parse_options(pairs) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        options[key.strip()] = _parse_value(value.strip())
    return options


def _seqbench_model(kind: str, input_size: int, options: dict, kind_options: dict):
    """One of seqbench's models, per-step head, built from the command's options."""
    from ..nn import kinds, make_model

    settings = {k: v for k, v in kind_options.items() if v is not None}
    takes = _build_options(kind)
    misplaced = [k for k in settings if k in KIND_FLAGS and k != "hidden_size" and k not in takes]
    if misplaced:
        owners = [name for name in kinds() if set(misplaced) <= _build_options(name)]
        raise click.BadParameter(f"{', '.join(KIND_FLAGS[k] for k in misplaced)} apply to "
                                 f"{' or '.join('a ' + o for o in owners) or 'other kinds'}, not to {kind}",
                                 param_hint="MODULE_SPEC")
    if "dilations" in settings:
        settings["dilations"] = _dilations(settings["dilations"])
    settings = {**{k: v for k, v in DEFAULT_SHAPE.items() if k == "hidden_size" or k in takes}, **settings}
    try:
        return make_model(kind, input_size=input_size, **settings, **options)
    except (ValueError, TypeError) as e:  # a setting the model refuses, or an unknown --option
        raise click.UsageError(f"cannot build {kind}: {e}") from e


def _build_options(kind: str) -> set[str]:
    """The options a kind's ``build`` names (the shape options of make_model it takes)."""
    from ..nn import get_kind

    return set(inspect.signature(get_kind(kind).build).parameters)


def _dilations(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected integers separated by commas, got {text!r}", param_hint="--dilations")
    return values


def _from_factory(spec: str, options: dict):
    """Import ``package.module`` and call its ``factory(**options)``: runs the user's code, as asked."""
    from torch import nn

    from ..nn import kinds

    module_name, sep, attr = spec.partition(":")
    if not sep or not all(p.isidentifier() for p in module_name.split(".")) or not all(
            p.isidentifier() for p in attr.split(".")):
        raise click.BadParameter(f"expected one of {', '.join(kinds())} or package.module:factory, got {spec!r}",
                                 param_hint="MODULE_SPEC")
    here = os.getcwd()
    added = here not in sys.path
    if added:  # as `python -m` would: a module beside the user is found
        sys.path.insert(0, here)
    try:
        try:
            factory = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
                raise click.BadParameter(f"no module named {e.name!r} (run from the folder holding it, or install it)",
                                         param_hint="MODULE_SPEC") from e
            raise
        for part in attr.split("."):
            if not hasattr(factory, part):
                raise click.BadParameter(f"{module_name} has no attribute {attr!r}", param_hint="MODULE_SPEC")
            factory = getattr(factory, part)
        if not callable(factory):
            raise click.BadParameter(f"{spec} is not callable", param_hint="MODULE_SPEC")
        module = factory(**options)
    finally:
        if added:
            sys.path.remove(here)
    if not isinstance(module, nn.Module):
        raise ValueError(f"{spec}() returned {type(module).__name__}, not a torch.nn.Module")
    return module
