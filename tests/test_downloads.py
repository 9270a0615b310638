"""Dataset files: found, downloaded (from file:// mirrors the tests write), verified, or refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from automl_bench._files.downloads import RemoteFile, fetch, md5_of
from automl_bench._plugins import image_datasets as images
from automl_bench.errors import DataError

CLOSED_PORT = "http://127.0.0.1:9/"  # nothing listens: refused at once, no network needed


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(directory, n_train=20, n_test=10, compresslevel=9):
    """A tiny IDX dataset with MNIST's file names; returns RemoteFile specs for it."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n_train, 28, 28)), np.arange(n_train) % 10,
              rng.integers(0, 256, (n_test, 28, 28)), np.arange(n_test) % 10]
    directory.mkdir(parents=True, exist_ok=True)
    specs = []
    for name, array in zip(images.IDX_NAMES, arrays):
        data = gzip.compress(idx_bytes(array), compresslevel=compresslevel, mtime=0)
        (directory / name).write_bytes(data)
        specs.append(RemoteFile(name, hashlib.md5(data).hexdigest()))
    return tuple(specs)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_download_verify_cache_and_load(tmp_path, cache):
    specs = write_idx_set(tmp_path / "mirror")
    paths = fetch("mnist", specs, [CLOSED_PORT, (tmp_path / "mirror").as_uri() + "/"])  # first mirror fails
    assert all(p.parent == cache / "mnist" for p in paths.values())
    ds = images.load_idx_dataset("mnist", paths, "test files")
    assert ds.x.shape == (30, 28, 28) and ds.n_classes == 10 and ds.x.max() <= 1.0
    # a second fetch uses the cache: the mirror can be gone
    for p in (tmp_path / "mirror").iterdir():
        p.unlink()
    assert fetch("mnist", specs, [CLOSED_PORT]) == paths


def test_offline_without_a_copy_names_the_files_and_where_to_put_them(cache):
    with pytest.raises(DataError) as info:
        fetch("mnist", images.MNIST_FILES, [CLOSED_PORT])
    message = str(info.value)
    assert "cannot find or download train-images-idx3-ubyte.gz" in message
    assert "127.0.0.1:9" in message
    assert f"Put the files {', '.join(images.IDX_NAMES)} in {cache / 'mnist'}" in message
    assert "AUTOML_BENCH_DATA" in message


def test_the_real_mnist_loader_offline_is_a_clear_error(cache, monkeypatch):
    monkeypatch.setattr(images, "MNIST_MIRRORS", (CLOSED_PORT,))
    with pytest.raises(DataError, match="dataset 'mnist': cannot find or download"):
        images.load_mnist()


def test_a_local_file_with_the_wrong_checksum_is_refused(tmp_path, cache):
    specs = write_idx_set(cache / "mnist")
    wrong = (RemoteFile(specs[0].name, "0" * 32),) + specs[1:]
    with pytest.raises(DataError, match="checksum mismatch .* delete it and retry"):
        fetch("mnist", wrong, [CLOSED_PORT])


def test_a_corrupt_download_is_not_kept(tmp_path, cache):
    specs = write_idx_set(tmp_path / "mirror")
    wrong = (RemoteFile(specs[0].name, "0" * 32),)
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("mnist", wrong, [(tmp_path / "mirror").as_uri() + "/"])
    assert list((cache / "mnist").iterdir()) == []  # neither the file nor a .part is left


def test_truncated_files_are_errors_not_half_datasets(tmp_path, cache):
    write_idx_set(tmp_path / "d")
    path = tmp_path / "d" / images.IDX_NAMES[0]
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="corrupt or truncated"):
        md5_of(path, decompress=True)
    with pytest.raises(DataError, match="corrupt or truncated"):
        images.read_idx(path)


def test_an_idx_header_that_disagrees_with_the_data_is_refused(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((4, 28, 28)))[:-28]))
    with pytest.raises(DataError, match=r"header says \[4, 28, 28\] \(3136 values\) but holds 3108"):
        images.read_idx(path)


def test_fashion_mnist_from_the_debian_package_path(tmp_path, cache, monkeypatch):
    debian = tmp_path / "debian"
    write_idx_set(debian, compresslevel=1)  # re-compressed: .gz bytes differ, content is the same
    specs = tuple(RemoteFile(n, hashlib.md5(gzip.decompress((debian / n).read_bytes())).hexdigest(), "gunzip")
                  for n in images.IDX_NAMES)
    monkeypatch.setattr(images, "FASHION_DEBIAN_DIR", debian)
    monkeypatch.setattr(images, "FASHION_DEBIAN_FILES", specs)
    ds = images.load_fashion_mnist()
    assert ds.x.shape == (30, 28, 28) and "Debian package" in ds.source


def cifar_tar(path, drop=None):
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            if name == drop:
                continue
            batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
            data = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar10_batches_are_read_channels_last(tmp_path):
    cifar_tar(tmp_path / "c.tar.gz")
    x, y = images.read_cifar10(tmp_path / "c.tar.gz")
    assert x.shape == (24, 32, 32, 3) and x.dtype == np.uint8 and list(y[:4]) == [0, 1, 2, 3]


def test_a_cifar10_archive_missing_a_batch_is_refused(tmp_path):
    cifar_tar(tmp_path / "c.tar.gz", drop="test_batch")
    with pytest.raises(DataError, match="does not hold the CIFAR-10 batches"):
        images.read_cifar10(tmp_path / "c.tar.gz")
