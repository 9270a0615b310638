"""The Python API (`automl_bench.runs`): `run` a suite from a path or a dict, `load` it back
unchanged, the tables a notebook reads, and every bad input as a `BenchError`."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

import automl_bench as ab
from automl_bench.errors import OptionError, ResultsError, RunError, SuiteError
from automl_bench.testing import TOY_PLUGIN, toy_suite


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(toy_suite(strategies=("random", "grid"), seeds=(0, 1), max_trials=3))
    return path


@pytest.fixture
def results(suite, tmp_path):
    return ab.run(suite, out=tmp_path / "out", plugins=[TOY_PLUGIN], progress=False)


def test_run_returns_tables_with_a_column_per_parameter(results, tmp_path):
    trials = results.trials
    assert trials.shape[0] == 12 and "params" not in trials
    configs = [c for c in trials.columns if c.startswith("config/")]
    assert "config/learning_rate" in configs and trials["config/learning_rate"].between(1e-4, 1.0).all()
    assert results.raw.trials["params"].str.startswith("{").all()  # trials.csv's JSON, for reporters
    assert set(results.leaderboard["strategy"]) == {"random", "grid"}
    assert results.directory == tmp_path / "out" / "toy"
    assert results.report_path == results.directory / "report" / "index.html" and results.report_path.is_file()


def test_curves_are_in_long_form(results):
    curves = results.curves()
    assert list(curves.columns) == ["task", "backend", "strategy", "seed", "trial", "epoch", "metric", "value"]
    assert set(curves["metric"]) >= {"val_accuracy", "val_loss"}
    one = results.curves(["val_accuracy"])
    assert set(one["metric"]) == {"val_accuracy"} and len(one) == 12 * 2  # 12 trials of 2 epochs
    wide = results.raw.epochs.set_index(["task", "backend", "strategy", "seed", "trial", "epoch"])["val_accuracy"]
    assert one.set_index(["task", "backend", "strategy", "seed", "trial", "epoch"])["value"].sort_index().equals(
        wide.sort_index().rename("value"))
    with pytest.raises(OptionError, match="no epoch recorded val_nope; recorded: "):
        results.curves(["val_nope"])


def test_load_reads_the_same_run_back_and_a_notebook_shows_its_leaderboard(results):
    again = ab.load(results.directory)
    assert again.trials.equals(results.trials) and again.leaderboard.equals(results.leaderboard)
    html = again._repr_html_()
    assert html.startswith("<p><b>toy</b>: 12 trials (12 ok) in <code>") and "<table" in html
    assert repr(again) == f"<Results 'toy': 12 trials in {results.directory}>"


def test_load_reads_an_interrupted_run_without_changing_it(results, tmp_path, suite):
    """A killed run's store, its -wal holding trials: read twice the same, and the run then resumes
    with what it held, repeating none."""
    from devtools.fuzzing import killed_copy

    killed = killed_copy(results.directory, tmp_path / "killed" / "toy", keep=1)
    first = ab.load(killed)
    assert len(first.trials) == 12 and (killed / ".bench.recorded").exists()
    assert ab.load(killed).trials.equals(first.trials)
    resumed = ab.run(suite, out=tmp_path / "killed", plugins=[TOY_PLUGIN], progress=False, report=False)
    assert resumed.trials[["task", "strategy", "seed", "trial", "value"]].equals(
        results.trials[["task", "strategy", "seed", "trial", "value"]])


def test_a_suite_can_be_a_dict(tmp_path):
    import numpy as np

    data = tomllib.loads(toy_suite(name="from-dict", max_trials=2))
    ran = ab.run(data, out=tmp_path, plugins=[TOY_PLUGIN], progress=False, report=False, seeds=np.arange(1))
    assert ran.directory == tmp_path / "from-dict" and len(ran.trials) == 2
    with pytest.raises(SuiteError, match=r"<suite from-dict>: 1 problem:\n.*max_trails: unknown key"):
        ab.run({**data, "budget": {"max_trails": 2}}, out=tmp_path, plugins=[TOY_PLUGIN], progress=False)


def test_a_run_that_bench_run_ends_with_status_2_raises_run_error_with_its_results(tmp_path):
    path = tmp_path / "failing.toml"
    path.write_text(toy_suite(max_trials=2).replace("epochs = 2", 'epochs = 2\nactivation = "tanh"'))  # it raises
    with pytest.raises(RunError) as info:
        ab.run(path, out=tmp_path, plugins=[TOY_PLUGIN], progress=False, report=False)
    assert info.value.exit_code == 2
    assert info.value.problems == ["toy-task/toy/random/seed=0: every trial failed"]
    assert set(info.value.results.trials["status"]) == {"failed"}


@pytest.mark.parametrize("call, error, message", [
    (lambda p: ab.run(p / "missing.toml"), SuiteError, "missing.toml: 1 problem:\n  cannot read: No such file"),
    (lambda p: ab.load(p), ResultsError, "holds no results store (bench.sqlite): it is not the directory of a"),
    (lambda p: ab.load(p / "nowhere"), ResultsError, "is not a directory; give a results directory"),
    (lambda p: ab.run("suite.toml", max_trails=2), OptionError,
     "unknown option 'max_trails' of automl_bench.run; did you mean 'max_trials'? options: out, workers"),
    (lambda p: ab.run("suite.toml", max_trials=0), OptionError, "option max_trials=0: expected a whole number >= 1"),
    (lambda p: ab.run("suite.toml", seeds="0,1"), OptionError, "option seeds='0,1': expected a list of whole"),
    (lambda p: ab.run("suite.toml", quiet=True), OptionError, "unknown option 'quiet'"),
    (lambda p: ab.run(42), OptionError, "suite: expected a suite file's path or a dict, not int"),
    (lambda p: ab.run({"name": "x", "seeds": None}), SuiteError, "cannot be written as a suite (TOML)"),
])
def test_bad_inputs_are_bench_errors(tmp_path, call, error, message):
    with pytest.raises(error) as info:
        call(tmp_path)
    assert message in str(info.value)
    assert isinstance(info.value, ab.BenchError)


def test_the_trials_table_keeps_conditional_parameters_apart(tmp_path):
    """A parameter a trial did not use is empty in its column, not missing from the table."""
    text = toy_suite(max_trials=8).replace("[space]", '[space]\nlayers = { type = "int", low = 1, high = 2 }\n'
                                           'units_1 = { type = "int", low = 8, high = 16, when = { layers = { min = 2 } } }')
    path = tmp_path / "conditional.toml"
    path.write_text(text)
    trials = ab.run(path, out=tmp_path, plugins=[TOY_PLUGIN], progress=False, report=False).trials
    used = trials["config/layers"] == 2
    assert used.any() and not used.all()
    assert trials.loc[used, "config/units_1"].notna().all() and trials.loc[~used, "config/units_1"].isna().all()
    assert isinstance(trials, pd.DataFrame)
