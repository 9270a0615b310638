"""Multi-objective suites: `objectives`, the strategies that search them, Pareto fronts and
hypervolume (automl_bench.pareto), and the report's fronts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl_bench import pareto as _pareto
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import SuiteError

SUITE = """\
name = "mo"
seeds = [0, 1, 2]
objectives = {objectives}

[budget]
max_trials = {trials}

[matrix]
backends = ["toy"]
strategies = [{strategies}]

[space]
learning_rate = {{ type = "float", low = 1e-4, high = 1.0, log = true }}
units = {{ type = "int", low = 2, high = 64, log = true }}
epochs = 1
{extra}
[[tasks]]
name = "toy-task"
dataset = "toy"
"""


def write(tmp_path, objectives='["val_accuracy", "params_total"]', strategies='"random", "nsga2", "motpe"',
          trials=12, extra=""):
    path = tmp_path / "mo.toml"
    path.write_text(SUITE.format(objectives=objectives, strategies=strategies, trials=trials, extra=extra))
    return path


def problems(path, host) -> list[str]:
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    return info.value.problems


# --------------------------------------------------------------------------- bad input


def test_an_objective_no_backend_reports_is_named_with_those_that_exist(tmp_path, host):
    found = problems(write(tmp_path, '["val_accuracy", "val_f1"]'), host)
    assert len(found) == 1 and "mo.toml:3" in found[0] and "no backend reports 'val_f1'" in found[0]
    assert "objectives can be: val_accuracy, val_loss, train_seconds" in found[0] and "latency_ms_1" in found[0]


def test_an_objective_that_is_not_a_name_is_a_clean_error(tmp_path, host):
    """Found by benchmarks/fuzz.py: a list inside the list raised a TypeError from the validator."""
    found = problems(write(tmp_path, '[["val_accuracy"], "params_total"]'), host)
    assert len(found) == 1 and "mo.toml:3" in found[0] and "an objective is a name, not ['val_accuracy']" in found[0]


def test_a_direction_must_be_maximize_or_minimize(tmp_path, host):
    found = problems(write(tmp_path, '{ val_accuracy = "maximize", params_total = "smaller" }'), host)
    assert len(found) == 1 and "objectives" in found[0] and "'maximize'" in found[0] and "'minimize'" in found[0]


def test_a_single_objective_strategy_names_those_that_search_several(tmp_path, host):
    found = problems(write(tmp_path, strategies='"tpe"'), host)
    assert len(found) == 1 and "strategy 'tpe' searches one objective" in found[0]
    assert "these search several: grid, motpe, nsga2, nsga3, random" in found[0]


def test_a_multi_objective_strategy_needs_two_objectives(tmp_path, host):
    found = problems(write(tmp_path, objectives='["val_accuracy"]'), host)
    assert len(found) == 1 and "needs two or more objectives" in found[0]
    single = tmp_path / "single.toml"
    single.write_text(write(tmp_path).read_text().replace('objectives = ["val_accuracy", "params_total"]\n', ""))
    found = problems(single, host)
    assert len(found) == 2 and all("searches two or more objectives: give the suite `objectives`" in p for p in found)


def test_pruners_are_refused_in_a_multi_objective_suite(tmp_path, host):
    found = problems(write(tmp_path, strategies='"random+asha"'), host)
    assert len(found) == 1 and "pruner 'asha'" in found[0] and 'drop "+asha"' in found[0]


def test_a_measured_objective_needs_costs_measured(tmp_path, host):
    found = problems(write(tmp_path, '["val_accuracy", "latency_ms_1"]', extra="\n[execution]\nmeasure_cost = false\n"),
                     host)
    assert len(found) == 1 and "measure_cost = true" in found[0]


# --------------------------------------------------------------------------- fronts and hypervolume


def test_fronts_and_hypervolume_match_hand_worked_2d_and_3d_examples():
    points = np.array([[1, 5], [2, 3], [3, 4], [4, 1]], dtype=float)  # (3, 4) is dominated by (2, 3)
    assert _pareto.nondominated(points).tolist() == [True, True, False, True]
    # up to (5, 6): 1 x 1 + 2 x 3 + 1 x 5 (slices between successive x)
    assert _pareto.hypervolume(points, [5, 6]) == pytest.approx(12.0)
    cube = np.array([[0, 0, 0.5], [0.5, 0.5, 0]], dtype=float)
    # two boxes to (1, 1, 1): 1 x 1 x 0.5 and 0.5 x 0.5 x 1, overlapping in 0.5 x 0.5 x 0.5
    assert _pareto.hypervolume(cube, [1, 1, 1]) == pytest.approx(0.5 + 0.25 - 0.125)
    assert _pareto.hypervolume(np.array([[2.0, 2.0]]), [1, 1]) == 0.0  # dominates nothing below the reference


def test_hypervolume_agrees_with_optunas_own():
    from optuna._hypervolume import compute_hypervolume

    rng = np.random.default_rng(0)
    for k in (2, 3, 4):
        points = rng.random((200, k))
        reference = np.full(k, 1.1)
        assert _pareto.hypervolume(points, reference) == pytest.approx(compute_hypervolume(points, reference))


def test_directions_are_applied_and_each_task_scaled_alike():
    trials = pd.DataFrame({"task": "t", "backend": "b", "strategy": ["s", "s", "u", "u"], "seed": 0,
                           "status": "ok", "val_accuracy": [0.9, 0.5, 0.7, 0.5], "params_total": [100, 10, 55, 100]})
    volumes = _pareto.hypervolumes(trials, {"val_accuracy": "maximize", "params_total": "minimize"})
    # scaled: accuracy 0.9 -> 0, 0.5 -> 1; params 10 -> 0, 100 -> 1. s: (0, 1) and (1, 0) -> 1.1^2 - 1 x 1
    s = volumes.set_index("strategy")["hypervolume"]
    assert s["s"] == pytest.approx(1.1 * 1.1 - 1.0)
    assert s["u"] == pytest.approx(0.6 * 0.6)  # (0.5, 0.5) alone, (1, 1) dominated
    assert volumes.set_index("strategy")["front"].to_dict() == {"s": 2, "u": 1}


def test_attainment_surfaces_of_two_runs():
    points = np.array([[1, 3], [2, 1], [1.5, 2.5], [3, 0.5]], dtype=float)
    surfaces = _pareto.attainment(points, [1, 1, 2, 2], (50, 100))
    assert surfaces[50].tolist() == [[1, 3], [1.5, 2.5], [2, 1], [3, 0.5]]  # attained by either run
    assert surfaces[100].tolist() == [[1.5, 3], [2, 2.5], [3, 1]]  # attained by both


# --------------------------------------------------------------------------- runs


def run(path, host, out, **options):
    """A run and its report, as `bench run` writes them."""
    from automl_bench._results.report import write_report

    results = run_suite(load_suite(path, host), host, RunOptions(out=out, **options))
    write_report(host, results)
    return results


def test_a_multi_objective_run_searches_records_and_reports_its_fronts(tmp_path, host):
    results = run(write(tmp_path), host, tmp_path / "out")
    assert results.objectives == {"val_accuracy": "maximize", "params_total": "minimize"}
    assert (results.trials["status"] == "ok").all() and len(results.trials) == 3 * 3 * 12
    board = results.leaderboard
    assert {"hypervolume", "hypervolume_ci_low", "hypervolume_ci_high"} <= set(board.columns)
    assert (board["hypervolume"] > 0).all() and (board["hypervolume_ci_low"] <= board["hypervolume"]).all()
    assert list(board["hypervolume"]) == sorted(board["hypervolume"], reverse=True)
    leaderboard_csv = pd.read_csv(results.directory / "leaderboard.csv")
    assert "hypervolume" in leaderboard_csv.columns
    report = (results.directory / "report" / "report.md").read_text()
    assert "## Pareto fronts" in report and "reference point **1.1 in every scaled objective**" in report
    assert "| hypervolume" in report.split("## Pareto fronts")[0]  # the leaderboard section has the column
    assert "Paired tests on hypervolume" in report and (results.directory / "report" / "pareto-toy-task.png").exists()


def test_a_multi_objective_search_resumes_as_if_never_interrupted(tmp_path, host):
    """The strategies are restored with each trial's objective values, read back from the store."""
    path = write(tmp_path, strategies='"nsga2", "motpe"', trials=16)
    straight = run(path, host, tmp_path / "straight").trials
    run(path, host, tmp_path / "resumed", max_trials=7)
    resumed = run(path, host, tmp_path / "resumed").trials
    assert list(resumed["params"]) == list(straight["params"])


