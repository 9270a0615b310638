"""Every registered dataset, reporter and report section runs its public contract: the classes
are made from the host's registry, so a plugin added to it is checked without editing this file."""

from __future__ import annotations

import pytest

from automl_bench._manager import get_plugin_manager
from automl_bench.testing import DatasetContract, ReporterContract, ReportSectionContract

HOST = get_plugin_manager()


def _classes(base: type, registry: dict, make: str) -> dict[str, type]:
    out = {}
    for name, spec in registry.items():
        title = "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
        method = (lambda self, spec=spec: spec) if make == "make_spec" else (lambda self, spec=spec: spec.factory())
        out[f"Test{base.__name__.removesuffix('Contract')}{title}"] = type(title, (base,), {make: method})
    return out


DATASETS = HOST.datasets()
REPORTERS = {n: s for n, s in HOST.reporters().items() if s.default}  # non-defaults write outside the results
SECTIONS = HOST.report_sections()
globals().update(_classes(DatasetContract, DATASETS, "make_spec"))
globals().update(_classes(ReporterContract, REPORTERS, "make_reporter"))
globals().update(_classes(ReportSectionContract, SECTIONS, "make_spec"))


def test_the_registry_is_covered():
    assert DATASETS and REPORTERS and SECTIONS
    made = {k for k in globals() if k.startswith("Test")}
    assert len(made) == len(DATASETS) + len(REPORTERS) + len(SECTIONS)


def test_a_dataset_that_breaks_its_promise_fails_the_contract(tmp_path):
    """The contract is not vacuous: labels that skip a class are caught."""
    import numpy as np

    from automl_bench import Dataset

    # built as a careless plugin might, without make_dataset (which refuses such labels itself)
    gappy = Dataset("gappy", np.zeros((6, 2)), np.array([0, 0, 2, 2, 0, 2]), 3, "test", "0" * 64)  # no class 1
    with pytest.raises(AssertionError, match="labels must be 0..n_classes-1"):
        DatasetContract().test_labels_are_every_class_from_zero(gappy)
