"""The built-in sections of a report, registered through ``bench_report_sections`` like any
plugin's: statistics over seeds, ranks and tests, and pictures. numpy, pandas, scipy,
statsmodels and matplotlib are imported only when a report is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_bench import ReportSection, ReportSectionSpec, RunResults, hookimpl


def _num(value: Any, digits: int = 4) -> str:
    return "-" if value != value or value is None else f"{value:.{digits}f}"


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def _table(frame: Any) -> str:
    # disable_numparse: cells keep the digits they were formatted with (no "-0" from "-0.0000")
    return frame.to_markdown(index=False, disable_numparse=True) if len(frame) else "*(nothing to show)*"


def _palette(results: RunResults) -> dict[str, Any]:
    from automl_bench.statistics import entry_label

    from .figures import colours

    trials = results.trials
    several = trials["backend"].nunique() > 1
    labels = [entry_label(b, s, several) for b, s in set(zip(trials["backend"], trials["strategy"]))]
    return colours(labels + sorted(set(trials["backend"])))


def leaderboard(results: RunResults, out: Path) -> ReportSection | None:
    """The run's leaderboard (which carries the intervals and ranks), with the test interval and
    the seeds in which no trial completed spelled out."""
    import pandas as pd

    from automl_bench.statistics import NEEDS, cell_scores

    board = results.leaderboard
    if board.empty:
        return None
    none_ok = cell_scores(results).query("ok == 0").groupby(["task", "backend", "strategy"]).size()

    def ci(low: float, high: float) -> str:
        return NEEDS if low != low else f"[{low:.4f}, {high:.4f}]"

    rows = []
    for r in board.to_dict("records"):
        empty = int(none_ok.get((r["task"], r["backend"], r["strategy"]), 0))
        rows.append({
            "task": r["task"], "backend": r["backend"], "strategy": r["strategy"], "seeds": r["seeds"],
            "best val (mean ± std)": f"{_num(r['val_mean'])} ± {_num(r['val_std'])}",
            "best val 95% CI": ci(r["val_ci_low"], r["val_ci_high"]),
            "test of best (mean ± std)": f"{_num(r['test_mean'])} ± {_num(r['test_std'])}",
            "test 95% CI": ci(r["test_ci_low"], r["test_ci_high"]),
            "trials to best": _num(r["trials_to_best"], 1), "compute s/seed": _num(r["compute_seconds"], 1),
            "trials (failed, pruned)": f"{r['trials']} ({r['failed']}, {r['pruned']})"
                                       + (f"; {_seeds(empty)} with none ok" if empty else ""),
            "avg rank": _num(r["avg_rank"], 2),
            **({"hypervolume": f"{_num(r['hypervolume'])} ± {_num(r['hypervolume_std'])}"} if "hypervolume" in r
               else {}),
        })
    legend = (
        "- **best val**: the best validation score each search found; mean ± sample standard deviation over "
        "seeds, and a 95% percentile-bootstrap interval of the mean (9,999 resamples; with three to five seeds "
        "such an interval is rough). \n"
        "- **test of best**: the best configuration of each search retrained once and scored on the test split.\n"
        "- **trials to best**: the 1-based trial that first reached the search's best. **compute s/seed**: train "
        "+ evaluate seconds per search.\n"
        "- **trials (failed, pruned)**: trials run, those that failed or timed out, and those a pruner stopped; "
        "seeds in which no trial completed are counted (their scores show as `-`).\n"
        "- **avg rank**: the entry's rank among the task's entries by best val on each seed, averaged (1 = best).")
    return ReportSection("Leaderboard", _table(pd.DataFrame(rows)) + "\n\n" + legend)


def rank_and_tests(results: RunResults, out: Path) -> ReportSection | None:
    import pandas as pd

    from automl_bench.statistics import (
        MIN_SEEDS,
        NEEDS,
        across_blocks,
        average_ranks,
        cell_scores,
        entry_label,
        friedman,
        pairwise_wilcoxon,
        rank_agreement,
        ranks,
    )

    from .figures import critical_difference, rank_table

    if results.trials.empty:
        return None
    scores = cell_scores(results)
    ranked = ranks(scores)
    several = results.trials["backend"].nunique() > 1
    ranked["entry"] = [entry_label(b, s, several) for b, s in zip(ranked["backend"], ranked["strategy"])]
    parts = []
    table = ranked.pivot_table(index="entry", columns="task", values="rank", aggfunc="mean")
    if table.shape[0] > 1:
        parts.append(f"![Average rank of each entry on each task]({rank_table(table, out / 'ranks.png').name})")
    across = [f"{by}: " + ", ".join(f"{name} {rank:.2f}" for name, rank in average_ranks(ranked, [by]).items())
              for by in ("strategy", "backend") if ranked[by].nunique() > 1]
    if across:
        parts.append("Average rank across tasks and seeds, " + "; ".join(across) + ".")
    cd = critical_difference(ranked, out / "critical-difference.png", _palette(results))
    if cd is not None:
        parts.append(f"![Critical-difference diagram]({cd.name})\n\nEntries joined by a bar do not differ "
                     "significantly (Friedman, then Nemenyi's post-hoc test at alpha 0.05, scikit-posthocs), "
                     "with every task and seed as a block.")
    overall = across_blocks(ranked)
    if overall is not None:
        chi2, p, n, k, difference = overall
        parts.append(f"Across every task and seed ({n} blocks, the {k} entries every block has): Friedman χ² = "
                     f"{chi2:.1f}, p = {p:.3g}; Nemenyi's critical difference at alpha 0.05 is {difference:.2f} "
                     "ranks: entries whose average ranks differ by less are not told apart by these seeds.")
    pairs_of_tasks, concordance = rank_agreement(ranked)
    if concordance is not None:
        w, p, m, n = concordance
        parts.append(f"Do the tasks order the entries alike? Kendall's W = {w:.2f} over {m} tasks and {n} entries (0: "
                     f"no agreement, 1: the same order on every task; Friedman's p = {p:.3g}, each task's mean ranks "
                     "over its seeds as one block, so a few tasks make a weak test). Kendall's τ between every two "
                     "tasks' orders (scipy):\n\n" + _table(pairs_of_tasks.round(3)))
    tests = []
    for task in sorted(scores["task"].unique()):
        result = friedman(scores, task)
        if result is not None:
            parts.append(f"**{task}**: Friedman χ² = {result[0]:.2f}, p = {result[1]:.3g} over {result[2]} seeds.")
        tests.append(pairwise_wilcoxon(scores, task))
    pairs = pd.concat(tests, ignore_index=True) if tests else pd.DataFrame()
    if len(pairs):
        shown = pairs.assign(
            mean_difference=pairs["mean_difference"].map(_num),
            detectable=["-" if d != d else ("none" if d == float("inf") else _num(d)) for d in pairs["detectable"]],
            p=[NEEDS if p != p else f"{p:.3g}" for p in pairs["p"]],
            p_holm=[NEEDS if p != p else f"{p:.3g}" for p in pairs["p_holm"]],
            significant=["-" if p != p else ("yes" if s else "no") for p, s in zip(pairs["p"], pairs["significant"])])
        parts.append("Pairwise: Wilcoxon signed-rank tests of best val between the entries of each task, paired by "
                     "seed, Holm-corrected per task (statsmodels). `mean_difference` is a minus b. With n seeds no "
                     f"p-value falls below 2/2^n, so fewer than 6 seeds cannot show p < 0.05; fewer than {MIN_SEEDS} "
                     "are not tested. `detectable` is the power statement: the smallest mean difference these seeds "
                     "would have found with probability 0.8 at the strictest level Holm's correction can ask of a "
                     "pair (alpha over the task's pairs), from the spread of the pair's differences (statsmodels' "
                     "paired t-test power, the seeds counted at Wilcoxon's efficiency 3/π); where a pair does not "
                     "separate, a difference this large would most likely have (`none`: too few seeds for any).\n\n" + _table(shown))
        parts += _power_summary(pairs)
    return ReportSection("Ranks and significance", "\n\n".join(parts)) if parts else None


def _power_summary(pairs: Any) -> list[str]:
    """Per task, what its pairs that do not separate rule out: the range and median of their
    detectable differences (the power statement in one line)."""
    lines = []
    for task, group in pairs[pairs["p"].notna()].groupby("task", sort=True):
        same = group[~group["significant"].astype(bool)]
        finite = same["detectable"][same["detectable"] < float("inf")]
        if not len(same):
            lines.append(f"**{task}**: every one of its {len(group)} pairs separates.")
        elif len(finite):
            lines.append(f"**{task}**: {len(same)} of {len(group)} pairs do not separate; their seeds would have "
                         f"found a mean difference of {finite.min():.4f} to {finite.max():.4f} (median "
                         f"{finite.median():.4f}) four times in five.")
        else:
            lines.append(f"**{task}**: {len(same)} of {len(group)} pairs do not separate, with too few seeds to "
                         "find any difference.")
    return lines


def anytime(results: RunResults, out: Path) -> ReportSection | None:
    from automl_bench.statistics import cell_scores, normalised, time_to_target

    from .figures import _safe
    from .figures import anytime as draw

    if results.trials.empty or not (results.trials["status"] == "ok").any():  # no score found: no curve to draw
        return None
    palette = _palette(results)
    parts = [f"![Anytime performance on {task}]({draw(results, task, out / f'anytime-{_safe(task)}.png', palette).name})"
             for task in sorted(results.trials["task"].unique())]
    parts.insert(0, "Best validation score found so far, against trials, against compute seconds and against wall "
                    "seconds since the search began (the simulated clock on the simulated executor): the median over "
                    "seeds as a line, the interquartile range as a band.")
    norm = normalised(cell_scores(results))
    if norm is not None:
        table = norm.groupby(["task", "backend", "strategy"])["normalised"].median().reset_index()
        parts.append("Normalised score (Bayesmark): 0 = the best score seen on the task, 1 = random search's median "
                     "best; median over seeds, lower is better.\n\n" + _table(table.round(3)))
    target = time_to_target(results)
    if len(target):
        reached = target.groupby(["task", "backend", "strategy", "target"]).agg(
            seeds=("trials", "size"), reached=("trials", "count"), median_trials=("trials", "median"),
            median_seconds=("seconds", "median")).reset_index()
        parts.append("Time to target (the MLPerf idea): trials and compute seconds until a search first reached 95% "
                     "and 99% of the best score seen on its task; median over the seeds that reached it.\n\n"
                     + _table(reached.round(2)))
    return ReportSection("Anytime performance", "\n\n".join(parts))


def study(results: RunResults, out: Path) -> ReportSection | None:
    """Performance profiles and the anytime normalised score: what a study of several
    strategies over several tasks and seeds needs. Only where there is such a study: two entries
    or more, with at least `MIN_SEEDS` seeds."""
    import pandas as pd

    from automl_bench.statistics import (
        MIN_SEEDS,
        cost_to_target,
        normalised_anytime,
        performance_profile,
        profile_area,
        task_targets,
    )

    from .figures import performance_profiles

    trials = results.trials
    if trials.empty or trials.groupby(["backend", "strategy"]).ngroups < 2 or trials["seed"].nunique() < MIN_SEEDS:
        return None
    targets = task_targets(trials)
    clocks = ["compute"] + (["wall"] if "sim_end" in trials.columns and trials["sim_end"].notna().all() else [])
    costs = {clock: cost_to_target(trials, targets, clock=clock) for clock in clocks}
    several = trials["backend"].nunique() > 1
    picture = performance_profiles({c: performance_profile(costs[c]) for c in clocks}, out / "profiles.png",
                                   _palette(results), several)
    areas = pd.concat({f"area, {c} seconds": profile_area(costs[c]) for c in clocks}, axis=1).reset_index()
    areas = areas.sort_values(areas.columns[2], ascending=False)
    parts = [
        f"![Performance profiles]({picture.name})",
        "Performance profiles (Dolan and Moré, 2002): a problem is one task and seed; its target is the 95th "
        "percentile of every completed trial's score on the task (a configuration as good as the top 5% of those "
        "tried). For each entry, the fraction of problems on which it reached the target within τ times the "
        "seconds the fastest entry needed there (τ = 1: it was the fastest; a problem it never solved counts "
        "against it at every τ). The area is the profile's integral from τ = 1 to 4 over its length, as "
        "AlgoPerf scores time to result: 1 is the fastest everywhere.\n\n" + _table(areas.round(3)),
    ]
    anytime_scores = normalised_anytime(trials)
    if anytime_scores is not None and len(anytime_scores):
        table = anytime_scores.pivot_table(index=["task", "backend", "strategy"], columns=["unit", "budget"],
                                           values="normalised", aggfunc="median")
        table = table[sorted(table.columns, key=lambda c: (c[0] != "trials", c[1]))]  # trials, then seconds
        table.columns = [f"{budget} {unit}" if unit == "trials" else f"seconds of {budget} trials"
                         for unit, budget in table.columns]
        parts.append("Normalised score at 10, 20, 50 and 100 trials (those a search reached), and at the compute "
                     "seconds random search's first 10, 20, 50 and 100 trials took (Bayesmark's: 0 is the best score seen on the task, 1 random "
                     "search's median final best; median over seeds, lower is better; blank where a search had "
                     "not run that far).\n\n" + _table(table.reset_index().round(3).fillna("")))
    return ReportSection("Strategies across tasks: performance profiles", "\n\n".join(parts))


def learning(results: RunResults, out: Path) -> ReportSection | None:
    from .figures import _safe, learning_curves

    if results.trials.empty:
        return None
    palette = _palette(results)
    parts = []
    for task in sorted(results.trials["task"].unique()):
        path = learning_curves(results, task, out / f"learning-{_safe(task)}.png", palette)
        if path is not None:
            parts.append(f"![Learning curves on {task}]({path.name})")
    return ReportSection("Learning curves", "Validation score and loss per epoch of each cell's best trial, one line "
                         "per seed.\n\n" + "\n\n".join(parts)) if parts else None


def transfer(results: RunResults, out: Path) -> ReportSection | None:
    """The leaderboard's test score and its interval for each transfer task, by shots and mode."""
    from .figures import _safe, colours
    from .figures import transfer as draw

    variants = {t: v for t, v in results.variants.items() if "shots" in v and "mode" in v}
    board = results.leaderboard[results.leaderboard["task"].isin(variants)]
    if board.empty:
        return None
    # one line per mode, and per backend and strategy where the matrix has several
    naming = [c for c in ("backend", "strategy") if board[c].nunique() > 1]
    table = board.assign(
        base=[variants[t]["base"] for t in board["task"]], shots=[variants[t]["shots"] for t in board["task"]],
        label=["/".join([*(r[c] for c in naming), variants[r["task"]]["mode"]]) for r in board.to_dict("records")],
    ).rename(columns={"test_mean": "mean", "test_ci_low": "ci_low", "test_ci_high": "ci_high"})
    palette = colours(list(table["label"]))
    parts = [f"![Transfer on {base}]({draw(group, base, out / f'transfer-{_safe(base)}.png', palette).name})"
             for base, group in table.groupby("base")]
    return ReportSection("Transfer", "Test score of each search's best configuration against labelled examples "
                         "per class, by mode; bars are 95% bootstrap intervals over seeds.\n\n" + "\n\n".join(parts))


