"""The offline datasets and the host's fixed, stratified splits."""

from __future__ import annotations

import numpy as np
import pytest

from automl_bench._files.data import make_dataset, make_splits
from automl_bench._manager import get_plugin_manager
from automl_bench.errors import DataError

HOST = get_plugin_manager()


@pytest.mark.parametrize("name, n, shape", [("digits", 1797, (8, 8)), ("mnist-5k", 5000, (28, 28))])
def test_offline_datasets_load_real_data(name, n, shape):
    ds = HOST.dataset(name).load()
    assert ds.x.shape == (n, *shape) and ds.x.dtype == np.float32
    assert 0.0 == ds.x.min() and ds.x.max() == 1.0
    assert ds.n_classes == 10 and np.bincount(ds.y).min() > 0.09 * n
    assert len(ds.sha256) == 64 and ds.source


def test_splits_are_stratified_disjoint_and_fixed_by_seed():
    ds = HOST.dataset("digits").load()
    a = make_splits(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    b = make_splits(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    c = make_splits(ds, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert np.array_equal(a.x_val, b.x_val) and not np.array_equal(a.x_val, c.x_val)
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 1797
    assert abs(len(a.y_test) - 0.2 * 1797) <= 1 and abs(len(a.y_val) - 0.2 * 1797) <= 1
    for part in (a.y_train, a.y_val, a.y_test):  # every class in proportion
        share = np.bincount(part, minlength=10) / len(part)
        assert np.all(np.abs(share - 0.1) < 0.02)


def test_splits_partition_the_rows():
    n = 300
    ds = make_dataset("indexed", (np.arange(n) / n).reshape(n, 1), np.arange(n) % 3, source="test")
    s = make_splits(ds, val_fraction=0.25, test_fraction=0.2, seed=4)
    parts = [set(np.round(p[:, 0] * n).astype(int)) for p in (s.x_train, s.x_val, s.x_test)]
    assert sum(len(p) for p in parts) == n and set().union(*parts) == set(range(n))
    assert (len(parts[0]), len(parts[1]), len(parts[2])) == (165, 75, 60)


@pytest.mark.parametrize("x, y, message", [
    (np.ones((3, 2)) * 2, np.array([0, 1, 0]), "features must be scaled to [0, 1]"),
    (np.ones((3, 2)), np.array([0, 2, 0]), "labels must be 0..k-1"),
    (np.ones((3, 2)), np.array([0, 1]), "3 samples but 2 labels"),
])
def test_make_dataset_rejects_bad_arrays(x, y, message):
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        make_dataset("bad", x, y, source="test")


def _word_lists(directory, shared="zzzshared"):
    """Six made-up word lists, each language with its own letters, and one word in two lists."""
    from automl_bench._plugins.wordlist_datasets import LANGUAGES

    rng = np.random.default_rng(0)
    directory.mkdir()
    for i, (file, _) in enumerate(LANGUAGES.values()):
        letters = list("abcdefghijklmnopqrstuvwxyz"[i * 4:i * 4 + 6]) + ["é", "ß"][: i % 2 + 1]
        words = {"".join(rng.choice(letters, size=rng.integers(3, 13))) for _ in range(4000)}
        words |= {"Capitalised", "possessive's", "toolongtobeusedhere"}  # all three filtered out
        if i < 2:
            words.add(shared)
        (directory / file).write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    return directory


def test_languages_from_word_lists_are_one_hot_balanced_and_fixed(tmp_path):
    from automl_bench._plugins.wordlist_datasets import ALPHABET, encode, load_languages

    directory = _word_lists(tmp_path / "dict")
    ds = load_languages(directory)
    assert ds.x.shape == (12000, 12, len(ALPHABET)) and ds.n_classes == 6
    assert np.array_equal(np.bincount(ds.y), [2000] * 6)
    assert set(np.unique(ds.x.sum(axis=2))) == {0.0, 1.0}  # one letter per step, or padding
    assert np.all(ds.x[:, -3:].sum(axis=2) == 1)  # right-aligned: the last three steps hold letters
    shared = encode(["zzzshared"])[0]
    assert not any(np.array_equal(shared, x) for x in ds.x)  # a word of two languages is dropped
    assert load_languages(directory).sha256 == ds.sha256


def test_languages_without_the_word_lists_names_the_packages(tmp_path):
    from automl_bench._plugins.wordlist_datasets import load_languages

    directory = _word_lists(tmp_path / "dict")
    (directory / "italian").unlink()
    with pytest.raises(DataError, match=r"italian is missing; install them with: apt-get install -y witalian"):
        load_languages(directory)


@pytest.mark.skipif(__import__("shutil").which("apt-get") is None, reason="Debian's word lists need apt-get")
def test_languages_from_debian_word_lists():
    ds = HOST.dataset("languages").load()  # `make test` installs the packages; missing ones fail here
    assert ds.x.shape == (12000, 12, 49) and ds.n_classes == 6 and "/usr/share/dict" in ds.source


@pytest.mark.skipif(__import__("shutil").which("apt-get") is None, reason="Debian's Fashion-MNIST needs apt-get")
def test_fashion_mnist_from_the_debian_package():
    ds = HOST.dataset("fashion-mnist").load()
    assert ds.x.shape == (70000, 28, 28) and ds.n_classes == 10 and "Debian" in ds.source
