"""The template's tests: the contract every strategy passes, and a suite run end to end."""

from __future__ import annotations

from automl_bench_template import LocalSearch

from automl_bench.testing import StrategyContract, toy_suite


class TestLocalSearch(StrategyContract):
    def make_strategy(self, space, seed):
        return LocalSearch(space=space, seed=seed, n_startup_trials=4)


def test_after_start_up_proposals_stay_near_the_best():
    contract = TestLocalSearch()
    proposals = contract.drive(contract.make_strategy(contract.space, 0), range(30))
    best = max(proposals[:4], key=contract.objective)
    shared = [sum(p.get(k) == v for k, v in best.items()) for p in proposals[4:8]]
    assert min(shared) >= 2, shared  # each keeps some of the incumbent's values


def test_the_plugin_is_registered_and_runs_a_suite(bench_host, bench_run):
    assert "local-search" in bench_host.strategies()
    results = bench_run(toy_suite(strategies=["local-search", "random"], max_trials=8))
    assert len(results.trials) == 16 and (results.trials["status"] == "ok").all()
    assert set(results.leaderboard["strategy"]) == {"local-search", "random"}
