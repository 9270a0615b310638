"""Statistics over seeds, from a run's tables: scipy and statsmodels do the statistics.

A public module (beside `automl_bench` and `automl_bench.testing`): the leaderboard, the
report's sections and any plugin's use the same functions. It imports numpy and pandas, so
import it where a report or leaderboard is built, not at a plugin module's top.

An *entry* is one backend x strategy of a task; seeds are its repeated measures. Seeds are
shared across entries (trial seeds and data splits match), so comparisons between entries of
one task are paired by seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl_bench._api.records import CELL, ENTRY, RunResults

__all__ = ["MIN_SEEDS", "NEEDS", "PER_SEED", "SOLVER", "across_blocks", "average_ranks", "best_by_wall", "best_so_far",
           "bootstrap_ci", "cell_scores", "cost_to_target", "detectable_difference", "entry_label", "friedman",
           "normalised", "normalised_anytime", "paired", "pairwise_wilcoxon", "per_seed", "performance_profile",
           "profile_area", "rank_agreement", "rank_blocks", "ranks", "task_targets", "time_to_target"]

#: Fewer seeds than this and a confidence interval or a test is not computed: it says so.
MIN_SEEDS = 3
NEEDS = f"needs ≥ {MIN_SEEDS} seeds"


def entry_label(backend: str, strategy: str, several_backends: bool) -> str:
    return f"{backend}/{strategy}" if several_backends else strategy


def cell_scores(results: RunResults) -> pd.DataFrame:
    """`per_seed` of a run's trials and finals."""
    return per_seed(results.trials, results.finals, results.metric)


PER_SEED = [*CELL, "best", "test", "trials_to_best", "compute_seconds", "wall_seconds", "epochs", "trials", "ok",
            "failed", "pruned", "model"]


