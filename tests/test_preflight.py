"""A run that cannot work stops before it starts; failures of the environment are not results;
exit codes a CI job can trust; capped runs keep to their own directory (damaged stores: test_store.py)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import textwrap

import pytest
from click.testing import CliRunner

from automl_bench._cli import cli
from automl_bench._manager import get_plugin_manager
from automl_bench._results.collect import exit_status
from automl_bench._run.driver import RunOptions, results_name, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import PreflightError, ResultsError
from automl_bench.testing import TOY_PLUGIN

#: A dataset that loads only once a file exists ($FLAKY_DATA_FILE), and, with $FLAKY_DATA_IN_WORKERS
#: unset, not in worker processes either: the environment failing, not a configuration.
FLAKY_PLUGIN = '''
import multiprocessing, os
from pathlib import Path
from automl_bench import Backend, BackendSpec, DataError, DatasetSpec, BackendUnavailableError, hookimpl
from automl_bench.testing.toy import load_toy


def load():
    if not Path(os.environ["FLAKY_DATA_FILE"]).exists():
        raise DataError(f"dataset 'flaky': cannot find {os.environ['FLAKY_DATA_FILE']}; put it there")
    in_worker = multiprocessing.current_process().name != "MainProcess"
    if in_worker and not os.environ.get("FLAKY_DATA_IN_WORKERS"):
        raise DataError("dataset 'flaky': the workers' disk lost it")
    return load_toy()


class Missing(Backend):
    def setup(self, *, threads, device):
        raise BackendUnavailableError("needs jax: pip install jax")
    def fit(self, **kw): pass
    def evaluate(self, model, x, y): pass
    def environment(self): return {"device": "cpu"}


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("flaky", "loads when its file is there", load))


@hookimpl
def bench_backends(register):
    register(BackendSpec("jaxish", "needs jax", Missing))
'''


@pytest.fixture
def flaky(tmp_path, monkeypatch):
    """A host with the toy and flaky plugins; returns (host, data file)."""
    (tmp_path / "flaky_plugin.py").write_text(textwrap.dedent(FLAKY_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ['PYTHONPATH']}")
    data = tmp_path / "flaky.data"
    monkeypatch.setenv("FLAKY_DATA_FILE", str(data))
    monkeypatch.setenv("FLAKY_DATA_IN_WORKERS", "1")
    return get_plugin_manager([TOY_PLUGIN, "flaky_plugin"]), data


def suite_with(write_suite, tmp_path, *, backends='"toy"', dataset="toy", max_trials=2, **kw):
    text = write_suite(max_trials=max_trials, **kw).read_text()
    text = text.replace('backends = ["toy"]', f"backends = [{backends}]").replace('dataset = "toy"',
                                                                                   f'dataset = "{dataset}"')
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def run(path, host, out, **options):
    return run_suite(load_suite(path, host), host, RunOptions(out=out, **options))


def recorded(out, table="trials"):
    """Rows in a table of the toy suite's store; 0 when no store was even created."""
    path = out / "toy" / "bench.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


# --------------------------------------------------------------------------- preflight


def test_missing_data_stops_the_run_before_any_trial_then_runs_every_trial_once_there(flaky, write_suite, tmp_path):
    host, data = flaky
    path = suite_with(write_suite, tmp_path, dataset="flaky", max_trials=3)
    with pytest.raises(PreflightError) as error:
        run(path, host, tmp_path / "out")
    assert error.value.exit_code == 2
    assert str(error.value).startswith(f"1 cell cannot run: dataset 'flaky': cannot find {data}; put it there\n"
                                       "  (toy-task/toy/random/seed=0)\nNothing was recorded for it")
    assert not (tmp_path / "out" / "toy" / "bench.sqlite").exists()  # nothing written at all
    data.write_text("here now")
    results = run(path, host, tmp_path / "out")
    assert list(results.trials["status"]) == ["ok"] * 3 and results.not_run == {}


def test_fresh_deletes_nothing_when_the_run_cannot_start(flaky, write_suite, tmp_path):
    host, data = flaky
    data.write_text("here")
    path = suite_with(write_suite, tmp_path, dataset="flaky")
    run(path, host, tmp_path / "out")
    data.unlink()
    with pytest.raises(PreflightError):
        run(path, host, tmp_path / "out", fresh=True)
    assert recorded(tmp_path / "out") == 2  # the earlier results are still there