def test_an_objective_a_trial_does_not_report_fails_the_trial_and_says_which(tmp_path, host):
    results = run(write(tmp_path, '["val_accuracy", "peak_gpu_mib"]', strategies='"random"', trials=2), host,
                  tmp_path / "out")
    assert (results.trials["status"] == "failed").all()
    assert (results.trials["error"] == "backend reported no peak_gpu_mib").all()
    assert (results.leaderboard["hypervolume"] == 0).all()
    report = (results.directory / "report" / "report.md").read_text()
    assert "dominates nothing" in report


def test_a_single_objective_report_shows_score_against_cost(tmp_path, host, write_suite):
    results = run(write_suite(max_trials=3), host, tmp_path / "out")
    report = (results.directory / "report" / "report.md").read_text()
    assert "## Score and cost" in report and (results.directory / "report" / "cost-toy-task.png").exists()
    assert "## Pareto fronts" not in report and "hypervolume" not in results.leaderboard.columns
    assert json.loads(results.trials["params"].iloc[0])  # untouched


def test_hypervolumes_of_ten_thousand_trials_in_three_objectives():
    """The benchmark (benchmarks/pareto.py) times 100,000 trials; a tenth of that is a quick check
    that nothing quadratic crept in."""
    rng = np.random.default_rng(0)
    n = 10_000
    trials = pd.DataFrame({"task": "t", "backend": "b", "strategy": rng.choice(["x", "y"], n),
                           "seed": rng.integers(0, 5, n), "status": "ok", "val_accuracy": rng.random(n),
                           "train_seconds": rng.random(n), "params_total": rng.integers(10, 10_000, n)})
    volumes = _pareto.hypervolumes(trials, {"val_accuracy": "maximize", "train_seconds": "minimize",
                                            "params_total": "minimize"})
    assert len(volumes) == 10 and (volumes["hypervolume"] > 0).all()


