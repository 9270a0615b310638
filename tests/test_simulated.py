"""The simulated executor: replayed trials on a simulated clock, events in simulated-time order,
checked against a schedule worked out by hand."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import PreflightError
from automl_bench.tables import PARAM, Table, write_table

#: Four configurations of one parameter, with unequal epochs: (epoch seconds, val_accuracy per epoch).
CURVES = {"a": ([1.0, 1.0], [0.5, 0.7]), "b": ([3.0], [0.9]), "c": ([0.5, 0.5, 0.5], [0.4, 0.5, 0.6]),
          "d": ([1.0], [0.8])}

SUITE = """\
name = "sim"
seeds = [0]

[budget]
max_trials = 4
trial_timeout = {timeout}

[matrix]
backends = ["replay"]
strategies = ["grid"]

[strategy.grid]
shuffle = false            # trials 0, 1, 2, 3 are a, b, c, d

[execution]
executor = "simulated"
workers = 3

[[tasks]]
name = "hand"
table = "hand.parquet"
"""


@pytest.fixture
def hand_table(tmp_path):
    rows = []
    for config, (seconds, accuracy) in CURVES.items():
        for epoch, (s, acc) in enumerate(zip(seconds, accuracy), start=1):
            rows.append({PARAM + "c": config, "seed": 0, "trial_seed": 1, "epoch": epoch, "seconds": s, "status": "ok",
                         "val_accuracy": acc, "val_loss": 1 - acc, "final_val_accuracy": accuracy[-1],
                         "test_accuracy": accuracy[-1] - 0.01, "eval_seconds": 0.0})
    return write_table(Table(pd.DataFrame(rows), {"task": "hand", "model": "mlp", "dataset": {"name": "hand"},
                                                  "space": [{"name": "c", "type": "categorical",
                                                             "values": list(CURVES), "log": False}]}),
                       tmp_path / "hand.parquet")


def run(host, tmp_path, timeout=100.0, out="out"):
    path = tmp_path / "sim.toml"
    path.write_text(SUITE.format(timeout=timeout))
    return run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / out))


def recorded_order(results):
    """Trial numbers in the order the driver recorded them (the order their Finished events came)."""
    db = sqlite3.connect(results.directory / "bench.sqlite")
    try:
        return [n for (n,) in db.execute("SELECT number FROM trials ORDER BY rowid")]
    finally:
        db.close()


def test_three_workers_run_trials_on_the_clock_worked_out_by_hand(bench_host, tmp_path, hand_table):
    # t=0: a, b, c start on workers 0, 1, 2. c ends at 1.5: d starts on worker 2, ends at 2.5.
    # a ends at 2.0, b at 3.0. Then the final: the best (b, 0.9) again, on a free worker from 3.0.
    results = run(bench_host, tmp_path)
    trials = results.trials.set_index("trial")
    expected = {0: (0.0, 2.0, 0), 1: (0.0, 3.0, 1), 2: (0.0, 1.5, 2), 3: (1.5, 2.5, 2)}
    for number, (start, end, worker) in expected.items():
        assert (trials.loc[number, "sim_start"], trials.loc[number, "sim_end"]) == (start, end)
        assert trials.loc[number, "node"] == f"simulated worker {worker}"
        assert trials.loc[number, "wall_seconds"] == pytest.approx(end - start)
    assert recorded_order(results) == [2, 0, 3, 1]
    assert list(trials["status"]) == ["ok"] * 4 and trials.loc[1, "val_accuracy"] == 0.9
    assert results.finals["test_accuracy"].tolist() == [pytest.approx(0.89)]


def test_a_timeout_stops_a_trial_on_the_clock_and_ties_go_to_the_earlier_start(bench_host, tmp_path, hand_table):
    # b (3 s) stops at its 2.5 s timeout; d also ends at 2.5, but b started first.
    results = run(bench_host, tmp_path, timeout=2.5)
    trials = results.trials.set_index("trial")
    assert trials.loc[1, "status"] == "timeout" and trials.loc[1, "sim_end"] == 2.5
    assert trials.loc[1, "error"] == "trial exceeded its timeout of 2.5 s and was stopped"
    assert recorded_order(results) == [2, 0, 1, 3]


def test_the_same_suite_gives_identical_trials(bench_host, tmp_path, hand_table):
    columns = ["trial", "params", "status", "value", "sim_start", "sim_end", "node", "train_seconds"]
    assert run(bench_host, tmp_path, out="a").trials[columns].equals(run(bench_host, tmp_path, out="b").trials[columns])


def test_a_backend_that_trains_is_refused_before_any_trial(bench_host, tmp_path):
    path = tmp_path / "sim.toml"
    path.write_text('name = "sim"\n[matrix]\nbackends = ["toy"]\nstrategies = ["random"]\n[execution]\n'
                    'executor = "simulated"\n[[tasks]]\nname = "t"\ndataset = "toy"\n')
    with pytest.raises(PreflightError, match=r"the simulated executor replays tables on a simulated clock; backend "
                                             r"'toy' trains \(run it with the local or ray executor\)"):
        run_suite(load_suite(path, bench_host), bench_host, RunOptions(out=tmp_path / "out"))


def test_the_best_so_far_by_wall_time_follows_the_simulated_clock(bench_host, tmp_path, hand_table):
    from automl_bench.statistics import best_by_wall

    curve = best_by_wall(run(bench_host, tmp_path).trials)
    # trials end c (1.5 s, 0.6), a (2.0, 0.7), d (2.5, 0.8), b (3.0, 0.9)
    assert curve["trial"].tolist() == [2, 0, 3, 1]
    assert curve["wall_so_far"].tolist() == [1.5, 2.0, 2.5, 3.0]
    assert curve["best_so_far"].tolist() == [0.6, 0.7, 0.8, 0.9] and curve["simulated"].all()


def test_the_best_so_far_by_wall_time_of_a_real_run_follows_when_trials_finished():
    from automl_bench.statistics import best_by_wall

    trials = pd.DataFrame({
        "task": "t", "backend": "b", "strategy": "s", "seed": 0, "trial": [0, 1, 2], "status": "ok",
        "value": [0.5, 0.9, 0.7], "wall_seconds": [2.0, 1.5, 3.0],
        "finished": ["2026-12-03T10:00:02.000+00:00", "2026-12-03T10:00:03.500+00:00",
                     "2026-12-03T10:00:06.500+00:00"]})
    curve = best_by_wall(trials)
    assert curve["wall_so_far"].tolist() == [2.0, 3.5, 6.5] and curve["best_so_far"].tolist() == [0.5, 0.9, 0.9]
    assert not curve["simulated"].any()


def test_a_speed_that_is_not_positive_is_refused_before_any_trial(bench_host, tmp_path, hand_table):
    path = tmp_path / "sim.toml"
    path.write_text(SUITE.format(timeout=100.0).replace("workers = 3", "workers = 3\nspeed = -1.0"))
    with pytest.raises(PreflightError, match=r"executor 'simulated' cannot start: \[execution\] speed must be > 0"):
        run_suite(load_suite(path, bench_host), bench_host, RunOptions(out=tmp_path / "out"))
