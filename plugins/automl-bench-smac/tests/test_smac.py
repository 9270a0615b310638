"""automl-bench-smac: the strategy contract for each facade, budgets chosen by SMAC and honoured
by the toy backend, and the plugin registered as a user installs it."""

from __future__ import annotations

import pytest
from automl_bench_smac import SmacStrategy, configuration_space

from automl_bench import Proposal
from automl_bench.space import CategoricalParam, Condition, FixedParam, FloatParam, IntParam, SearchSpace
from automl_bench.testing import StrategyContract, toy_suite


class TestSmac(StrategyContract):
    def make_strategy(self, space, seed):
        return SmacStrategy(space=space, seed=seed, facade="smac", initial_configurations=4)


#: The contract's space with 9 epochs, the full budget: Hyperband's rungs at 1, 3 and 9 with eta 3.
NINE_EPOCHS = SearchSpace(tuple(FixedParam("epochs", 9) if p.name == "epochs" else p for p in StrategyContract.space))


class TestSmacMultiFidelity(StrategyContract):
    trials = 14
    space = NINE_EPOCHS

    def make_strategy(self, space, seed):
        return SmacStrategy(space=space, seed=seed, facade="smac-mf", initial_configurations=4)


class TestSmacHyperband(StrategyContract):
    space = NINE_EPOCHS

    def make_strategy(self, space, seed):
        return SmacStrategy(space=space, seed=seed, facade="smac-hyperband")


def test_max_epochs_lowers_the_full_budget_and_never_raises_it():
    low = SmacStrategy(space=NINE_EPOCHS, seed=0, facade="smac-hyperband", max_epochs=3)
    high = SmacStrategy(space=StrategyContract.space, seed=0, facade="smac-hyperband", max_epochs=9)  # epochs = 3
    for strategy in (low, high):
        budgets = set()
        for n in range(20):
            proposal = strategy.ask(n)
            budgets.add(proposal.epochs)
            strategy.tell(StrategyContract().outcome(n, proposal.params, budget=proposal.epochs))
        assert max(budgets) == 3, budgets


def test_the_multi_fidelity_facade_allots_hyperbands_budgets():
    contract = TestSmacMultiFidelity()
    strategy = contract.make_strategy(contract.space, 0)
    asked = [strategy.ask(n) for n in range(9)]
    assert all(isinstance(a, Proposal) for a in asked)
    budgets = []
    for n in range(40):
        proposal = strategy.ask(100 + n)
        budgets.append(proposal.epochs)
        strategy.tell(contract.outcome(100 + n, proposal.params, budget=proposal.epochs))
    # eta 3 between 1 and 9 epochs: successive halving's rungs 1, 3 and 9
    assert set(budgets) == {1, 3, 9}, budgets
    assert budgets.count(1) > budgets.count(3) > 0


def test_the_model_facade_proposes_bare_configurations_that_improve():
    contract = TestSmac()
    strategy = contract.make_strategy(contract.space, 0)
    proposals = contract.drive(strategy, range(30))
    assert not any(isinstance(p, Proposal) for p in proposals)
    first, last = proposals[:10], proposals[20:]
    assert max(map(contract.objective, last)) >= max(map(contract.objective, first))


def test_the_single_threaded_forest_proposes_what_smacs_own_does(monkeypatch):
    """The forest fitted in one thread (faster here) is the forest SMAC builds with its thread
    pool: the same seeded run proposes the same configurations either way."""
    import automl_bench_smac

    contract = TestSmac()
    ours = contract.drive(contract.make_strategy(contract.space, 3), range(16))
    strategy = contract.make_strategy(contract.space, 3)
    assert strategy.smac._model._rf_opts["n_jobs"] == 1
    monkeypatch.setattr(automl_bench_smac, "_single_threaded", lambda model: model)
    pooled = contract.make_strategy(contract.space, 3)
    assert pooled.smac._model._rf_opts["n_jobs"] == -1
    assert contract.drive(pooled, range(16)) == ours


def test_conditions_and_steps_translate_exactly():
    space = SearchSpace((
        IntParam("layers", 1, 4),
        FloatParam("rate", 0.0, 1.0),
        IntParam("batch", 16, 64, step=16),
        CategoricalParam("units", ((8, 8), (16, 8))),
        FloatParam("wide", 0.0, 1.0, when=Condition("layers", minimum=3)),
        FloatParam("soft", 0.0, 1.0, when=Condition("rate", maximum=0.5)),
        FixedParam("epochs", 3),
    ))
    cs, decode = configuration_space(space, 0)
    assert "epochs" not in cs
    strategy = SmacStrategy(space=space, seed=0, facade="smac", initial_configurations=20)
    for n in range(20):
        config = strategy.ask(n)
        assert space.contains(config), config
        assert config["batch"] in (16, 32, 48, 64) and config["units"] in ((8, 8), (16, 8))


def test_a_multi_fidelity_strategy_needs_a_fixed_number_of_epochs(bench_host):
    space = SearchSpace((FloatParam("learning_rate", 1e-3, 1.0, log=True), IntParam("epochs", 1, 5)))
    with pytest.raises(ValueError, match="one whole number"):
        SmacStrategy(space=space, seed=0, facade="smac-mf")
    for name in ("smac-mf", "smac-hyperband"):  # said when a suite is validated
        assert any("one whole number" in p for p in bench_host.strategy(name).check_space(space))
    assert bench_host.strategy("smac").check_space(space) == []


