"""The contract every dataset keeps: `DatasetContract`.

Subclass it in your plugin's tests and say which spec to check::

    class TestMyDataset(DatasetContract):
        def make_spec(self):
            return DatasetSpec("my-data", "what it is", load_my_data, input_shape=(8, 8), kind="image")

pytest then checks what `DatasetSpec` and `Dataset` promise (docs/how-to/plugins.md)."""

from __future__ import annotations

import pytest

from automl_bench import DataError, Dataset, DatasetSpec

KINDS = (None, "image", "sequence", "tokens", "features", "text")


class DatasetContract:
    """What every registered dataset must hold. Define `make_spec`; the set is loaded once per class."""

    def make_spec(self) -> DatasetSpec:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def spec(cls) -> DatasetSpec:
        return cls().make_spec()

    @pytest.fixture(scope="class")
    @classmethod
    def dataset(cls, spec) -> Dataset:
        try:
            return spec.load()
        except DataError as exc:  # its files are not on this machine and cannot be fetched: said, not hidden
            pytest.skip(f"dataset {spec.name!r} is not available here: {str(exc)[:160]}")

    def test_the_spec_is_named_as_suites_name_components(self, spec):
        assert spec.name and spec.name == spec.name.lower() and " " not in spec.name
        assert spec.summary.strip()
        assert spec.kind in KINDS

    def test_samples_and_labels_line_up(self, dataset):
        assert isinstance(dataset, Dataset)
        assert len(dataset.x) == len(dataset.y) > 0

    def test_labels_are_every_class_from_zero(self, dataset):
        import numpy as np

        labels = np.unique(np.asarray(dataset.y))
        assert dataset.n_classes >= 2
        assert labels.tolist() == list(range(dataset.n_classes)), "labels must be 0..n_classes-1, each present"

    def test_the_declared_shape_is_the_loaded_one(self, spec, dataset):
        if spec.input_shape is not None:
            assert tuple(spec.input_shape) == dataset.input_shape

    def test_values_are_what_the_kind_says(self, spec, dataset):
        import numpy as np

        x = np.asarray(dataset.x)
        if dataset.vocab_size is not None or spec.kind == "tokens":
            assert dataset.vocab_size is not None and np.issubdtype(x.dtype, np.integer)
            assert 0 <= x.min() and x.max() < dataset.vocab_size, "token ids must lie in range(vocab_size)"
        elif x.dtype.kind in "fiu":
            assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0, "features must be scaled to [0, 1]"

    def test_the_declared_class_counts_are_the_loaded_ones(self, spec, dataset):
        import numpy as np

        if spec.class_counts is not None:
            counts = np.bincount(np.asarray(dataset.y), minlength=dataset.n_classes)
            assert tuple(int(c) for c in counts) == tuple(spec.class_counts)

    def test_it_says_where_it_came_from(self, dataset):
        assert dataset.source.strip()
        assert len(dataset.sha256) == 64

    def test_loading_again_gives_the_same_data(self, spec, dataset):
        assert spec.load().sha256 == dataset.sha256
