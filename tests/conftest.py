import os

import pytest
import torch

# Tests are small: two threads per process keep the suite fast on the 2-core CI machine
torch.set_num_threads(min(2, os.cpu_count() or 1))

from hypothesis import settings  # noqa: E402

# derandomize: CI draws the same examples on every clean clone, so a pass or a failure repeats.
# `pytest --hypothesis-profile=explore` draws fresh, and more, examples to look for new failures.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("explore", max_examples=200, deadline=None)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def cli(capsys):
    """``cli(args) -> (exit status, stdout, stderr)``: ``seqbench ARGS`` run in this process."""
    from seqbench.cli import main

    def run(args):
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