def test_a_backend_that_cannot_start_blocks_only_its_cells_with_keep_going(flaky, write_suite, tmp_path):
    host, _ = flaky
    path = suite_with(write_suite, tmp_path, backends='"jaxish", "toy"')
    with pytest.raises(PreflightError, match="backend 'jaxish' could not start: BackendUnavailableError: needs jax"):
        run(path, host, tmp_path / "out")
    results = run(path, host, tmp_path / "out", keep_going=True)
    assert set(results.trials["backend"]) == {"toy"} and (results.trials["status"] == "ok").all()
    assert list(results.not_run) == ["toy-task/jaxish/random/seed=0"]
    status, problems = exit_status(results)
    assert status == 2 and problems[0].startswith("toy-task/jaxish/random/seed=0: not run: backend 'jaxish'")


def test_a_failure_of_the_environment_mid_run_is_not_recorded_and_is_retried(flaky, write_suite, tmp_path,
                                                                               monkeypatch):
    from automl_bench._run import handoff as _handoff
    host, data = flaky
    data.write_text("present for the main process")
    monkeypatch.delenv("FLAKY_DATA_IN_WORKERS")  # ... but not for the workers
    monkeypatch.setattr(_handoff, "write", lambda *a: None)  # nor handed to them: they load it themselves
    path = suite_with(write_suite, tmp_path, dataset="flaky", max_trials=3)
    results = run(path, host, tmp_path / "out")
    assert results.trials.empty and recorded(tmp_path / "out") == 0
    assert results.not_run == {"toy-task/toy/random/seed=0": "DataError: dataset 'flaky': the workers' disk lost it"
                               " (at flaky_plugin.py:13 in load)"}
    assert exit_status(results)[0] == 2
    monkeypatch.setenv("FLAKY_DATA_IN_WORKERS", "1")
    results = run(path, host, tmp_path / "out")
    assert list(results.trials["trial"]) == [0, 1, 2] and (results.trials["status"] == "ok").all()


@pytest.mark.parametrize("extra, expected", [
    ("classes = [0, 5]", "dataset 'toy' has classes 0..1; no class 5"),
    ("shots = 50", "50 training examples per class asked, but class"),
])
def test_classes_and_shots_the_data_cannot_give_are_found_before_any_trial(host, write_suite, tmp_path, extra,
                                                                           expected):
    """A dataset that does not declare its class counts (`DatasetSpec.class_counts`; the toy one
    does, and validation then finds these: tests/test_suite.py) is found out by preflight."""
    from dataclasses import replace

    specs = host._registry("dataset").specs
    specs["toy"] = replace(specs["toy"], class_counts=None)
    path = write_suite().read_text().replace('dataset = "toy"', f'dataset = "toy"\n{extra}')
    (tmp_path / "s.toml").write_text(path)
    with pytest.raises(PreflightError, match=expected):
        run(tmp_path / "s.toml", host, tmp_path / "out")
    assert recorded(tmp_path / "out") == 0


