"""Data splits handed from the driver to its workers: loaded once, read back whole and alike, and
a worker that reads them imports no scikit-learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from automl_bench._api.records import DataRef, TaskRef
from automl_bench._files.data import make_splits
from automl_bench._manager import get_plugin_manager
from automl_bench._run import handoff as _handoff
from automl_bench._run.trials import load_splits
from automl_bench.testing import TOY_PLUGIN

TASK = TaskRef("toy-task", "toy", "mlp", 0.25, 0.25, 3)


@pytest.fixture
def handing_over(tmp_path, monkeypatch):
    monkeypatch.setenv(_handoff.ENV, str(tmp_path / "handoff"))
    return tmp_path / "handoff"


def test_splits_handed_over_are_the_splits_the_worker_would_have_made(handing_over):
    host = get_plugin_manager((TOY_PLUGIN,))
    ref = DataRef("toy")
    made = load_splits(host, ref, TASK, {})  # the driver: loads, splits, hands over
    assert [p.name for p in handing_over.iterdir()] == [_handoff.path(ref, TASK).name]
    read = _handoff.read(ref, TASK)
    expected = make_splits(host.dataset("toy").load(), val_fraction=0.25, test_fraction=0.25, seed=3)
    for splits in (made, read):
        for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            assert np.array_equal(getattr(splits, name), getattr(expected, name))
            assert getattr(splits, name).dtype == getattr(expected, name).dtype
        assert (splits.dataset.name, splits.dataset.sha256, splits.n_classes, splits.dataset.vocab_size) == (
            expected.dataset.name, expected.dataset.sha256, expected.n_classes, expected.dataset.vocab_size)
    other = TaskRef("toy-task", "toy", "mlp", 0.25, 0.25, 4)  # another split seed: another file
    assert _handoff.read(ref, other) is None


def test_without_a_handoff_folder_nothing_is_written_and_splits_are_made_here(tmp_path, monkeypatch):
    monkeypatch.delenv(_handoff.ENV, raising=False)
    host = get_plugin_manager((TOY_PLUGIN,))
    assert not _handoff.active() and _handoff.read(DataRef("toy"), TASK) is None
    assert len(load_splits(host, DataRef("toy"), TASK, {}).y_train) > 0


def test_a_worker_that_reads_handed_over_splits_imports_no_scikit_learn(handing_over):
    load_splits(get_plugin_manager((TOY_PLUGIN,)), DataRef("toy"), TASK, {})
    worker = f"""
import json, sys
from automl_bench._api.records import TaskRef, TrialRequest
from automl_bench._run.trials import TrialRunner
runner = TrialRunner("toy", ["{TOY_PLUGIN}"])
task = TaskRef("toy-task", "toy", "mlp", 0.25, 0.25, 3)
outcome = runner.run(TrialRequest(key="k", task=task, params={{"epochs": 2}}, seed=0, max_epochs=None))
print(json.dumps([outcome.status, outcome.error, outcome.dataset["sha256"],
                  sorted(m for m in sys.modules if m.startswith("sklearn"))]))
"""
    def run(env):
        done = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, check=True, env=env)
        return json.loads(done.stdout.strip().splitlines()[-1])

    status, error, sha256, sklearn = run({**os.environ, _handoff.ENV: str(handing_over)})
    assert (status, error, sklearn) == ("ok", "", [])
    assert sha256 == _handoff.read(DataRef("toy"), TASK).dataset.sha256
    alone = run({k: v for k, v in os.environ.items() if k != _handoff.ENV})  # no driver: it splits the data itself
    assert alone[:3] == ["ok", "", sha256] and "sklearn.model_selection" in alone[3]


def test_a_run_hands_over_through_its_results_folder_and_leaves_nothing(bench_host, tmp_path, monkeypatch):
    from automl_bench._run.driver import RunOptions, run_suite
    from automl_bench._suite import load_suite
    from automl_bench.testing import toy_suite

    monkeypatch.delenv(_handoff.ENV, raising=False)
    path = tmp_path / "toy.toml"
    path.write_text(toy_suite())
    results = run_suite(load_suite(path, bench_host), bench_host, RunOptions(out=tmp_path / "out"))
    assert (results.trials["status"] == "ok").all()
    assert not (results.directory / _handoff.FOLDER).exists() and _handoff.ENV not in os.environ