def per_seed(trials: pd.DataFrame, finals: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per cell: best validation score of its completed (``ok``) trials, as the
    leaderboard counts it; the test score of its best configuration; the 1-based trial that
    first reached the best; compute seconds and epochs (pruned trials' too); trial counts; the
    file its final model was saved to ("" if none).
    One pass of grouped sums and two merges, whatever the number of cells."""
    if trials.empty:
        return pd.DataFrame(columns=PER_SEED)
    ok = (trials["status"] == "ok") & trials["value"].notna()  # as the leaderboard and the driver
    used = [*CELL, "trial", "status", "value", "train_seconds", "eval_seconds", "wall_seconds", "epochs"]
    t = trials[used].assign(score=trials["value"].where(ok), is_ok=ok,
                      compute_seconds=trials["train_seconds"] + trials["eval_seconds"],
                      failed=trials["status"].isin(["failed", "timeout"]), pruned=trials["status"] == "pruned")
    out = t.groupby(CELL, sort=True).agg(
        best=("score", "max"), compute_seconds=("compute_seconds", "sum"), wall_seconds=("wall_seconds", "sum"),
        epochs=("epochs", "sum"), trials=("trial", "size"), ok=("is_ok", "sum"), failed=("failed", "sum"),
        pruned=("pruned", "sum")).reset_index()
    reached = t[t["score"] == t.groupby(CELL)["score"].transform("max")]
    out = out.merge((reached.groupby(CELL)["trial"].min() + 1).rename("trials_to_best").reset_index(),
                    on=CELL, how="left")
    test_col = f"test_{metric}"
    if len(finals) and test_col in finals:
        kept = [*CELL, test_col, *(["model"] if "model" in finals else [])]
        tests = finals.loc[finals["status"] == "ok", kept].drop_duplicates(CELL)
        out = out.merge(tests.rename(columns={test_col: "test"}), on=CELL, how="left")
    else:
        out["test"] = np.nan
    out["model"] = out["model"].fillna("") if "model" in out else ""
    return out[PER_SEED]


def bootstrap_ci(values: Any, confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (scipy.stats.bootstrap, 9,999 resamples, seeded,
    in batches so that memory stays flat in the number of values):
    None below `MIN_SEEDS` values. Equal values give the degenerate interval (v, v)."""
    data = np.asarray([v for v in values if v == v], dtype=float)
    if len(data) < MIN_SEEDS:
        return None
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    from scipy.stats import bootstrap  # 1 s to import: only when there is an interval to compute

    # resampled in batches of at most ~2 million values: 10,000 seeds at once took 1.6 GB (same interval)
    ci = bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=9999, method="percentile",
                   random_state=np.random.default_rng(0), batch=max(1, 2_000_000 // len(data))).confidence_interval
    return float(ci.low), float(ci.high)


def ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank of every entry of a task on each seed by best validation score (1 = best; ties share
    the average rank; a cell with no successful trial ranks last). pandas ranks them, as
    ``scipy.stats.rankdata(-values, method="average")`` would, without importing scipy.stats."""
    if scores.empty:
        return pd.DataFrame(columns=[*ENTRY, "seed", "rank"])
    ordered = scores.sort_values(["task", "seed"], kind="stable")  # each (task, seed) together, in its order
    values = ordered["best"].astype(float).fillna(-np.inf)
    rank = values.groupby([ordered["task"], ordered["seed"]], sort=False).rank(method="average", ascending=False)
    return ordered[ENTRY + ["seed"]].assign(rank=rank.to_numpy()).reset_index(drop=True)


def average_ranks(ranked: pd.DataFrame, by: list[str]) -> pd.Series:
    """Mean rank per ``by`` (e.g. ``["task", "backend", "strategy"]``, or ``["strategy"]`` across tasks)."""
    return ranked.groupby(by)["rank"].mean().sort_values()


def rank_agreement(ranked: pd.DataFrame) -> tuple[pd.DataFrame, tuple[float, float, int, int] | None]:
    """Do the tasks order the entries alike? Each task orders its entries by their mean rank over
    its seeds (`ranks`). Returns Kendall's tau-b between every two tasks' orders
    (``scipy.stats.kendalltau``, with its p-value; columns ``task_a``, ``task_b``, ``tau``, ``p``)
    and, over all tasks, Kendall's W with Friedman's p-value (W = chi2 / (m (n - 1)), the m tasks
    as blocks and the n entries as treatments; 0 is no agreement, 1 the same order everywhere).
    Entries some task lacks are left out; None where fewer than 2 tasks or 3 entries remain."""
    from itertools import combinations

    from scipy import stats

    table = ranked.pivot_table(index="task", columns=[c for c in ENTRY if c != "task"], values="rank",
                               aggfunc="mean").dropna(axis=1)
    pairs = pd.DataFrame(columns=["task_a", "task_b", "tau", "p"])
    if table.shape[0] < 2 or table.shape[1] < 3:
        return pairs, None
    rows = []
    for a, b in combinations(table.index, 2):
        tau, p = stats.kendalltau(table.loc[a].to_numpy(), table.loc[b].to_numpy())
        rows.append({"task_a": a, "task_b": b, "tau": float(tau), "p": float(p)})
    m, n = table.shape
    chi2, p = stats.friedmanchisquare(*table.to_numpy().T)
    return pd.DataFrame(rows), (float(chi2 / (m * (n - 1))), float(p), m, n)


def paired(scores: pd.DataFrame, task: str) -> pd.DataFrame:
    """A task's entries as columns, one row per seed that every entry has (best validation score)."""
    table = scores[scores["task"] == task].pivot_table(index="seed", columns=["backend", "strategy"],
                                                       values="best", aggfunc="first")
    return table.dropna()


def pairwise_wilcoxon(scores: pd.DataFrame, task: str, alpha: float = 0.05) -> pd.DataFrame:
    """Wilcoxon signed-rank test between every two entries of a task, paired by seed, with
    Holm's correction over the task's pairs (statsmodels). With fewer than `MIN_SEEDS` common
    seeds the test is not run. Note that with n seeds no p-value falls below 2 / 2**n: six seeds
    are the fewest with which a difference can reach p < 0.05.

    ``detectable`` is the power statement for the pair (`detectable_difference`): the smallest
    mean difference these seeds would have found with probability 0.8 at the strictest level
    Holm's correction can ask of a pair (alpha over the task's number of pairs), so that a pair
    that does not separate says how small "no difference" is."""
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    table = paired(scores, task)
    columns = list(table.columns)
    pairs = len(columns) * (len(columns) - 1) // 2
    rows = []
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            diff = table[a] - table[b]
            row = {"task": task, "a": "/".join(a), "b": "/".join(b), "n": len(diff),
                   "mean_difference": float(diff.mean()) if len(diff) else np.nan, "p": np.nan,
                   "detectable": np.nan}
            if len(diff) >= MIN_SEEDS:
                row["p"] = 1.0 if np.allclose(diff, 0) else float(wilcoxon(table[a], table[b]).pvalue)
                row["detectable"] = detectable_difference(diff, alpha / max(1, pairs))
            rows.append(row)
    out = pd.DataFrame(rows, columns=["task", "a", "b", "n", "mean_difference", "p", "detectable"])
    tested = out["p"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = multipletests(out.loc[tested, "p"], alpha=alpha, method="holm")[1]
    out["significant"] = out["p_holm"] < alpha
    return out


def detectable_difference(differences: Any, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest mean of these paired differences that a two-sided test at ``alpha`` detects
    with probability ``power``, for their number and spread: the paired t-test's minimal effect
    size (statsmodels' ``TTestPower``) times the differences' standard deviation, with the seeds
    counted at 3/π of their number, the Wilcoxon signed-rank test's asymptotic efficiency against
    the t-test on normal differences. Infinite where no p-value of n seeds, 2 / 2**n at the least,
    can fall below ``alpha``. An estimate: it takes the observed spread as the true one, and
    differences far from normal (a few seeds that fail) change the Wilcoxon test's power."""
    from statsmodels.stats.power import TTestPower

    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        return float("nan")
    if 2 / 2 ** len(d) > alpha:  # the signed-rank test's smallest p: no difference could reach alpha
        return float("inf")
    spread = float(d.std(ddof=1))
    if spread == 0.0:
        return 0.0
    effect = TTestPower().solve_power(nobs=len(d) * 3 / np.pi, alpha=alpha, power=power, alternative="two-sided")
    return float(effect) * spread


def friedman(scores: pd.DataFrame, task: str) -> tuple[float, float, int] | None:
    """Friedman's test across a task's entries (blocks: seeds): (statistic, p, seeds); None with
    fewer than three entries or `MIN_SEEDS` common seeds."""
    from scipy.stats import friedmanchisquare

    table = paired(scores, task)
    if table.shape[1] < 3 or table.shape[0] < MIN_SEEDS:
        return None
    result = friedmanchisquare(*[table[c] for c in table.columns])
    return float(result.statistic), float(result.pvalue), int(table.shape[0])


def rank_blocks(ranked: pd.DataFrame) -> pd.DataFrame:
    """Every (task, seed) as a block, one column per entry (``ranked`` with an ``entry`` column,
    as `ranks` and the report make it): the blocks that hold every entry, each entry's rank."""
    return ranked.pivot_table(index=["task", "seed"], columns="entry", values="rank").dropna()


def across_blocks(ranked: pd.DataFrame, alpha: float = 0.05) -> tuple[float, float, int, int, float] | None:
    """Friedman's test with every (task, seed) as a block, over the entries every block has
    (``ranked`` with an ``entry`` column, as `ranks` and the report make it), and Nemenyi's
    critical difference at ``alpha``: two entries whose average ranks differ by less do not
    differ significantly. Returns (χ², p, blocks, entries, critical difference); None with fewer
    than three entries or `MIN_SEEDS` blocks. The difference is q(alpha, k, ∞) / √2 ·
    √(k (k + 1) / (6 N)) (Demšar, 2006), q the studentized range (scipy)."""
    from scipy.stats import friedmanchisquare, studentized_range

    blocks = rank_blocks(ranked)
    n, k = blocks.shape
    if k < 3 or n < MIN_SEEDS:
        return None
    result = friedmanchisquare(*blocks.to_numpy().T)
    q = float(studentized_range.ppf(1 - alpha, k, np.inf)) / np.sqrt(2)
    return float(result.statistic), float(result.pvalue), int(n), int(k), q * float(np.sqrt(k * (k + 1) / (6 * n)))


def normalised(scores: pd.DataFrame) -> pd.DataFrame | None:
    """Bayesmark's normalised score per cell where random search is in the matrix: 0 is the best
    score seen on the task (any entry, any seed), 1 is random search's median best; lower is
    better, and below 0 cannot happen. None without random search."""
    if "random" not in set(scores["strategy"]):
        return None
    out = []
    for task, group in scores.groupby("task"):
        top = group["best"].max()
        random_median = group.loc[group["strategy"] == "random", "best"].median()
        if not top > random_median:
            continue  # random search found the best: nothing to normalise against
        out.append(group.assign(normalised=(top - group["best"]) / (top - random_median)))
    return pd.concat(out, ignore_index=True) if out else None


def best_so_far(trials: pd.DataFrame) -> pd.DataFrame:
    """Per cell and trial, the best validation score so far and the compute seconds spent so far."""
    t = _running_best(trials.sort_values(CELL + ["trial"]).copy())
    t["seconds_so_far"] = (t["train_seconds"] + t["eval_seconds"]).groupby([t[c] for c in CELL]).cumsum()
    return t[CELL + ["trial", "best_so_far", "seconds_so_far"]]


def _running_best(t: pd.DataFrame) -> pd.DataFrame:
    """``t`` (sorted in the order trials count, per cell) with ``best_so_far``: the best score
    each cell has reached by each row. A pruned trial's score is partial, not a result; cummax
    leaves NaN where a trial has no score (failed, pruned), and the best so far carries on."""
    t["score"] = pd.to_numeric(t["value"].where(t["status"] == "ok"))  # every trial failed: all None, as floats
    t["best_so_far"] = t.groupby(CELL, sort=False)["score"].cummax()
    t["best_so_far"] = t.groupby(CELL, sort=False)["best_so_far"].ffill()
    return t


def best_by_wall(trials: pd.DataFrame) -> pd.DataFrame:
    """Per cell, in the order trials ended: the best validation score so far and the wall seconds
    since the cell's first trial began. On the simulated executor's clock where the rows have it
    (``sim_start``, ``sim_end``), else from when each trial finished and how long it took."""
    t = trials.copy()
    simulated = "sim_end" in t.columns and t["sim_end"].notna().all() and len(t)
    if simulated:
        end, start = t["sim_end"].astype(float), t["sim_start"].astype(float)
    else:
        finished = pd.to_datetime(t["finished"], format="ISO8601", utc=True)
        end = (finished - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)  # whatever the resolution
        start = end - t["wall_seconds"].astype(float)
    t["wall_end"], t["wall_start"] = end, start
    t = _running_best(t.sort_values(CELL + ["wall_end", "trial"]))
    t["wall_so_far"] = t["wall_end"] - t.groupby(CELL, sort=False)["wall_start"].transform("min")
    return t[CELL + ["trial", "best_so_far", "wall_so_far"]].assign(simulated=bool(simulated))


def time_to_target(results: RunResults, fractions: tuple[float, ...] = (0.95, 0.99)) -> pd.DataFrame:
    """Per cell and target: the 1-based trial and the compute seconds at which the search first
    reached ``fraction`` of the best score seen on its task (NaN: never)."""
    curve = best_so_far(results.trials)
    tops = curve["task"].map(curve.groupby("task")["best_so_far"].max())
    frames = []
    for order, fraction in enumerate(fractions):
        first = _first_reaching(curve, fraction * tops, ["trial", "seconds_so_far"])
        frames.append(first.assign(target=fraction, trials=first["trial"].astype(float) + 1,
                                   seconds=first["seconds_so_far"].astype(float), order=order))
    if not frames or curve.empty:
        return pd.DataFrame(columns=[*CELL, "target", "trials", "seconds"])
    rows = pd.concat(frames).sort_values(["cell", "order"], kind="stable")  # per cell, its targets in turn
    return rows[[*CELL, "target", "trials", "seconds"]].reset_index(drop=True)


def _first_reaching(curve: pd.DataFrame, threshold: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Every cell of ``curve`` (sorted, numbered in ``cell``) with ``columns`` of its first row, in
    the curve's order, whose best so far reaches the row's ``threshold`` (NaN: none does)."""
    cells = curve[CELL].drop_duplicates().sort_values(CELL, kind="stable").reset_index(drop=True)
    cells["cell"] = np.arange(len(cells))
    reached = curve[curve["best_so_far"] >= threshold].groupby(CELL, sort=False).head(1)
    return cells.merge(reached[CELL + columns], on=CELL, how="left")


#: What performance profiles compare across tasks: a backend x strategy (an entry less its task).
SOLVER = ["backend", "strategy"]


def task_targets(trials: pd.DataFrame, quantile: float = 0.95) -> pd.Series:
    """Each task's target for performance profiles: the ``quantile`` of the validation scores of
    every completed trial recorded on it, by any entry and seed (0.95: reaching a configuration as
    good as the top 5% of those tried)."""
    ok = trials[trials["status"] == "ok"]
    return ok.groupby("task")["value"].quantile(quantile)


def cost_to_target(trials: pd.DataFrame, targets: pd.Series, *, clock: str = "compute") -> pd.DataFrame:
    """Per cell: the seconds its search spent until its best score first reached its task's
    target (NaN: never). ``clock``: ``"compute"``, the trials' training and evaluation seconds
    added up in trial order (`best_so_far`); ``"wall"``, the wall seconds since the cell began
    (`best_by_wall`: the simulated clock where the rows have one)."""
    if clock not in ("compute", "wall"):
        raise ValueError(f"clock must be 'compute' or 'wall', not {clock!r}")
    curve = best_so_far(trials) if clock == "compute" else best_by_wall(trials)
    seconds = "seconds_so_far" if clock == "compute" else "wall_so_far"
    target = curve["task"].map(targets).astype(float)
    first = _first_reaching(curve, target, [seconds])
    first["target"] = first["task"].map(targets).astype(float)
    first["seconds"] = first[seconds].astype(float)
    return first[[*CELL, "target", "seconds"]]


def _ratios(costs: pd.DataFrame) -> pd.DataFrame:
    """Dolan and Moré's performance ratios: for each problem (task, seed), each entry's cost over
    the least cost of any entry on it; inf where the entry never reached the target (and on a
    problem no entry solved)."""
    seconds = costs["seconds"].astype(float).fillna(np.inf).to_numpy()
    best = costs.assign(s=seconds).groupby(["task", "seed"])["s"].transform("min").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(best > 0, seconds / best, np.where(seconds == best, 1.0, np.inf))  # a cost of 0: best alone
    ratio[~np.isfinite(seconds)] = np.inf
    return costs.assign(ratio=ratio)


def performance_profile(costs: pd.DataFrame, taus: Any = None) -> pd.DataFrame:
    """Performance profiles (Dolan and Moré, 2002) from `cost_to_target`'s costs: for each entry
    and ratio τ, the fraction of problems (task x seed) it solved within τ times the least cost
    any entry needed there. At τ = 1: how often it was the fastest; as τ grows, how often it got
    there at all. Columns: backend, strategy, tau, solved."""
    ratios = _ratios(costs)
    taus = np.unique(np.concatenate([[1.0], ratios["ratio"][np.isfinite(ratios["ratio"])], [4.0]])) \
        if taus is None else np.asarray(taus, dtype=float)
    rows = [{"backend": b, "strategy": s, "tau": float(tau), "solved": float((group["ratio"] <= tau).mean())}
            for (b, s), group in ratios.groupby(SOLVER, sort=True) for tau in taus]
    return pd.DataFrame(rows, columns=[*SOLVER, "tau", "solved"])


def profile_area(costs: pd.DataFrame, tau_max: float = 4.0) -> pd.Series:
    """Each entry's performance profile integrated from τ = 1 to ``tau_max``, over its length:
    1 when it was the fastest on every problem, 0 when it never came within ``tau_max`` times the
    fastest (AlgoPerf's time-to-result score integrates its profiles the same way)."""
    ratios = _ratios(costs)
    inside = np.clip(tau_max - ratios["ratio"].clip(lower=1.0), 0.0, None).where(np.isfinite(ratios["ratio"]), 0.0)
    return (inside / (tau_max - 1.0)).groupby([ratios[c] for c in SOLVER]).mean().rename("area")


def normalised_anytime(trials: pd.DataFrame, budgets: tuple[int, ...] = (10, 20, 50, 100)) -> pd.DataFrame | None:
    """Bayesmark's normalised score of each cell's best so far, after ``budgets`` trials and after
    equal compute seconds: 0 is the best score seen on the task (any entry, seed or budget), 1
    is random search's median final best on it (over seeds); lower is better. The equal-seconds
    budget of n trials is the median over random search's cells of the compute seconds its first n
    trials took. Columns: CELL, budget, unit ("trials" or "seconds"), seconds, normalised. None
    without random search; a task where random search found the best is left out (nothing to
    normalise against), as are budgets beyond a cell's trials."""
    if "random" not in set(trials["strategy"]):
        return None
    curve = best_so_far(trials)
    curve["n"] = curve.groupby(CELL, sort=False).cumcount() + 1
    rows = []
    for task, group in curve.groupby("task"):
        top = group["best_so_far"].max()
        random = group[group["strategy"] == "random"]
        random_final = random.groupby(CELL)["best_so_far"].last().median()
        if not top > random_final:
            continue
        cells = [(dict(zip(CELL, key)), cell["best_so_far"].to_numpy(), cell["seconds_so_far"].to_numpy())
                 for key, cell in group.groupby(CELL, sort=True)]  # a cell's n runs 1, 2, ... in its rows
        for budget in budgets:
            at_budget = random[random["n"] == budget]
            seconds = float(at_budget["seconds_so_far"].median()) if len(at_budget) else np.nan
            for key, best, spent in cells:
                if len(best) >= budget:
                    rows.append({**key, "budget": budget, "unit": "trials", "seconds": np.nan,
                                 "normalised": (top - best[budget - 1]) / (top - random_final)})
                within = np.flatnonzero(spent <= seconds)
                if seconds == seconds and len(within) and spent[-1] >= seconds:
                    rows.append({**key, "budget": budget, "unit": "seconds", "seconds": seconds,
                                 "normalised": (top - best[within[-1]]) / (top - random_final)})
    return pd.DataFrame(rows, columns=[*CELL, "budget", "unit", "seconds", "normalised"])
