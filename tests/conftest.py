from __future__ import annotations

import os
import re
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
FOREIGN_PLUGINS = sorted(ep.name for ep in entry_points(group="automl_bench")
                         if ep.dist is None or ep.dist.name != "automl-bench")


#: Tests that start Ray: by their name (``TestRayExecutor``, ``test_ray_...``) or their ``ray``
#: parameter. A Ray instance starts, heartbeats and times out on wall-clock time, so these run
#: after the rest, one at a time (``make test``: ``pytest -m "serial and not slow" -n 0``), never
#: beside other tests on a 2-core machine.
_RAY = re.compile(r"(?<![a-z])ray(?![a-z])|Ray")


def pytest_collection_modifyitems(items):
    for item in items:
        if _RAY.search(item.nodeid.split("::", 1)[-1]):
            item.add_marker(pytest.mark.serial)


class _SlowTestsFirst:
    """Start the slow tests first, half in each xdist worker's first batch, so that the run does
    not end with one worker alone in a minute-long end-to-end test while the other waits. xdist
    hands each of its N workers a first batch of len(items) // N // 4 tests, then the rest in
    order as they drain (``LoadScheduling``); every worker computes this same order."""

    @pytest.hookimpl(trylast=True)  # after -m has deselected what this run leaves out
    def pytest_collection_modifyitems(self, config, items):
        workers = config.getoption("numprocesses", None)
        if not isinstance(workers, int) or workers < 2:
            return
        slow = [item for item in items if item.get_closest_marker("slow")]
        rest = [item for item in items if not item.get_closest_marker("slow")]
        batch = max(len(items) // workers // 4, 2)
        ordered = []
        for mine in (slow[w::workers] for w in range(workers)):
            fill = max(batch - len(mine), 0)
            ordered += mine + rest[:fill]
            rest = rest[fill:]
        items[:] = ordered + rest


def pytest_configure(config):
    config.pluginmanager.register(_SlowTestsFirst(), "automl-bench-slow-tests-first")


@pytest.fixture(autouse=True)
def _plugin_environment(monkeypatch):
    """Spawned workers and `bench` subprocesses import test plugin modules from tests/ by import
    path; no plugin settings leak in from the shell."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    for var in ("BENCH_PLUGINS", "BENCH_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    # The host's tests see the host's own plugins only, whatever else is installed (make test
    # installs the example packages under plugins/, which run their own tests).
    monkeypatch.setenv("BENCH_DISABLE_PLUGINS", ",".join(FOREIGN_PLUGINS))
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))


@pytest.fixture
def host(bench_host):
    """The host with the toy plugin: the ``bench_host`` fixture automl_bench.testing ships."""
    return bench_host


TOY_SUITE = """
name = "toy"
seeds = [0]

[budget]
max_trials = {max_trials}
trial_timeout = {timeout}

[matrix]
backends = ["toy"]
strategies = [{strategies}]

[space]
learning_rate = {learning_rate}
activation = {activation}
epochs = 2

[[tasks]]
name = "toy-task"
dataset = "toy"
"""


@pytest.fixture
def write_suite(tmp_path):
    """Write a toy suite; returns its path."""

    def write(max_trials=4, timeout=30, strategies='"random"', activation='"relu"', extra="", name="toy.toml",
              learning_rate='{ type = "float", low = 1e-4, high = 1.0, log = true }'):
        path = tmp_path / name
        text = TOY_SUITE.format(max_trials=max_trials, timeout=timeout, strategies=strategies,
                                activation=activation, learning_rate=learning_rate)
        path.write_text(textwrap.dedent(text) + extra)
        return path

    return write
