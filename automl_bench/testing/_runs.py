"""A small real run of the toy suite, shared by the contracts that read a run's results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from automl_bench import RunResults

if TYPE_CHECKING:
    from automl_bench._manager import Host

#: The suite the reporter and report-section contracts run once per test class: the toy backend,
#: two strategies and three seeds, so that statistics over seeds have something to say.
CONTRACT_SUITE = dict(strategies=("random", "grid"), seeds=(0, 1, 2), max_trials=4, epochs=3)


def run_suite_in(directory: Path, host: "Host", suite: str | Path, **options: Any) -> RunResults:
    """Run ``suite`` (a path, or TOML text, written to ``directory``) with ``host``, its results
    under ``directory/results``: what the ``bench_run`` fixture and the contracts below do."""
    from automl_bench._run.driver import RunOptions, run_suite
    from automl_bench._suite import load_suite

    if isinstance(suite, Path) or "\n" not in suite:
        path = Path(suite)
    else:
        path = directory / "suite.toml"
        path.write_text(suite)
    return run_suite(load_suite(path, host), host, RunOptions(out=directory / "results", **options))


class OnAToyRun:
    """A contract base whose tests read the results of one small toy run, made once per class."""

    @pytest.fixture(scope="class")
    @classmethod
    def results(cls, tmp_path_factory) -> RunResults:
        from automl_bench._manager import get_plugin_manager
        from automl_bench.testing import TOY_PLUGIN, toy_suite

        host = get_plugin_manager((TOY_PLUGIN,))  # every installed plugin, and the toy one
        return run_suite_in(tmp_path_factory.mktemp("contract-run"), host, toy_suite(**CONTRACT_SUITE, reporters=[]))
