"""Token datasets (fortunes offline, IMDB by download) and RNNs that read them through an embedding."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from automl_bench._files.downloads import RemoteFile
from automl_bench._manager import get_plugin_manager
from automl_bench._model.checks import check_input
from automl_bench._plugins import text_datasets as text
from automl_bench.errors import DataError

HOST = get_plugin_manager()
CLOSED_PORT = "http://127.0.0.1:9/"


def test_token_data_needs_an_rnn_with_an_embedding():
    assert check_input("rnn", (40,), {"embedding": [16]}, "tokens") == []
    assert "needs embedding >= 1" in check_input("rnn", (40,), {}, "tokens")[0]
    assert "not by a cnn" in check_input("cnn", (40,), {"embedding": [16]}, "tokens")[0]
    assert "embedding reads token ids" in check_input("rnn", (8, 8), {"embedding": [16]}, "image")[0]


def _fortune_files(directory):
    directory.mkdir()
    for i, category in enumerate(text.FORTUNE_CATEGORIES):
        quotes = [f"quote {n} about {category} number{n % 7} word{i}" for n in range(12)] + ["shared by two"] * (i < 2)
        (directory / category).write_text("\n%\n".join(quotes) + "\n%\n", encoding="utf-8")
    return directory


def test_fortunes_become_padded_token_ids_with_one_label_per_category(tmp_path):
    ds = text.load_fortunes(_fortune_files(tmp_path / "fortunes"))
    assert ds.x.shape == (8 * 12, text.FORTUNE_STEPS) and ds.x.dtype == np.int64 and ds.vocab_size == 5000
    assert np.array_equal(np.bincount(ds.y), [12] * 8)  # "shared by two" is in two categories: dropped
    assert np.all(ds.x[:, :-6] == 0) and np.all(ds.x[:, -6:] > 1)  # six words each, left-padded
    assert len(set(ds.x[:, -6])) == 1  # every quote starts with "quote": one word, one id


def test_fortunes_without_the_package_names_it(tmp_path):
    directory = _fortune_files(tmp_path / "fortunes")
    (directory / "law").unlink()
    with pytest.raises(DataError, match="law is missing; install them with: apt-get install -y fortunes"):
        text.load_fortunes(directory)


def _imdb(path, n=6):
    rng = np.random.default_rng(0)
    reviews = np.empty(n, dtype=object)
    for i in range(n):
        reviews[i] = list(rng.integers(1, 20000, size=int(rng.integers(5, 300))))
    np.savez(path, x_train=reviews[:4], y_train=np.array([0, 1, 0, 1]), x_test=reviews[4:], y_test=np.array([1, 0]))
    return reviews


def test_imdb_downloads_verifies_and_keeps_the_last_words(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_DATA", str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    reviews = _imdb(tmp_path / "mirror" / "imdb.npz")
    sha = hashlib.sha256((tmp_path / "mirror" / "imdb.npz").read_bytes()).hexdigest()
    monkeypatch.setattr(text, "IMDB_FILE", RemoteFile("imdb.npz", sha256=sha))
    monkeypatch.setattr(text, "IMDB_MIRRORS", (CLOSED_PORT, (tmp_path / "mirror").as_uri() + "/"))
    ds = text.load_imdb()
    assert ds.x.shape == (6, 200) and ds.vocab_size == 10000 and list(ds.y) == [0, 1, 0, 1, 1, 0]
    last = reviews[0][-200:]
    expected = [r + 1 if r + 1 < 10000 else 1 for r in last]
    assert list(ds.x[0, -len(expected):]) == expected  # the last 200 words; rare ones are id 1
    assert (tmp_path / "cache" / "imdb" / "imdb.npz").is_file()


def test_imdb_with_the_wrong_checksum_or_offline_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_DATA", str(tmp_path / "cache"))
    (tmp_path / "cache" / "imdb").mkdir(parents=True)
    _imdb(tmp_path / "cache" / "imdb" / "imdb.npz")
    with pytest.raises(DataError, match=r"checksum mismatch \(sha256 [0-9a-f]{64}, expected 69664113"):
        text.load_imdb()
    (tmp_path / "cache" / "imdb" / "imdb.npz").unlink()
    monkeypatch.setattr(text, "IMDB_MIRRORS", (CLOSED_PORT,))
    with pytest.raises(DataError, match="dataset 'imdb': cannot find or download imdb.npz"):
        text.load_imdb()


@pytest.mark.skipif(__import__("shutil").which("apt-get") is None, reason="Debian's fortunes need apt-get")
def test_fortunes_from_the_debian_package():
    ds = HOST.dataset("fortunes").load()  # `make test` installs the package; without it this fails
    assert ds.n_classes == 8 and len(ds.y) > 3000 and ds.x.shape[1] == text.FORTUNE_STEPS
