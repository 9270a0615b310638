"""Tiny real data the contracts train on: seconds to fit, real enough to learn.

Subclass it in your plugin's tests; docs/how-to/plugins.md lists what each test checks."""

from __future__ import annotations

import functools

from automl_bench import Splits
from automl_bench.datasets import make_dataset


@functools.cache
def digit_classes(classes: tuple[int, ...]) -> Splits:
    """scikit-learn's digits of some classes (relabelled 0..n-1), split 60/20/20."""
    from sklearn.datasets import load_digits

    from automl_bench._files.data import make_splits, select_classes

    bunch = load_digits()
    dataset = select_classes(make_dataset("digits", bunch.images / 16.0, bunch.target, "tests: digits"), classes)
    return make_splits(dataset, val_fraction=0.2, test_fraction=0.2, seed=0)


@functools.cache
def tiny_tokens() -> Splits:
    """600 sequences of 10 token ids (vocabulary 24, 0 = padding): the class (0-3) is which of
    the ids 2-5 appears among random filler ids 8-23. Learnable only by reading the ids."""
    import numpy as np

    from automl_bench._files.data import make_splits

    rng = np.random.default_rng(0)
    y = np.arange(600) % 4
    x = rng.integers(8, 24, size=(600, 10))
    x[:, :2] = 0  # left padding
    for i, label in enumerate(y):
        x[i, rng.choice(np.arange(2, 10), size=2, replace=False)] = 2 + label
    return make_splits(make_dataset("tokens", x, y, "tests: synthetic tokens", vocab_size=24),
                       val_fraction=0.2, test_fraction=0.2, seed=0)


@functools.cache
def tiny_digits() -> Splits:
    """600 of scikit-learn's digits, split 60/20/20: seconds to train on, real enough to learn."""
    import numpy as np
    from sklearn.datasets import load_digits

    from automl_bench._files.data import make_splits

    bunch = load_digits()
    keep = np.random.default_rng(0).permutation(len(bunch.target))[:600]
    dataset = make_dataset("digits-600", bunch.images[keep] / 16.0, bunch.target[keep], "tests: digits subset")
    return make_splits(dataset, val_fraction=0.2, test_fraction=0.2, seed=0)
