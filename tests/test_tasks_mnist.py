"""Sequential / permuted MNIST read from IDX files the test writes (raw and .gz)."""

import gzip
import struct

import numpy as np
import pytest
import torch

from seqbench import tasks
from seqbench.data import CorruptFileError
from seqbench.tasks.mnist import MEAN, STD


def idx_bytes(array: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_mnist(root, n_train=40, n_test=12, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        for kind, arr in [("images-idx3", images), ("labels-idx1", labels)]:
            raw = idx_bytes(arr)
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
        data[prefix] = (images, labels)
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_splits_and_normalisation(tmp_path, gz):
    data = write_mnist(tmp_path, gz=gz)
    t = tasks.get("mnist", data_dir=tmp_path, valid_size=10, download=False, verify=False)
    train, valid, test = (t.dataset(s) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (30, 10, 12)
    item = test[3]
    assert item["x"].shape == (784, 1) and item["x"].dtype == torch.float32
    expected = (data["t10k"][0][3].reshape(784).astype(np.float32) / 255 - MEAN) / STD
    np.testing.assert_allclose(item["x"][:, 0].numpy(), expected, rtol=1e-6)
    assert int(item["y"]) == data["t10k"][1][3]
    # the validation images are training images, disjoint from the rest of the training split
    all_train = {data["train"][0][i].tobytes() for i in range(40)}
    seen = [train.images[i].numpy().tobytes() for i in range(30)] + [valid.images[i].numpy().tobytes() for i in range(10)]
    assert set(seen) == all_train and len(set(seen)) == 40
    batch = t.collate([train[i] for i in range(4)])
    assert batch["x"].shape == (4, 784, 1) and batch["y"].dtype == torch.int64 and "mask" not in batch
    out = torch.randn(4, 10)
    stats = t.statistics(out, batch)
    assert float(stats["accuracy"][1]) == 4
    assert t.compute_metrics({"accuracy": (3.0, 4.0), "nll": (2.0, 4.0)}) == {"accuracy": 75.0, "nll": 0.5}
    assert t.primary_metric.higher_is_better and t.paper_results["tcn"] == 99.0


def test_pmnist_permutation_is_fixed_and_applied(tmp_path):
    write_mnist(tmp_path)
    a = tasks.get("pmnist", data_dir=tmp_path, valid_size=5, download=False, verify=False)
    b = tasks.get("pmnist", data_dir=tmp_path, valid_size=5, download=False, verify=False)
    c = tasks.get("pmnist", data_dir=tmp_path, valid_size=5, download=False, verify=False, permutation_seed=2)
    assert torch.equal(a.permutation, b.permutation) and not torch.equal(a.permutation, c.permutation)
    assert sorted(a.permutation.tolist()) == list(range(784))
    plain = tasks.get("mnist", data_dir=tmp_path, valid_size=5, download=False, verify=False)
    assert torch.equal(a.dataset("test")[0]["x"], plain.dataset("test")[0]["x"][a.permutation])
    saved = tasks.get("pmnist", data_dir=tmp_path, permutation=a.permutation.tolist(), download=False, verify=False)
    assert torch.equal(saved.permutation, a.permutation)
    with pytest.raises(ValueError, match="0..783"):
        tasks.get("pmnist", permutation=[0] * 784)


def test_corrupt_idx_names_the_file(tmp_path):
    write_mnist(tmp_path)
    bad = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 12) + b"\x01" * 5))  # truncated
    t = tasks.get("mnist", data_dir=tmp_path, valid_size=5, download=False, verify=False)
    with pytest.raises(CorruptFileError, match="t10k-labels-idx1-ubyte.gz.*12"):
        t.dataset("test")
    bad.write_bytes(b"\x1f\x8bnot gzip at all")
    with pytest.raises(CorruptFileError, match="t10k-labels-idx1-ubyte.gz"):
        tasks.get("mnist", data_dir=tmp_path, download=False, verify=False).dataset("test")


def test_mnist_checksum_is_checked_by_default(tmp_path):
    write_mnist(tmp_path)
    with pytest.raises(Exception, match="sha256.*does not match"):
        tasks.get("mnist", data_dir=tmp_path, download=False).dataset("train")


def test_lstm_and_rnn_train_with_the_papers_baseline_settings_the_gru_and_tcn_with_the_tcns():
    from seqbench.training import RunConfig, Training

    task = tasks.get("mnist", verify=False)  # no data read: presets only
    resolved = {m: Training.resolve(task, RunConfig(task="mnist", model=m)) for m in ("tcn", "gru", "lstm", "rnn")}
    for m in ("tcn", "gru"):
        assert (resolved[m].optimizer, resolved[m].lr, resolved[m].clip) == ("adam", 2e-3, None)
    for m in ("lstm", "rnn"):
        assert (resolved[m].optimizer, resolved[m].lr, resolved[m].clip) == ("rmsprop", 1e-3, 1.0)
        assert resolved[m].epochs == 20 and resolved[m].batch_size == 64
    # an explicit override still wins, and the run's name is the protocol's
    assert Training.resolve(task, RunConfig(task="mnist", model="lstm", lr=5e-4)).lr == 5e-4
    assert RunConfig(task="mnist", model="lstm").run_name() == "mnist-paper-lstm-seed0"


def test_the_papers_lstm_starts_with_its_forget_bias_and_keeps_its_parameter_count():
    sizes = {}
    for name, bias in (("mnist", 1.0), ("pmnist", 10.0)):
        task = tasks.get(name, verify=False)
        model = task.build_model("lstm")
        lstm = model.encoder
        assert lstm.forget_bias == bias
        h = lstm.hidden_size
        assert torch.all(lstm.rnn.bias_ih_l0[h: 2 * h] + lstm.rnn.bias_hh_l0[h: 2 * h] == bias)
        sizes[name] = model.num_parameters()
        # the other baselines have no forget gate and keep torch's initialisation
        assert task.build_model("gru").encoder.forget_bias is None
    # an initial value, not an architecture: the matched size is the same as without it
    plain = tasks.get("mnist", verify=False)
    plain.presets["paper"] = plain.presets["paper"].with_overrides(baseline_model={})
    plain_lstm = plain.build_model("lstm")
    assert plain_lstm.encoder.forget_bias is None
    assert plain_lstm.num_parameters() == sizes["mnist"] == sizes["pmnist"]


def test_forget_bias_option_overrides_the_presets_names_the_run_and_is_refused_for_other_models():
    from seqbench.training import RunConfig

    task = tasks.get("pmnist", verify=False)
    cfg = RunConfig(task="pmnist", model="lstm", forget_bias=2.0)
    assert cfg.run_name() == "pmnist-paper-lstm-forget-bias2-seed0"  # never resumes the preset's run
    lstm = task.build_model("lstm", **cfg.model_overrides()).encoder
    h = lstm.hidden_size
    assert lstm.forget_bias == 2.0
    assert torch.all(lstm.rnn.bias_ih_l0[h: 2 * h] + lstm.rnn.bias_hh_l0[h: 2 * h] == 2.0)
    assert task.build_model("tcn", **cfg.model_overrides()).num_parameters() == task.build_model("tcn").num_parameters()
    with pytest.raises(ValueError, match="forget_bias applies to LSTM models only, not to 'gru'"):
        RunConfig(task="pmnist", model="gru", forget_bias=1.0)
    with pytest.raises(ValueError, match="forget_bias must be a finite number, got inf"):
        RunConfig(task="pmnist", model="lstm", forget_bias=float("inf"))
