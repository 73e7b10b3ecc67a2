"""Two CPU processes with Lightning's DDP (gloo): the model learns and both ranks agree."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = textwrap.dedent("""
    import sys
    import torch
    torch.set_num_threads(1)
    import seqbench
    seqbench.train("adding", "tcn", out=sys.argv[1], name="ddp", seq_len=16, train_size=128, valid_size=30,
                   test_size=30, hidden_size=8, levels=2, kernel_size=2, epochs=3, batch_size=16, progress=False,
                   devices=2, strategy="ddp", accelerator="cpu")
""")


def test_two_process_ddp_learns_and_ranks_agree(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "ddp"
    result = json.loads((run_dir / "result.json").read_text())
    assert result["world_size"] == 2
    losses = [h["train_loss"] for h in result["history"]]
    assert losses[-1] < losses[0]
    ranks = [json.loads((run_dir / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["parameter_sum"] == ranks[1]["parameter_sum"]
    assert ranks[0]["metrics"] == ranks[1]["metrics"] == result["metrics"]
