"""MNIST, Fashion-MNIST and CIFAR-10 from their canonical sources, verified by checksum.

Files are found in ``$AUTOML_BENCH_DATA/<dataset>/`` (default: the user cache directory),
then (Fashion-MNIST) in the Debian package's directory, else downloaded there once.
Offline and without a copy, loading fails with the file names and where to put them; no
other dataset is ever substituted. Each dataset is loaded whole (train and test files
together, 70,000 or 60,000 images): the host makes its own stratified splits.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from pathlib import Path

from automl_bench import DataError, DatasetSpec, hookimpl
from automl_bench.datasets import RemoteFile, fetch

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MNIST_FILES = tuple(RemoteFile(n, md5) for n, md5 in zip(IDX_NAMES, (
    "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")))
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_FILES = tuple(RemoteFile(n, md5) for n, md5 in zip(IDX_NAMES, (
    "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")))
# Debian's dataset-fashion-mnist re-compresses the files: verify their decompressed content.
FASHION_DEBIAN_FILES = tuple(RemoteFile(n, md5, digest_of="gunzip") for n, md5 in zip(IDX_NAMES, (
    "f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
    "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965")))
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
CIFAR10_FILE = RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)


def read_idx(path: Path):
    """An IDX file (gzipped) as a uint8 array, its header checked against its size."""
    import numpy as np

    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is corrupt or truncated ({exc}); delete it and retry") from None
    if len(data) < 8 or data[0:2] != b"\0\0" or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = 1
    for d in dims:
        expected *= d
    if len(data) - offset != expected:
        raise DataError(f"{path}: header says {dims} ({expected} values) but holds {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_idx_dataset(name: str, paths: dict[str, Path], source: str):
    import numpy as np

    from automl_bench.datasets import make_dataset

    x = np.concatenate([read_idx(paths[IDX_NAMES[0]]), read_idx(paths[IDX_NAMES[2]])])
    y = np.concatenate([read_idx(paths[IDX_NAMES[1]]), read_idx(paths[IDX_NAMES[3]])])
    if len(x) != len(y):
        raise DataError(f"dataset {name!r}: {len(x)} images but {len(y)} labels")
    return make_dataset(name, x / 255.0, y, source=source)


def load_mnist():
    paths = fetch("mnist", MNIST_FILES, MNIST_MIRRORS)
    return load_idx_dataset("mnist", paths, "MNIST (LeCun et al.), train + t10k, 70,000 images 28x28, md5-verified")


def load_fashion_mnist():
    if all((FASHION_DEBIAN_DIR / f.name).is_file() for f in FASHION_DEBIAN_FILES):
        paths = fetch("fashion-mnist", FASHION_DEBIAN_FILES, (), extra_dirs=(FASHION_DEBIAN_DIR,))
        where = f"Debian package dataset-fashion-mnist ({FASHION_DEBIAN_DIR})"
    else:
        paths = fetch("fashion-mnist", FASHION_FILES, FASHION_MIRRORS)
        where = "Zalando's release"
    return load_idx_dataset("fashion-mnist", paths, f"Fashion-MNIST from {where}, train + t10k, 70,000 images 28x28")


def read_cifar10(path: Path):
    import numpy as np

    members = [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)] + ["cifar-10-batches-py/test_batch"]
    xs, ys = [], []
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in members:
                f = tar.extractfile(member)
                if f is None:
                    raise KeyError(member)
                batch = pickle.load(f, encoding="bytes")  # noqa: S301 - checksum-verified official file
                xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                ys.append(np.asarray(batch[b"labels"]))
    except (tarfile.TarError, KeyError, EOFError, OSError, pickle.UnpicklingError) as exc:
        raise DataError(f"{path} does not hold the CIFAR-10 batches ({type(exc).__name__}: {exc})") from None
    return np.concatenate(xs), np.concatenate(ys)


def load_cifar10():
    from automl_bench.datasets import make_dataset

    paths = fetch("cifar10", (CIFAR10_FILE,), CIFAR10_MIRRORS)
    x, y = read_cifar10(paths[CIFAR10_FILE.name])
    return make_dataset("cifar10", x / 255.0, y, source="CIFAR-10 (Krizhevsky), 60,000 images 32x32x3, md5-verified")


#: Training and test images of each digit, 0 to 9 (60,000 + 10,000).
MNIST_CLASS_COUNTS = (6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958)


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("mnist", "70,000 MNIST digits, 28x28 (downloaded once, md5-verified)", load_mnist,
                         input_shape=(28, 28), kind="image", class_counts=MNIST_CLASS_COUNTS))
    register(DatasetSpec("fashion-mnist", "70,000 Fashion-MNIST images, 28x28 (Debian package or download)",
                         load_fashion_mnist, input_shape=(28, 28), kind="image", class_counts=(7000,) * 10))
    register(DatasetSpec("cifar10", "60,000 CIFAR-10 images, 32x32x3 (downloaded once, md5-verified)", load_cifar10,
                         input_shape=(32, 32, 3), kind="image", class_counts=(6000,) * 10))
