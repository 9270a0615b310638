"""pytest fixtures for plugin authors, registered through the ``pytest11`` entry point: in any
environment where automl-bench is installed, a test may ask for them by name.

- ``bench_plugins``: extra plugin modules (import paths) to load beside every installed plugin;
  the toy plugin by default. Override it in a ``conftest.py`` to load a module that is not
  installed as a distribution.
- ``bench_host``: a fresh plugin host with every installed plugin (yours, once
  ``pip install -e .`` has registered its entry point) and ``bench_plugins``.
- ``bench_run``: runs a suite end to end, quietly, in a temporary directory, and returns its
  `RunResults`. Give it a suite file's path or its TOML text (`automl_bench.testing.toy_suite`
  writes one), and optionally ``max_trials``, ``max_epochs``, ``seeds`` or ``workers``.

Example, testing a strategy plugin end to end::

    from automl_bench.testing import toy_suite

    def test_my_strategy_runs_a_suite(bench_run):
        results = bench_run(toy_suite(strategies=["my-strategy"]))
        assert (results.trials["status"] == "ok").all()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pytest

from automl_bench.testing import TOY_PLUGIN

if TYPE_CHECKING:
    from automl_bench import RunResults
    from automl_bench._manager import Host


@pytest.fixture
def bench_plugins() -> Sequence[str]:
    """Plugin modules to load by import path beside the installed ones."""
    return (TOY_PLUGIN,)


@pytest.fixture
def bench_host(bench_plugins: Sequence[str]) -> "Host":
    """A fresh plugin host: every installed plugin plus ``bench_plugins``."""
    from automl_bench._manager import get_plugin_manager

    return get_plugin_manager(tuple(bench_plugins))


@pytest.fixture
def bench_run(bench_host: "Host", tmp_path: Path) -> Callable[..., "RunResults"]:
    """Run a suite (a path, or TOML text) end to end; returns its `RunResults`."""
    from automl_bench.testing._runs import run_suite_in

    def run(suite: str | Path, **options: Any) -> "RunResults":
        return run_suite_in(tmp_path, bench_host, suite, **options)

    return run