def speed(results: RunResults, out: Path) -> ReportSection | None:
    from .figures import speed as draw

    trials = results.trials
    if trials.empty or not results.tasks:
        return None
    ran = trials[trials["epochs"] > 0].copy()
    ran["family"] = ran["task"].map(lambda t: results.tasks.get(t, {}).get("model", "?"))
    ran["seconds_per_epoch"] = ran["train_seconds"] / ran["epochs"]
    table = ran.groupby(["backend", "family"])["seconds_per_epoch"].median().reset_index()
    if table.empty:
        return None
    path = draw(table, out / "speed.png", _palette(results))
    text = (f"![Seconds per epoch]({path.name})\n\nMedian training seconds per epoch of every trial, by backend and "
            "model family (data, batch size and model size differ between tasks: compare backends within a "
            "family).\n\n" + _table(table.round(4)))
    costs = [c for c in ("val_accuracy", "latency_ms_1", "peak_rss_mib", "params_total") if c in ran.columns
             and ran[c].notna().any()]
    if ran["backend"].nunique() > 1 and len(costs) > 1:  # the backends question, with what each model costs
        done = ran[ran["status"] == "ok"]
        side = done.groupby(["task", "backend"]).agg(
            trials=("trial", "size"), **{c: (c, "median") for c in ["seconds_per_epoch", *costs]}).reset_index()
        text += ("\n\nThe same configurations on each backend (a seeded strategy proposes the same ones everywhere): "
                 "medians over completed trials of validation accuracy, seconds per epoch, milliseconds to predict "
                 "one example, the worker's peak resident memory (MiB) and parameters (docs/explanation/cost.md "
                 "says what each measures)."
                 "\n\n" + _table(side.round({"val_accuracy": 4, "seconds_per_epoch": 4, "latency_ms_1": 4,
                                              "peak_rss_mib": 0, "params_total": 0})))
    return ReportSection("Backend speed", text)


