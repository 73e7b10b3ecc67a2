"""Polyphonic music from .mat files the test writes; the per-frame NLL, batched and not."""

import math

import numpy as np
import pytest
import scipy.io
import torch

from seqbench import tasks
from seqbench.data import CorruptFileError
from seqbench.tasks.music import frame_nll


def write_mat(root, name="JSB_Chorales.mat", lengths=((5, 9, 3), (4, 7), (6,)), seed=0, **override):
    rng = np.random.default_rng(seed)
    content = {}
    for key, ls in zip(("traindata", "validdata", "testdata"), lengths):
        cells = np.empty((1, len(ls)), dtype=object)
        for i, n in enumerate(ls):
            cells[0, i] = (rng.random((n, 88)) < 0.1).astype(np.uint8)
        content[key] = cells
    content.update(override)
    (root / "music").mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / "music" / name, content)
    return content


def test_music_splits_and_shift(tmp_path):
    content = write_mat(tmp_path)
    t = tasks.get("jsb", data_dir=tmp_path, download=False, verify=False)
    assert [len(t.dataset(s)) for s in ("train", "valid", "test")] == [3, 2, 1]
    item = t.dataset("train")[1]
    piece = content["traindata"][0, 1].astype(np.float32)
    assert item["x"].shape == item["y"].shape == (8, 88)
    assert np.array_equal(item["x"].numpy(), piece[:-1]) and np.array_equal(item["y"].numpy(), piece[1:])
    batch = t.collate([t.dataset("train")[i] for i in range(3)])
    assert batch["x"].shape == (3, 8, 88) and batch["mask"].sum(1).tolist() == [4, 8, 2]
    assert t.presets["paper"].batch_size == 1 and t.presets["paper"].model["hidden_size"] == 150
    assert t.paper_results["tcn"] == 8.10 and not t.primary_metric.higher_is_better


def test_muse_and_piano_read_their_files(tmp_path):
    write_mat(tmp_path, "MuseData.mat")
    write_mat(tmp_path, "Piano_midi.mat", lengths=((3,), (3,), (3, 4)))  # the official repository's name
    # these small stand-ins are not the published files: their checksums would not match
    assert len(tasks.get("muse", data_dir=tmp_path, download=False, verify=False).dataset("train")) == 3
    assert len(tasks.get("piano", data_dir=tmp_path, download=False, verify=False).dataset("test")) == 2


def test_frame_nll_by_hand():
    logits = torch.tensor([[[0.0] * 88, [2.0] * 88, [5.0] * 88]])
    target = torch.zeros(1, 3, 88)
    target[0, 1, :44] = 1
    mask = torch.tensor([[True, True, False]])
    s, n = frame_nll(logits, target, mask)
    # frame 0: 88 * ln 2; frame 1: 44 * softplus(-2) + 44 * softplus(2); frame 2 is padding
    expected = 88 * math.log(2) + 44 * math.log1p(math.exp(-2)) + 44 * math.log1p(math.exp(2))
    assert float(s) == pytest.approx(expected, rel=1e-6) and float(n) == 2
    s_all, n_all = frame_nll(logits, target)
    assert float(n_all) == 3 and float(s_all) > float(s)
    # no log of a saturated sigmoid: huge logits stay finite
    s_big, _ = frame_nll(torch.full((1, 1, 88), 200.0), torch.zeros(1, 1, 88))
    assert float(s_big) == pytest.approx(88 * 200.0)


def test_batched_and_one_piece_per_step_agree(tmp_path):
    write_mat(tmp_path, lengths=((5, 12, 3, 8), (4,), (6,)))
    t = tasks.get("jsb", data_dir=tmp_path, download=False, verify=False)
    model = t.build_model("tcn", hidden_size=8, levels=2, dropout=0.0).eval()
    ds = t.dataset("train")

    def total(batches):
        s = n = 0.0
        with torch.no_grad():
            for b in batches:
                st, ct = t.statistics(model(b["x"], mask=b.get("mask")), b)["nll"]
                s, n = s + float(st), n + float(ct)
        return t.compute_metrics({"nll": (s, n)})["nll"], n

    single = total(t.collate([ds[i]]) for i in range(len(ds)))
    batched = total([t.collate([ds[i] for i in range(len(ds))])])
    assert single[1] == batched[1] == 4 + 11 + 2 + 7
    assert batched[0] == pytest.approx(single[0], rel=1e-5)
    # the training loss is the same average
    b = t.collate([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        assert float(t.loss(model(b["x"], mask=b["mask"]), b)) == pytest.approx(batched[0], rel=1e-5)


def test_sequence_loss_sum_weighs_every_frame_alike(tmp_path):
    write_mat(tmp_path, lengths=((5, 12, 3), (4,), (6,)))
    mean = tasks.get("jsb", data_dir=tmp_path, download=False, verify=False)
    summed = tasks.get("jsb", data_dir=tmp_path, download=False, verify=False, sequence_loss="sum")
    model = mean.build_model("tcn", hidden_size=8, levels=2, dropout=0.0).eval()
    pieces = [mean.dataset("train")[i] for i in range(3)]
    with torch.no_grad():
        per_piece = [frame_nll(model(p["x"][None]), p["y"][None]) for p in pieces]
        b = mean.collate(pieces)
        out = model(b["x"], mask=b["mask"])
        # the official script's loss: each piece's summed NLL (here averaged over the 3 pieces)
        assert float(summed.loss(out, b)) == pytest.approx(sum(float(s) for s, _ in per_piece) / 3, rel=1e-5)
        one = mean.collate(pieces[1:2])
        o1 = model(one["x"])
        assert float(summed.loss(o1, one)) == pytest.approx(float(mean.loss(o1, one)) * 11, rel=1e-5)
    with pytest.raises(ValueError, match="sequence_loss"):
        tasks.get("jsb", data_dir=tmp_path, sequence_loss="median")


def test_bad_mat_files_name_the_file(tmp_path):
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "JSB_Chorales.mat").write_bytes(b"this is not a mat file" * 10)
    with pytest.raises(CorruptFileError, match="JSB_Chorales.mat"):
        tasks.get("jsb", data_dir=tmp_path, download=False, verify=False).dataset("train")
    scipy.io.savemat(tmp_path / "music" / "JSB_Chorales.mat", {"traindata": np.zeros((3, 88))})
    with pytest.raises(CorruptFileError, match="JSB_Chorales.mat.*validdata"):
        tasks.get("jsb", data_dir=tmp_path, download=False, verify=False).dataset("train")
    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = np.zeros((4, 87), dtype=np.uint8)
    write_mat(tmp_path, traindata=cells)
    with pytest.raises(CorruptFileError, match=r"traindata\[0\].*\(4, 87\)"):
        tasks.get("jsb", data_dir=tmp_path, download=False, verify=False).dataset("train")
