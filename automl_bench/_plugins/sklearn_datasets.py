"""scikit-learn's bundled digits: 1,797 real 8x8 handwritten digits, shipped offline."""

from __future__ import annotations

from automl_bench import DatasetSpec, hookimpl


def load_digits():
    from sklearn.datasets import load_digits as sk_load_digits

    from automl_bench.datasets import make_dataset

    bunch = sk_load_digits()
    x = bunch.images / 16.0  # pixel values 0..16
    return make_dataset("digits", x, bunch.target,
                        source="scikit-learn load_digits(): UCI optical digits, 1797 images 8x8, values 0-16")


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("digits", "1,797 handwritten digits, 8x8, 10 classes (scikit-learn, offline)", load_digits,
                         input_shape=(8, 8), kind="image",
                         class_counts=(178, 182, 177, 183, 181, 182, 181, 179, 174, 180)))
