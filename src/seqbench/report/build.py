"""Build the report from the ``result.json`` files under a runs directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

MODEL_ORDER = {"tcn": 0, "lstm": 1, "gru": 2, "rnn": 3}
REPORT_MD, CURVES_PNG, SUMMARY_JSON = "report.md", "curves.png", "summary.json"


def find_results(runs_dir: str | Path) -> list[dict]:
    """Every run's result record under ``runs_dir`` (searched recursively), in a stable order."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no runs directory at {root}")
    results = []
    for path in sorted(root.rglob("result.json")):
        try:
            results.append(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e
    if not results:
        raise FileNotFoundError(f"no result.json under {root}; train something first (seqbench train/compare)")
    return sorted(results, key=lambda r: (r["task"], _variant_label(r), MODEL_ORDER.get(r["model"], 9), r["seed"]))


def _variant_label(r: dict) -> str:
    v = r.get("variant", {})
    return f"T={v['seq_len']}" if "seq_len" in v else ""


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}" if (abs(x) >= 1e-3 or x == 0) else f"{x:.2e}"
    return str(x)


def _test_value(r: dict):
    return r["metrics"].get("test", {}).get(r["primary_metric"])


def markdown_table(results: list[dict]) -> str:
    """One row per run: our test metric beside the paper's number for the same model."""
    head = ("| task | model | parameters | receptive field | metric | ours (test) | paper | "
            "best epoch / epochs | train time |")
    lines = [head, "|---|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in results:
        task = r["task"] + (f" ({_variant_label(r)})" if _variant_label(r) else "")
        paper = r.get("paper", {}) or {}
        paper_txt = _fmt(paper.get("value"))
        if paper.get("value") is not None and paper.get("variant"):
            paper_txt += f" ({paper['variant']})"
        rf = r.get("receptive_field")
        lines.append(
            f"| {task} | {r['model'].upper()} | {r['parameters']:,} | {'unbounded' if rf is None else f'{rf:,}'} | "
            f"{r['primary_metric']} {'(higher better)' if r.get('higher_is_better') else ''}".rstrip()
            + f" | {_fmt(_test_value(r))} | {paper_txt} | {_fmt(r.get('best_epoch'))} / {r['epochs']} | "
            f"{r['wall_time_s']:.0f} s |")
    return "\n".join(lines) + "\n"


def learning_curves(results: list[dict], path: str | Path) -> Path:
    """One panel per task variant: validation primary metric (solid) and training loss
    (dashed) per epoch, one colour per model. Saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(f"{r['task']} {_variant_label(r)}".strip(), []).append(r)
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.2), squeeze=False)
    for ax, (title, runs) in zip(axes[0], groups.items()):
        metric = runs[0]["primary_metric"]
        positive = True
        for i, r in enumerate(runs):
            hist = r.get("history", [])
            epochs = [h["epoch"] for h in hist]
            color = f"C{MODEL_ORDER.get(r['model'], i)}"
            valid = [h.get(f"valid_{metric}") for h in hist]
            train = [h.get("train_loss") for h in hist]
            ax.plot(epochs, valid, "-o", color=color, label=f"{r['model'].upper()} valid {metric}", markersize=3)
            ax.plot(epochs, train, "--", color=color, alpha=0.6, label=f"{r['model'].upper()} train loss")
            positive = positive and all(v is not None and v > 0 for v in valid + train)
        if positive and not runs[0].get("higher_is_better"):
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def summary(results: list[dict]) -> dict:
    """The report as data: per run the headline numbers (no per-epoch history)."""
    keep = ("task", "variant", "model", "preset", "parameters", "receptive_field", "primary_metric",
            "higher_is_better", "metrics", "paper", "best_epoch", "epochs", "wall_time_s", "seed", "run_dir")
    return {"runs": [{k: r.get(k) for k in keep} for r in results]}


def write_report(runs_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``curves.png`` and ``summary.json`` for the runs under ``runs_dir``."""
    results = find_results(runs_dir)
    out = Path(out_dir) if out_dir is not None else Path(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    curves = learning_curves(results, out / CURVES_PNG)
    md = ("# seqbench report\n\n" f"Runs under `{runs_dir}`. Test metric of the best-validation checkpoint; "
          "the paper's number is for the variant in brackets when it differs.\n\n"
          + markdown_table(results) + f"\n![learning curves]({CURVES_PNG})\n")
    paths = {"markdown": out / REPORT_MD, "curves": curves, "summary": out / SUMMARY_JSON}
    for key, text in (("markdown", md), ("summary", json.dumps(summary(results), indent=2) + "\n")):
        tmp = paths[key].with_name(f".{paths[key].name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, paths[key])
    return paths