def pareto(results: RunResults, out: Path) -> ReportSection | None:
    from .tradeoffs import pareto_section

    return pareto_section(results, out, _palette(results))


def cost(results: RunResults, out: Path) -> ReportSection | None:
    from .tradeoffs import cost_section

    return cost_section(results, out, _palette(results))


@hookimpl
def bench_report_sections(register):
    register(ReportSectionSpec("leaderboard", "per-cell statistics over seeds with bootstrap intervals and ranks",
                        leaderboard, order=10))
    register(ReportSectionSpec("ranks", "ranks, Friedman and Wilcoxon-Holm tests, critical-difference diagram",
                        rank_and_tests, order=20))
    register(ReportSectionSpec("pareto", "multi-objective suites: Pareto fronts, attainment surfaces, hypervolume "
                                         "with intervals and paired tests", pareto, order=15))
    register(ReportSectionSpec("cost", "each search's best score against its training seconds and inference latency",
                               cost, order=55))
    register(ReportSectionSpec("anytime", "anytime curves, normalised score, time to target", anytime, order=30))
    register(ReportSectionSpec("profiles", "performance profiles and anytime normalised scores across tasks and "
                                           "seeds", study, order=35))
    register(ReportSectionSpec("learning-curves", "per-epoch curves of each cell's best trial", learning, order=40))
    register(ReportSectionSpec("transfer", "test score against shots by transfer mode", transfer, order=50))
    register(ReportSectionSpec("speed", "seconds per epoch per backend and model family", speed, order=60))
