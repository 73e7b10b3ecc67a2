# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv, install the pinned CPU build of torch and the package, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Pin torch first: an unpinned torch would pull several GB of CUDA packages.
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test,tables,reference,tune]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: TCN vs parameter-matched LSTM/GRU/RNN/Transformer on copy memory (T=100), small preset;
# prints the table beside the paper's numbers and the memoryless baseline, and writes
# runs/compare-copy_memory-small/. One torch thread: these small models gain little from a
# second, and two threads beside any other job on 2 cores ran 20x slower. --max-time caps each
# model's training (seconds) so a busy machine still finishes in about 8 minutes.
demo: setup
	$(PY) -m seqbench.cli compare copy_memory --preset small --threads 1 --max-time 90

test: setup
	$(PY) -m pytest -q

# Speed: interleaved ratios against the paper's design, pytorch-tcn and LSTM/GRU, and of the GRU/RNN backward (see docs/performance.md).
bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/epoch.py
	$(PY) benchmarks/streaming.py
	$(PY) benchmarks/conv_layer.py
	$(PY) benchmarks/recurrent_backward.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
