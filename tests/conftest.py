import os

import pytest
import torch

# Tests are small: two threads per process keep the suite fast on the 2-core CI machine
torch.set_num_threads(min(2, os.cpu_count() or 1))

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=25, deadline=None)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
