"""Performance profiles and the anytime normalised score, against examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_bench.statistics import (
    cost_to_target,
    normalised_anytime,
    performance_profile,
    profile_area,
    task_targets,
)


def trials(rows):
    """Trials of task "t" on backend "x": (strategy, seed, [(value, seconds), ...]) per cell."""
    out = []
    for strategy, seed, curve in rows:
        for n, (value, seconds) in enumerate(curve):
            out.append({"task": "t", "backend": "x", "strategy": strategy, "seed": seed, "trial": n,
                        "value": value, "status": "ok", "train_seconds": seconds, "eval_seconds": 0.0})
    return pd.DataFrame(out)


# seed 0: A reaches 0.9 after 2 s, B after 3 s; seed 1: A never, B after 2 s
RACE = trials([("A", 0, [(0.5, 1), (0.95, 1)]), ("B", 0, [(0.92, 3)]),
               ("A", 1, [(0.5, 1), (0.6, 1), (0.7, 1)]), ("B", 1, [(0.91, 2)])])


def test_cost_to_target_is_the_compute_spent_until_the_target_is_first_reached():
    costs = cost_to_target(RACE, pd.Series({"t": 0.9})).set_index(["strategy", "seed"])["seconds"]
    assert costs.to_dict() == pytest.approx({("A", 0): 2.0, ("A", 1): np.nan, ("B", 0): 3.0, ("B", 1): 2.0},
                                            nan_ok=True)


def test_performance_profiles_and_their_area_match_the_hand_worked_ratios():
    # ratios: seed 0, A 2/2 = 1 and B 3/2 = 1.5; seed 1, A never (inf) and B 2/2 = 1
    costs = cost_to_target(RACE, pd.Series({"t": 0.9}))
    profile = performance_profile(costs, taus=[1.0, 1.5, 4.0]).set_index(["strategy", "tau"])["solved"]
    assert profile.to_dict() == {("A", 1.0): 0.5, ("A", 1.5): 0.5, ("A", 4.0): 0.5,
                                 ("B", 1.0): 0.5, ("B", 1.5): 1.0, ("B", 4.0): 1.0}
    area = profile_area(costs, tau_max=4.0)
    # A: seed 0 solved from tau 1 (3 of 3), seed 1 never; B: seed 0 from 1.5 (2.5 of 3), seed 1 from 1
    assert area[("x", "A")] == pytest.approx((1.0 + 0.0) / 2)
    assert area[("x", "B")] == pytest.approx((2.5 / 3 + 1.0) / 2)


def test_a_problem_no_entry_solved_counts_against_every_entry():
    costs = cost_to_target(RACE, pd.Series({"t": 0.99}))  # nobody gets there
    assert (performance_profile(costs)["solved"] == 0).all()
    assert (profile_area(costs) == 0).all()


def test_the_default_target_is_a_quantile_of_every_completed_trial_of_the_task():
    values = trials([("A", 0, [(v / 10, 1) for v in range(11)])])  # 0.0, 0.1, ..., 1.0
    assert task_targets(values, 0.9)["t"] == pytest.approx(0.9)


def test_the_anytime_normalised_score_matches_the_hand_worked_example():
    # top 1.0; random search's final bests 0.7 and 0.8: median 0.75, so a score s is (1 - s) / 0.25
    runs = trials([("random", 0, [(0.5, 1), (0.7, 1)]), ("random", 1, [(0.6, 1), (0.8, 1)]),
                   ("tpe", 0, [(0.9, 2), (0.9, 2)]), ("tpe", 1, [(0.4, 1), (1.0, 1)])])
    got = normalised_anytime(runs, budgets=(1, 2)).set_index(["strategy", "seed", "budget", "unit"])["normalised"]
    expected = {
        ("random", 0, 1, "trials"): 2.0, ("random", 1, 1, "trials"): 1.6, ("tpe", 0, 1, "trials"): 0.4,
        ("tpe", 1, 1, "trials"): 2.4, ("random", 0, 2, "trials"): 1.2, ("random", 1, 2, "trials"): 0.8,
        ("tpe", 0, 2, "trials"): 0.4, ("tpe", 1, 2, "trials"): 0.0,
        # equal seconds: random search's median seconds after 1 trial (1 s) and after 2 (2 s); tpe's
        # seed 0 spent 2 s on its first trial, so it has nothing within 1 s and is left out there
        ("random", 0, 1, "seconds"): 2.0, ("random", 1, 1, "seconds"): 1.6, ("tpe", 1, 1, "seconds"): 2.4,
        ("random", 0, 2, "seconds"): 1.2, ("random", 1, 2, "seconds"): 0.8, ("tpe", 0, 2, "seconds"): 0.4,
        ("tpe", 1, 2, "seconds"): 0.0,
    }
    assert got.to_dict() == pytest.approx(expected)
    assert normalised_anytime(runs[runs["strategy"] != "random"]) is None


def ranked(orders):
    """Ranks of entries "a", "b", "c", "d" (backend "x") per task and seed: {task: [ranks per seed]}."""
    return pd.DataFrame([{"task": task, "backend": "x", "strategy": s, "seed": seed, "rank": r}
                         for task, per_seed in orders.items() for seed, ranks in enumerate(per_seed)
                         for s, r in zip("abcd", ranks)])


def test_rank_agreement_between_tasks_matches_the_hand_worked_example():
    from automl_bench.statistics import rank_agreement

    # mean ranks of a, b, c, d: t1 (1, 2, 3, 4); t2 (1.5, 2.5, 3.5, 2.5); t3 (4, 3, 2, 1)
    pairs, concordance = rank_agreement(ranked({"t1": [[1, 2, 3, 4], [1, 2, 3, 4]],
                                                "t2": [[1, 2, 3, 4], [2, 3, 4, 1]],
                                                "t3": [[4, 3, 2, 1], [4, 3, 2, 1]]}))
    tau = {(a, b): t for a, b, t in zip(pairs["task_a"], pairs["task_b"], pairs["tau"])}
    assert tau[("t1", "t3")] == pytest.approx(-1.0)
    # t1 against t2: pairs ab, ac, ad, bc concordant, cd discordant, bd tied in t2 (2.5 and 2.5);
    # tau-b = (4 - 1) / sqrt((6 - 0) (6 - 1))
    assert tau[("t1", "t2")] == pytest.approx(3 / np.sqrt(30))
    w, p, m, n = concordance
    # Friedman over the tasks as blocks: within-task ranks a 1+1+4, b 2+2.5+3, c 3+4+2, d 4+2.5+1; chi2 =
    # 12 / (3 * 4 * 5) * (6^2 + 7.5^2 + 9^2 + 7.5^2) - 3 * 3 * 5 = 0.9, divided by the tie correction
    # 1 - (2^3 - 2) / (3 * (4^3 - 4)); W = chi2 / (3 * (4 - 1)): two orders that cancel, one between
    assert (m, n) == (3, 4) and w == pytest.approx(0.9 / (1 - 1 / 30) / 9)
    same, (w_same, _, _, _) = rank_agreement(ranked({"t1": [[1, 2, 3, 4]], "t2": [[1, 2, 3, 4]]}))
    assert w_same == pytest.approx(1.0) and same["tau"].tolist() == [pytest.approx(1.0)]
    assert rank_agreement(ranked({"t1": [[1, 2, 3, 4]]}))[1] is None  # one task: nothing to agree on
