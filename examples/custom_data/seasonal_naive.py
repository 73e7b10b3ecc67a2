"""The reference a forecaster of the example sensor series must beat: "the same hour yesterday".

Scores it on the custom task's own test windows with the task's own metrics, so its numbers
sit beside those of ``seqbench compare custom ...`` (README, "Your own data").

Usage: ``python examples/custom_data/seasonal_naive.py [sensor.csv]``
"""

import sys
from pathlib import Path

from seqbench import tasks

PERIOD, INPUT_LENGTH, HORIZON = 24, 48, 24  # hours; the README's --input-length and --horizon

path = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "sensor.csv"
task = tasks.custom(path, target="load", input_length=INPUT_LENGTH, horizon=HORIZON, fill="interpolate")
test = task.dataset("test")
batch = task.collate([test[i] for i in range(len(test))])
load = batch["x"][..., task.spec["features"].index("load")]      # standardised, (windows, 48)
guesses = {"same hour yesterday": load[:, -PERIOD:][:, :HORIZON], "last value": load[:, -1:].expand(-1, HORIZON)}
for name, guess in guesses.items():
    totals = {k: (float(s), float(n)) for k, (s, n) in task.statistics(guess, batch).items()}
    print(f"{name:20s}", ", ".join(f"{k} {v:.4g}" for k, v in task.compute_metrics(totals).items()))
