from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _toy_plugin_importable(monkeypatch):
    """Spawned workers and `bench` subprocesses find tests/toy_plugin.py by import path."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("AUTOML_BENCH_PLUGINS", raising=False)
    monkeypatch.delenv("AUTOML_BENCH_DISABLE_PLUGINS", raising=False)
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))


@pytest.fixture
def host():
    from automl_bench.manager import get_plugin_manager

    return get_plugin_manager(["toy_plugin"])


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
