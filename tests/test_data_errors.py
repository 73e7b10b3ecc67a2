"""Benchmark data errors are caught when the data is read, name the file, and fit one short line."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqbench.data import CorruptFileError
from seqbench.data.parsers import read_idx
from seqbench.files import excerpt, one_line
from seqbench.tasks.mnist import load_mnist

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">f4"): 0x0D}


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) \
        + array.tobytes()


def _mnist(tmp_path, labels: np.ndarray, images=None):
    paths = {}
    for name, array in (("train-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8) if images is None else images),
                        ("train-labels-idx1-ubyte.gz", labels),
                        ("t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8)),
                        ("t10k-labels-idx1-ubyte.gz", np.array([1, 2], np.uint8))):
        paths[name] = tmp_path / name
        paths[name].write_bytes(gzip.compress(_idx(array)))
    return paths


@pytest.mark.parametrize("labels, needle", [(np.array([3, -1, 2], np.int8), "found -1 (label 1"),
                                            (np.array([3, 10, 2], np.uint8), "found 10"),
                                            (np.array([3, 1.5, 2], ">f4"), "integers")])
def test_mnist_labels_outside_0_to_9_are_refused_naming_the_file(tmp_path, labels, needle):
    paths = _mnist(tmp_path, labels)
    with pytest.raises(CorruptFileError, match="train-labels-idx1-ubyte.gz: labels must be") as e:
        load_mnist(paths)
    assert needle in str(e.value)


def test_mnist_pixels_must_be_bytes(tmp_path):
    paths = _mnist(tmp_path, np.array([1, 2, 3], np.uint8), images=np.full((3, 28, 28), -5, np.int8))
    with pytest.raises(CorruptFileError, match="train-images-idx3-ubyte.gz: pixels must be unsigned bytes"):
        load_mnist(paths)


def test_a_gzip_with_corrupt_deflate_data_names_the_file(tmp_path):
    data = gzip.compress(bytes(range(256)) * 100)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(data[:12] + bytes(255 - b for b in data[12:40]) + data[40:])  # zlib.error, not OSError
    with pytest.raises(CorruptFileError, match="train-labels-idx1-ubyte.gz: broken gzip stream"):
        read_idx(path)


@given(st.text(max_size=2000), st.integers(20, 400))
def test_one_line_is_one_short_line(text, limit):
    out = one_line(text, limit)
    assert "\n" not in out and "\r" not in out and len(out) <= limit + 30


def test_excerpt_of_a_10_mb_cell():
    out = excerpt("x" * 10_000_000)
    assert out.startswith("'xxx") and out.endswith("(10,000,002 characters)") and len(out) < 100


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_checkpoint_with_non_finite_weights_is_refused_by_predict(tmp_path, cli, bad):
    """A diverged model predicted NaN probabilities and exited 0; now it is a one-line error, exit 1."""
    import pandas as pd
    import torch

    from seqbench import tasks

    t = np.arange(120)
    pd.DataFrame({"time": t, "load": np.sin(t / 6)}).to_csv(tmp_path / "load.csv", index=False)
    task = tasks.custom(tmp_path / "load.csv", target="load", input_length=16, horizon=2)
    model = task.build_model("gru", hidden_size=6)
    state = {f"model.{k}": v.clone() for k, v in model.state_dict().items()}
    first = next(iter(state))
    state[first].view(-1)[0] = bad
    ckpt = tmp_path / "best.ckpt"
    torch.save({"hyper_parameters": {"run_config": {"task": "custom", "model": "gru", "preset": "paper",
                                                    "variant": {}, "hidden_size": 6}},
                "state_dict": state, "seqbench": {"task_state": task.state()}}, ckpt)
    code, out, err = cli(["predict", str(ckpt), "--file", str(tmp_path / "load.csv")])
    assert code == 1 and out == ""
    assert err.startswith(f"error: {ckpt} holds non-finite weights (1 NaN or infinite values in 1 tensor(s), "
                          f"first {first[len('model.'):]})") and err.count("\n") == 1
