"""A small real run of the toy suite, shared by the contracts that read a run's results."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_bench import RunResults

#: The suite the reporter and report-section contracts run once per test class: the toy backend,
#: two strategies and three seeds, so that statistics over seeds have something to say.
CONTRACT_SUITE = dict(strategies=("random", "grid"), seeds=(0, 1, 2), max_trials=4, epochs=3)


def toy_run(directory: Path, suite_text: str) -> RunResults:
    """Run ``suite_text`` with every installed plugin and the toy plugin, into ``directory``."""
    from automl_bench._driver import RunOptions, run_suite
    from automl_bench._manager import get_plugin_manager
    from automl_bench._suite import load_suite
    from automl_bench.testing import TOY_PLUGIN

    host = get_plugin_manager((TOY_PLUGIN,))
    path = directory / "suite.toml"
    path.write_text(suite_text)
    return run_suite(load_suite(path, host), host, RunOptions(out=directory / "results"))


class OnAToyRun:
    """A contract base whose tests read the results of one small toy run, made once per class."""

    @pytest.fixture(scope="class")
    @classmethod
    def results(cls, tmp_path_factory) -> RunResults:
        from automl_bench.testing import toy_suite

        return toy_run(tmp_path_factory.mktemp("contract-run"), toy_suite(**CONTRACT_SUITE, reporters=[]))