def test_an_unwritable_results_directory_is_a_preflight_error(host, write_suite, tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file-in-the-way"  # root writes anywhere: make the path unusable instead
        target.write_text("")
        out = target / "sub"
    else:
        out = tmp_path / "ro"
        out.mkdir(mode=0o500)
    with pytest.raises(PreflightError, match=r"cannot write results to .*; choose a writable directory with --out"):
        run(write_suite(), host, out)


# --------------------------------------------------------------------------- retry failed


def test_retry_failed_reruns_failed_trials_and_keeps_their_rows_as_superseded(host, write_suite, tmp_path):
    suite = write_suite(max_trials=4, activation='{ type = "categorical", choices = ["relu", "tanh"] }')
    first = run(suite, host, tmp_path / "out")
    failed = sorted(first.trials.loc[first.trials["status"] == "failed", "trial"])
    assert failed and len(failed) < 4
    resumed = run(suite, host, tmp_path / "out")
    assert list(resumed.trials["run_id"]) == list(first.trials["run_id"])  # a plain rerun repeats nothing
    retried = run(suite, host, tmp_path / "out", retry_failed=True)
    again = retried.trials.set_index("trial")
    assert sorted(again.index) == [0, 1, 2, 3]
    assert all(again.loc[n, "run_id"] == 3 for n in failed)  # run 3 ran them again (the toy fails them again)
    assert all(again.loc[n, "run_id"] == 1 for n in again.index if n not in failed)
    assert recorded(tmp_path / "out", "superseded_trials") == len(failed)
    assert recorded(tmp_path / "out", "superseded_finals") == 1  # the cell's test score was redone too
    assert len(retried.finals) == 1


# --------------------------------------------------------------------------- exit codes


def invoke(*args):
    return CliRunner().invoke(cli, ["-p", TOY_PLUGIN, *map(str, args)])


def test_exit_codes(write_suite, tmp_path, flaky):
    out = tmp_path / "out"
    some_fail = write_suite(max_trials=4, activation='{ type = "categorical", choices = ["relu", "tanh"] }',
                            name="some.toml")
    assert invoke("run", some_fail, "--out", out, "--quiet").exit_code == 0  # failed configurations are results
    strict = invoke("run", some_fail, "--out", out, "--quiet", "--strict")
    assert strict.exit_code == 2 and "--strict: " in strict.output and "trials failed or timed out" in strict.output
    all_fail = write_suite(max_trials=2, activation='"tanh"', name="all.toml")
    result = invoke("run", all_fail, "--out", tmp_path / "out2", "--quiet")
    assert result.exit_code == 2 and "toy-task/toy/random/seed=0: every trial failed" in result.output
    assert invoke("run", tmp_path / "nonexistent.toml").exit_code == 1
    assert invoke("run", some_fail, "--workers", "0").exit_code == 1  # a usage error
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 3\n")
    assert invoke("run", bad).exit_code == 1
    flaky_suite = suite_with(write_suite, tmp_path, dataset="flaky")
    preflight = CliRunner().invoke(cli, ["-p", TOY_PLUGIN, "-p", "flaky_plugin", "run", "--quiet", "--out",
                                         str(tmp_path), str(flaky_suite)])
    assert preflight.exit_code == 2 and "1 cell cannot run: dataset 'flaky'" in preflight.output


def test_run_help_states_the_exit_codes():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert "Exit status:" in result.output and "130  interrupted (Ctrl-C, SIGTERM or SIGHUP)" in result.output


# --------------------------------------------------------------------------- capped runs


def test_an_epoch_capped_run_gets_its_own_directory_and_a_trial_capped_one_extends_the_suite(host, write_suite,
                                                                                           tmp_path):
    suite = write_suite(max_trials=4)
    capped = run(suite, host, tmp_path, max_trials=2, max_epochs=1)
    assert capped.directory == tmp_path / "toy+epochs1" and set(capped.trials["epochs"]) == {1}
    foreign_seed = run(suite, host, tmp_path, max_trials=1, seeds=[7])
    assert foreign_seed.directory == tmp_path / "toy+seeds7"
    many = list(range(100, 140))  # their list would outrun a folder name's 255 bytes at a few hundred seeds
    assert results_name("toy", 2, 2, [0], many) == "toy+seeds40-" + hashlib.sha256(
        "_".join(map(str, many)).encode()).hexdigest()[:12]
    prefix = run(suite, host, tmp_path, max_trials=2, seeds=[0])
    full = run(suite, host, tmp_path)
    assert prefix.directory == full.directory == tmp_path / "toy"
    assert list(full.trials["trial"]) == [0, 1, 2, 3] and set(full.trials["epochs"]) == {2}


def test_a_directory_of_other_caps_is_refused(host, write_suite, tmp_path):
    suite = write_suite(max_trials=2)
    run(suite, host, tmp_path)
    from automl_bench._results.store import Store

    store = Store(tmp_path / "toy" / "bench.sqlite")
    store.set_meta("max_epochs", "1")  # as if written with another cap
    store.close()
    with pytest.raises(ResultsError, match="holds trials capped at max_epochs=1, this run max_epochs=null"):
        run(suite, host, tmp_path)
