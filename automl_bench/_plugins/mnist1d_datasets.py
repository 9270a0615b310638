"""MNIST-1D: 5,000 procedurally generated one-dimensional digits of 40 steps (Greydanus, 2020).

The PyPI package ``mnist1d`` generates the set from ten templates with the paper's default
arguments (seed 42): deterministic, offline, and small enough to train thousands of models on
two cores, yet hard: the paper reports about 69% for an MLP and 94% for a CNN, so the choice of
hyperparameters shows. Its ``get_dataset`` would download the authors' pickle first; this
loader calls ``make_dataset`` directly.
"""

from __future__ import annotations

from automl_bench import DataError, DatasetSpec, hookimpl

STEPS = 40


def load_mnist1d():
    try:
        from mnist1d.data import get_dataset_args
        from mnist1d.data import make_dataset as generate
    except ImportError as exc:
        raise DataError("dataset 'mnist1d' needs the mnist1d package: pip install mnist1d") from exc
    import numpy as np

    from automl_bench.datasets import make_dataset

    state = np.random.get_state()  # the generator seeds NumPy's global generator; leave it as it was
    try:
        data = generate(get_dataset_args())
    finally:
        np.random.set_state(state)
    x = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)
    y = np.concatenate([data["y"], data["y_test"]])
    x = (x - x.min()) / (x.max() - x.min())  # the host takes features in [0, 1]: one affine map of the whole set
    if x.shape != (5000, STEPS):
        raise DataError(f"mnist1d.make_dataset returned shape {x.shape}, expected (5000, {STEPS})")
    return make_dataset("mnist1d", x.reshape(-1, STEPS, 1), y,
                        source="mnist1d.make_dataset(get_dataset_args()): 5,000 1-D digits of 40 steps, "
                               "generated with the paper's defaults (seed 42), "
                               "scaled affinely to [0, 1]")


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("mnist1d", "5,000 MNIST-1D sequences, 40 steps, 10 classes (mnist1d, generated offline)",
                         load_mnist1d, input_shape=(STEPS, 1), kind="sequence", class_counts=(500,) * 10))
