"""Write README's forecasting example: ``sites.csv``, SYNTHESISED hourly load of three sites
(seeded numpy; the generator is the tests' ``hourly_sites``), whose target is driven by the
calendar (a working-day profile, weekends lower) and by a planned ``price``.

Usage: ``python examples/forecasting/make_sites.py [OUT.csv] [WEEKS]`` (default
``sites.csv`` here, 8 weeks).
"""

from __future__ import annotations

import sys
from pathlib import Path

# one generator for the tests and the example: tests/custom_datasets.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from custom_datasets import hourly_sites  # noqa: E402


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else Path(__file__).with_name("sites.csv")
    weeks = int(argv[1]) if len(argv) > 1 else 8
    frame = hourly_sites(weeks=weeks)
    frame.to_csv(out, index=False)
    print(f"wrote {len(frame)} rows ({frame.site.nunique()} sites, {weeks} weeks hourly) to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