def test_the_plugin_is_registered_and_runs_a_suite(bench_host, bench_run):
    assert {"smac", "smac-mf", "smac-hyperband"} <= set(bench_host.strategies())
    results = bench_run(toy_suite(strategies=["smac", "smac-mf"], max_trials=14, epochs=9))
    trials = results.trials
    assert len(trials) == 28 and (trials["status"] == "ok").all()
    mf = trials[trials["strategy"] == "smac-mf"]
    # SMAC chose each trial's epochs; the toy backend trained exactly that many, and the store says so
    assert set(mf["budget"]) == {1, 3, 9} and (mf["epochs"] == mf["budget"]).all()
    model = trials[trials["strategy"] == "smac"]
    assert model["budget"].isna().all() and (model["epochs"] == 9).all()


def test_a_killed_multi_fidelity_run_resumes_with_every_trial_once(tmp_path):
    """SIGKILL to `bench run` mid-way; the rerun finishes with each trial recorded once, and with
    the budgets an uninterrupted run gives (SMAC, seeded, is told the recorded trials again)."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    import pandas as pd

    def bench(out, **kwargs):
        return subprocess.Popen([sys.executable, "-m", "automl_bench", "-p", "automl_bench.testing.toy", "run",
                                 str(suite), "--out", str(out), "--quiet"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={**os.environ, "TOY_EPOCH_SECONDS": "0.02"})

    def recorded(db):
        try:
            with sqlite3.connect(db) as conn:
                return conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    suite = tmp_path / "mf.toml"
    suite.write_text(toy_suite(strategies=["smac-mf"], max_trials=16, epochs=9))
    proc = bench(tmp_path / "killed")
    db = tmp_path / "killed" / "toy" / "bench.sqlite"
    deadline = time.monotonic() + 120
    while recorded(db) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stdout.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 6 <= recorded(db) < 16
    rerun = bench(tmp_path / "killed")
    output, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, output
    straight = bench(tmp_path / "straight")
    output, _ = straight.communicate(timeout=180)
    assert straight.returncode == 0, output

    killed = pd.read_csv(tmp_path / "killed" / "toy" / "trials.csv").sort_values("trial")
    whole = pd.read_csv(tmp_path / "straight" / "toy" / "trials.csv").sort_values("trial")
    assert list(killed["trial"]) == list(range(16)) and set(killed["run_id"]) == {1, 2}
    assert list(killed["budget"]) == list(whole["budget"]) and list(killed["params"]) == list(whole["params"])


@pytest.mark.parametrize("facade", ["smac", "smac-mf"])
def test_the_same_seed_proposes_the_same_in_any_process(facade):
    """SMAC orders its local search's start points by Python's string hashing, which differs per
    process; the plugin fixes that order, so a resumed run (a new process) proposes as before."""
    import subprocess
    import sys

    script = f"""
from automl_bench.testing import StrategyContract
from automl_bench_smac import SmacStrategy
contract = StrategyContract()
strategy = SmacStrategy(space=contract.space, seed=3, facade={facade!r}, initial_configurations=4)
print(contract.drive(strategy, range(24)))
"""
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2)]
    assert runs[0] == runs[1]


def test_each_strategy_replays_a_shipped_table_and_the_multi_fidelity_ones_choose_budgets(bench_run):
    """On a table automl-bench ships (tables/, beside this package in its repository), every
    trial completes, and the multi-fidelity strategies' trials replay different budgets."""
    from pathlib import Path

    table = Path(__file__).resolve().parents[3] / "tables" / "mnist5k-mlp-torch.parquet"
    if not table.is_file():
        pytest.skip(f"{table} is not here: this test runs in automl-bench's repository")
    suite = f"""
name = "smac-replay"
seeds = [0]
[budget]
max_trials = 20
[matrix]
backends = ["replay"]
strategies = ["smac", "smac-mf", "smac-hyperband"]
[strategy.smac-mf]
initial_configurations = 5
[[tasks]]
name = "mlp"
table = "{table}"
"""
    trials = bench_run(suite).trials
    assert len(trials) == 60 and (trials["status"] == "ok").all()
    for strategy in ("smac-mf", "smac-hyperband"):
        mine = trials[trials["strategy"] == strategy]
        assert mine["budget"].nunique() >= 2 and (mine["epochs"] == mine["budget"]).all()
    assert trials.loc[trials["strategy"] == "smac", "budget"].isna().all()


def test_the_optimizer_study_validates():
    """suites/optimizer-study.toml (in automl-bench's repository) names these strategies: it
    validates with the package installed, on every table it replays."""
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    study = Path(__file__).resolve().parents[3] / "suites" / "optimizer-study.toml"
    if not study.is_file():
        pytest.skip(f"{study} is not here: this test runs in automl-bench's repository")
    done = subprocess.run([sys.executable, "-m", "automl_bench", "validate", str(study)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    suite = tomllib.loads(study.read_text())
    assert len(suite["seeds"]) >= 30 and suite["budget"]["max_trials"] >= 100
    assert {"gp", "smac", "smac-mf", "smac-hyperband"} <= set(suite["matrix"]["strategies"])
