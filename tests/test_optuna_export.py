"""`bench export --format optuna`: every cell an optuna study that `optuna.load_study` opens, with
every trial (complete, pruned, failed), its parameters and distributions, per-epoch values and
automl-bench's columns; the same bytes when written twice; what an interrupted run holds."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import automl_bench as ab
from automl_bench._cli import cli
from automl_bench.testing import TOY_PLUGIN, toy_suite

optuna = pytest.importorskip("optuna")

#: Four epochs, a pruner, and an activation on which the toy backend raises (tanh): every state.
EXTRA = "\n[pruner.median]\nn_startup_trials = 2\nn_warmup_steps = 0\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optuna")
    text = toy_suite(strategies=("random+median",), seeds=(0, 1), max_trials=12, epochs=4).replace(
        "epochs = 4", 'epochs = 4\nactivation = { type = "categorical", choices = ["relu", "tanh"] }') + EXTRA
    (tmp / "suite.toml").write_text(text)
    return ab.run(tmp / "suite.toml", out=tmp / "out", plugins=[TOY_PLUGIN], progress=False, report=False)


def export(directory, output):
    result = CliRunner().invoke(cli, ["-p", TOY_PLUGIN, "export", str(directory), "--format", "optuna", "-o",
                                      str(output)])
    assert result.exit_code == 0, result.output
    return result


def test_every_cell_is_a_study_with_every_trial_state_and_value(run_dir, tmp_path):
    db = tmp_path / "runs.db"
    assert "2 studies, 24 trials; view them with optuna-dashboard sqlite:///" in export(run_dir.directory, db).output
    storage = f"sqlite:///{db}"
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert names == ["toy/toy-task/toy/random+median/seed=0", "toy/toy-task/toy/random+median/seed=1"]
    trials = run_dir.trials
    states = {"ok": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
              "failed": optuna.trial.TrialState.FAIL}
    assert set(trials["status"]) == set(states)  # the suite makes every state
    epochs = run_dir.raw.epochs
    for seed in (0, 1):
        study = optuna.load_study(study_name=names[seed], storage=storage)
        assert study.direction == optuna.study.StudyDirection.MAXIMIZE and study.metric_names == ["val_accuracy"]
        assert study.user_attrs == {"task": "toy-task", "backend": "toy", "strategy": "random+median", "seed": seed,
                                    "suite": "toy", "metric": "accuracy"}
        rows = trials[trials["seed"] == seed].set_index("trial")
        assert [t.number for t in study.trials] == list(rows.index)
        for t in study.trials:
            row = rows.loc[t.number]
            assert t.state == states[row["status"]] and t.user_attrs["status"] == row["status"]
            assert t.params == json.loads(run_dir.raw.trials.set_index(["seed", "trial"]).loc[(seed, t.number),
                                                                                               "params"])
            assert t.value == (row["value"] if row["status"] == "ok" else None)
            curve = epochs[(epochs["seed"] == seed) & (epochs["trial"] == t.number)]
            assert t.intermediate_values == dict(zip(curve["epoch"], curve["val_accuracy"]))
            assert t.distributions["learning_rate"] == optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)
            assert t.distributions["activation"] == optuna.distributions.CategoricalDistribution(["relu", "tanh"])
            assert t.datetime_complete >= t.datetime_start
        assert study.best_trial.value == rows.loc[rows["status"] == "ok", "value"].max()


def test_exporting_twice_writes_the_same_bytes(run_dir, tmp_path):
    export(run_dir.directory, tmp_path / "a.db")
    export(run_dir.directory, tmp_path / "b.db")
    export(run_dir.directory, tmp_path / "b.db")  # over an earlier file: replaced, not added to
    assert (tmp_path / "a.db").read_bytes() == (tmp_path / "b.db").read_bytes()
    assert not list(tmp_path.glob(".*.partial"))


def test_an_interrupted_run_exports_what_it_holds(run_dir, tmp_path):
    from devtools.fuzzing import killed_copy

    killed = killed_copy(run_dir.directory, tmp_path / "killed" / "toy", keep=3)
    export(killed, tmp_path / "k.db")
    summaries = optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'k.db'}")
    assert sum(s.n_trials for s in summaries) == len(run_dir.trials)  # what the killed run's -wal held too


def test_bad_exports_are_clean_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(tmp_path), "--format", "optuna"])
    assert result.exit_code == 1 and "--format optuna writes a SQLite file: name it with -o FILE.db" in result.output
    result = runner.invoke(cli, ["export", str(tmp_path), "--format", "optuna", "-o", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "holds no results store" in result.output
    result = runner.invoke(cli, ["export", str(tmp_path), "--format", "yaml"])
    assert result.exit_code == 1 and "'yaml' is not one of 'json', 'optuna'" in result.output


def test_a_run_still_going_exports_what_it_has(tmp_path):
    """A grid whose first configuration finishes and whose second hangs (the toy backend hangs on
    elu): exported while the run waits on it, the file holds the finished trial."""
    import subprocess
    import sys
    import time

    text = toy_suite(strategies=("grid",), max_trials=2).replace(
        "epochs = 2", 'epochs = 2\nactivation = { type = "categorical", choices = ["relu", "elu"] }')
    text = text.replace('learning_rate = { type = "float", low = 1e-4, high = 1.0, log = true }', "learning_rate = 0.1")
    text += "\n[strategy.grid]\nshuffle = false\n"  # relu, then elu
    (tmp_path / "suite.toml").write_text(text)
    run = subprocess.Popen([sys.executable, "-m", "automl_bench", "-p", TOY_PLUGIN, "run", str(tmp_path / "suite.toml"),
                            "--out", str(tmp_path / "out"), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        store = tmp_path / "out" / "toy" / "bench.sqlite"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the first trial is in the store: the second hangs from now on
            if store.exists() and ab.load(store.parent).trials.shape[0] == 1:
                break
            assert run.poll() is None, run.communicate()
            time.sleep(0.2)
        export(store.parent, tmp_path / "live.db")
        assert run.poll() is None  # still going
        (summary,) = optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'live.db'}")
        study = optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{tmp_path / 'live.db'}")
        assert [(t.params["activation"], t.state) for t in study.trials] == [("relu", optuna.trial.TrialState.COMPLETE)]
    finally:
        run.kill()
        run.communicate()

