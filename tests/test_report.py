"""`bench report`: statistics checked against values computed by hand on a store the test writes,
every picture written, the HTML pointing only at files that exist, and clear errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from automl_bench import EpochReport, ReportSection, ReportSectionSpec, hookimpl
from automl_bench import statistics as stats
from automl_bench._api.records import CellKey, TrialOutcome
from automl_bench._cli import cli
from automl_bench._manager import get_plugin_manager
from automl_bench._results.collect import load_results
from automl_bench._results.report import write_report
from automl_bench._results.store import Store
from automl_bench.errors import ResultsError

#: Best validation score of each entry on seeds 0-5. A beats B on every seed by a different
#: margin, B beats C except on seed 5, where they tie.
BEST = {
    "a": [0.90, 0.91, 0.92, 0.93, 0.94, 0.95],
    "b": [0.80, 0.82, 0.84, 0.86, 0.88, 0.70],
    "c": [0.70, 0.71, 0.72, 0.73, 0.74, 0.70],
}


def write_store(directory, best=BEST, seeds=range(6), trials=2):
    """A store as `bench run` writes it: per cell, trial 0 scores 0.5 and trial 1 the cell's best."""
    directory.mkdir(parents=True, exist_ok=True)
    store = Store(directory / "bench.sqlite")
    store.set_meta("suite_sha256", "0" * 64)
    store.set_meta("suite", json.dumps({"name": "hand", "metric": "accuracy", "variants": {},
                                        "tasks": {"t": {"model": "mlp", "dataset": "toy"}}}))
    run = store.start_run({"python": "3.11", "suite_sha256": "0" * 64})
    for strategy, values in best.items():
        for seed in seeds:
            cell = CellKey("t", "toy", strategy, seed)
            for number, value in enumerate([0.5, values[seed]][:trials]):
                history = tuple(EpochReport(e, {"val_accuracy": value * e / 2, "val_loss": 1 / e}) for e in (1, 2))
                outcome = TrialOutcome("ok", {"val_accuracy": value}, epochs=2, train_seconds=1.0, eval_seconds=0.5,
                                       history=history)
                store.record_trial(cell, number, run, 7, {"lr": 0.1 * (number + 1)}, outcome, value, 2.0)
            store.record_final(cell, trials - 1, run, {"lr": 0.2},
                               TrialOutcome("ok", {"test_accuracy": values[seed] - 0.01}))
    store.close()
    return directory


@pytest.fixture
def results(tmp_path):
    return load_results(write_store(tmp_path / "hand"))


def test_cell_scores_and_ranks_match_hand_computed_values(results):
    scores = stats.cell_scores(results)
    a0 = scores[(scores["strategy"] == "a") & (scores["seed"] == 0)].iloc[0]
    assert (a0["best"], a0["test"], a0["trials_to_best"], a0["compute_seconds"]) == (0.90, pytest.approx(0.89), 2, 3.0)
    ranked = stats.ranks(scores)
    by = ranked.set_index(["strategy", "seed"])["rank"]
    assert [by[("a", s)] for s in range(6)] == [1.0] * 6
    assert [by[("b", s)] for s in range(5)] == [2.0] * 5 and [by[("c", s)] for s in range(5)] == [3.0] * 5
    assert by[("b", 5)] == by[("c", 5)] == 2.5  # a tie shares the average rank
    means = stats.average_ranks(ranked, ["strategy"])
    assert means.to_dict() == {"a": 1.0, "b": pytest.approx(12.5 / 6), "c": pytest.approx(17.5 / 6)}


def test_wilcoxon_p_values_and_holm_match_hand_computed_values(results):
    pairs = stats.pairwise_wilcoxon(stats.cell_scores(results), "t").set_index(["a", "b"])
    # a - b is positive on all six seeds, so the exact two-sided p is 2 / 2**6
    assert pairs.loc[("toy/a", "toy/b"), "p"] == pytest.approx(2 / 64)
    assert pairs.loc[("toy/a", "toy/c"), "p"] == pytest.approx(2 / 64)
    # Holm over the three pairs: the smallest p times 3, the next times 2 (never below the one before)
    assert pairs.loc[("toy/a", "toy/b"), "p_holm"] == pytest.approx(3 * 2 / 64)
    assert not pairs.loc[("toy/a", "toy/b"), "significant"]  # 3/32 > 0.05 after the correction


def test_the_detectable_difference_is_found_four_times_in_five():
    """The power statement: a true mean difference of the size it names is found by the Wilcoxon
    test at its level in about 80% of simulated studies of the same seeds and spread."""
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(0)
    n, alpha = 30, 0.05 / 10
    observed = rng.normal(0.0, 0.01, n)
    shift, spread = stats.detectable_difference(observed, alpha), observed.std(ddof=1)
    found = [wilcoxon(rng.normal(shift, spread, n)).pvalue < alpha for _ in range(400)]
    assert 0.7 < np.mean(found) < 0.9, np.mean(found)
    assert stats.detectable_difference([0.01] * 8) == 0.0 and np.isnan(stats.detectable_difference([0.1]))
    assert stats.detectable_difference(observed[:7], alpha) == np.inf  # 2 / 2**7 > alpha: never significant


def test_pairs_carry_the_difference_their_seeds_could_detect(results):
    pairs = stats.pairwise_wilcoxon(stats.cell_scores(results), "t")
    assert (pairs["detectable"] >= 0).all() and len(pairs) == 3


def test_across_blocks_gives_friedman_and_the_critical_difference_of_demsar(results):
    ranked = stats.ranks(stats.cell_scores(results))
    ranked["entry"] = ranked["strategy"]
    chi2, p, n, k, difference = stats.across_blocks(ranked)
    assert (n, k) == (6, 3) and (chi2, p) == pytest.approx(stats.friedman(stats.cell_scores(results), "t")[:2])
    # Demšar (2006), table 5: q_0.05 = 2.343 for three classifiers
    assert difference == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 6)), abs=1e-3)


def test_friedman_matches_the_textbook_formula(results):
    statistic, p, seeds = stats.friedman(stats.cell_scores(results), "t")
    # rank sums a=6, b=12.5, c=17.5 (one tie); scipy corrects for ties: compare with the formula
    # 12/(n k (k+1)) * sum(R^2) - 3 n (k+1), divided by 1 - sum(t^3 - t) / (n (k^3 - k))
    n, k = 6, 3
    raw = 12 / (n * k * (k + 1)) * (6**2 + 12.5**2 + 17.5**2) - 3 * n * (k + 1)
    corrected = raw / (1 - (2**3 - 2) / (n * (k**3 - k)))
    assert seeds == 6 and statistic == pytest.approx(corrected)
    assert p == pytest.approx(math.exp(-corrected / 2))  # chi-squared with 2 degrees of freedom


def test_bootstrap_interval_contains_the_mean_and_needs_three_seeds():
    values = [0.90, 0.91, 0.92, 0.93, 0.94, 0.95]
    low, high = stats.bootstrap_ci(values)
    assert low < sum(values) / 6 < high and 0.90 <= low and high <= 0.95
    assert stats.bootstrap_ci(values) == (low, high)  # seeded: the same interval every time
    assert stats.bootstrap_ci([0.9, 0.8]) is None
    assert stats.bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_time_to_target_and_normalised_score(tmp_path):
    best = {"random": [0.6, 0.8, 0.7], "tpe": [0.9, 1.0, 0.95]}
    results = load_results(write_store(tmp_path / "r", best=best, seeds=range(3)))
    target = stats.time_to_target(results).set_index(["strategy", "seed", "target"])
    assert target.loc[("tpe", 1, 0.95), "trials"] == 2 and target.loc[("tpe", 1, 0.95), "seconds"] == 3.0
    assert math.isnan(target.loc[("random", 0, 0.95), "trials"])  # never reached 0.95 of 1.0
    norm = stats.normalised(stats.cell_scores(results)).set_index(["strategy", "seed"])["normalised"]
    # 0 at the best seen (1.0), 1 at random search's median best (0.7)
    assert norm[("tpe", 1)] == 0 and norm[("random", 2)] == pytest.approx(1.0)
    assert norm[("tpe", 0)] == pytest.approx(0.1 / 0.3)


def test_the_report_writes_every_picture_and_the_html_points_only_at_files_that_exist(results, tmp_path):
    md, page = write_report(get_plugin_manager(), results)
    out = md.parent
    html = page.read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert {"ranks.png", "critical-difference.png", "anytime-t.png", "learning-t.png", "speed.png",
            "profiles.png"} <= set(images)
    for name in images:
        assert (out / name).is_file() and (out / name).stat().st_size > 1000, name
    assert re.findall(r"!\[[^]]*\]\(([^)]+)\)", md.read_text()) == images  # one markdown source for both
    assert "<table>" in html and "Friedman" in html
    text = md.read_text()
    # the whole study's test and resolution, and what the pairs that do not separate rule out
    assert re.search(r"Across every task and seed \(6 blocks, the 3 entries every block has\): Friedman χ² = "
                     r"[\d.]+, p = [\d.e-]+; Nemenyi's critical difference at alpha 0.05 is 1\.35 ranks", text)
    # six seeds: no p-value falls below 2/64, above Holm's strictest level for three pairs (0.05/3)
    assert "**t**: 3 of 3 pairs do not separate, with too few seeds to find any difference." in text


@pytest.mark.parametrize("seeds, lines", [(6, 18), (40, 3)])
def test_learning_curves_draw_a_line_a_seed_or_past_thirty_seeds_each_entrys_median(tmp_path, monkeypatch, seeds,
                                                                                     lines):
    """A picture of 10,000 seeds' lines shows nothing and took minutes: past `LINES_PER_ENTRY`
    seeds an entry is its median per epoch with the interquartile band."""
    from automl_bench._plugins.report_sections import figures

    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(fig) or path)
    best = {k: [v[s % 6] for s in range(seeds)] for k, v in BEST.items()}
    results = load_results(write_store(tmp_path / "many", best=best, seeds=range(seeds)))
    figures.learning_curves(results, "t", tmp_path / "l.png", figures.colours(["a", "b", "c"]))
    accuracy = drawn[0].axes[0]
    assert len(accuracy.lines) == lines
    assert accuracy.get_legend_handles_labels()[1] == (
        ["a", "b", "c"] if seeds <= figures.LINES_PER_ENTRY else [f"{e} (median, quartiles of {seeds})" for e in "abc"])
    if seeds > figures.LINES_PER_ENTRY:  # at epoch 2 a best trial scores its best: the line ends at their median
        assert accuracy.lines[0].get_ydata()[-1] == pytest.approx(np.median(best["a"]))


def test_the_report_of_many_seeds_summarises_them(tmp_path):
    """Every statistic streams over seeds: a report of 300 seeds writes every picture, and its
    bootstrap intervals are those of unbatched resampling."""
    from scipy.stats import bootstrap

    best = {k: [v[s % 6] + s * 1e-5 for s in range(300)] for k, v in BEST.items()}
    results = load_results(write_store(tmp_path / "many", best=best, seeds=range(300)))
    md, page = write_report(get_plugin_manager(), results)
    assert {"learning-t.png", "anytime-t.png", "ranks.png"} <= {p.name for p in md.parent.iterdir()}
    data = best["a"]
    whole = bootstrap((data,), lambda x, axis: x.mean(axis=axis), n_resamples=9999, method="percentile",
                      random_state=np.random.default_rng(0)).confidence_interval
    assert stats.bootstrap_ci(data) == (float(whole.low), float(whole.high))


def test_fewer_than_three_seeds_say_so_instead_of_a_number(tmp_path):
    results = load_results(write_store(tmp_path / "two", seeds=range(2)))
    text = write_report(get_plugin_manager(), results)[0].read_text()
    assert "needs ≥ 3 seeds" in text
    assert "Friedman" not in text  # not computed from two seeds
    assert "performance profiles" not in text  # nor profiles: a study needs seeds


def test_a_cell_with_no_successful_trial_is_shown_as_such(tmp_path):
    directory = write_store(tmp_path / "f")
    store = Store(directory / "bench.sqlite")
    run = store.start_run({})
    for number in range(2):
        store.record_trial(CellKey("t", "toy", "broken", 0), number, run, 1, {}, TrialOutcome("failed", error="x"),
                           None, 0.1)
    store.close()
    text = write_report(get_plugin_manager(), load_results(directory))[0].read_text()
    row = next(line for line in text.splitlines() if "| broken " in line)
    assert "- ± -" in row and "2 (2, 0); 1 seed with none ok" in row


def test_a_broken_section_plugin_costs_only_its_own_section(results, monkeypatch):
    class Broken:
        @hookimpl
        def bench_report_sections(self, register):
            register(ReportSectionSpec("boom", "fails", lambda results, out: 1 / 0, order=1))
            register(ReportSectionSpec("extra", "works", lambda results, out: ReportSection("Extra", "hello"), order=99))

    host = get_plugin_manager()
    host.pm.register(Broken())
    text = write_report(host, results)[0].read_text()
    assert "*This section could not be written: ZeroDivisionError: division by zero*" in text
    assert "## Extra\n\nhello" in text and "## Leaderboard" in text


def test_bench_report_command_and_its_errors(results, tmp_path):
    ok = CliRunner().invoke(cli, ["report", str(results.directory)])
    assert ok.exit_code == 0 and ok.output.splitlines()[-1].endswith("report/index.html")
    for name in ("trials.csv", "leaderboard.csv", "leaderboard.md"):  # the leaderboards are rebuilt too
        assert (results.directory / name).stat().st_size > 0, name
    missing = CliRunner().invoke(cli, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "is not a directory; give a results directory" in missing.output
    parent = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert parent.exit_code == 1 and "holds no results store (bench.sqlite)" in parent.output
    assert "these directories in it hold results: hand" in parent.output


def test_load_results_of_a_store_without_its_suite_recorded(tmp_path):
    directory = write_store(tmp_path / "old")
    store = Store(directory / "bench.sqlite")
    store.db.execute("DELETE FROM meta WHERE key = 'suite'")
    store.set_meta("suite_name", "old-suite")
    store.close()
    results = load_results(directory)
    assert (results.suite, results.metric, dict(results.tasks)) == ("old-suite", "accuracy", {})
    with pytest.raises(ResultsError):
        load_results(tmp_path / "none")


def test_a_pruned_trials_partial_score_is_not_a_best_as_in_the_leaderboard(tmp_path):
    directory = write_store(tmp_path / "p", seeds=range(3))
    store = Store(directory / "bench.sqlite")
    run = store.start_run({})
    store.record_trial(CellKey("t", "toy", "a", 0), 2, run, 1, {}, TrialOutcome("pruned", {"val_accuracy": 0.99},
                                                                                 epochs=1), 0.99, 0.1)
    store.close()
    results = load_results(directory)
    scores = stats.cell_scores(results)
    a0 = scores[(scores["strategy"] == "a") & (scores["seed"] == 0)].iloc[0]
    assert a0["best"] == 0.90 and a0["trials"] == 3
    board = results.leaderboard.set_index(["strategy"])
    assert board.loc["a", "val_mean"] == pytest.approx(scores[scores["strategy"] == "a"]["best"].mean())


def test_epochs_are_read_on_demand_all_or_of_some_trials(results):
    every = results.epochs
    assert len(every) == 3 * 6 * 2 * 2  # entries x seeds x trials x epochs
    some = results.epochs_of(results.trials[(results.trials["strategy"] == "a") & (results.trials["trial"] == 1)])
    assert len(some) == 6 * 2 and set(some["strategy"]) == {"a"} and set(some["trial"]) == {1}
    assert list(some.loc[some["seed"] == 0, "val_accuracy"]) == pytest.approx([0.45, 0.90])


def test_best_so_far_carries_over_trials_without_a_score(tmp_path):
    directory = write_store(tmp_path / "g", seeds=range(1))
    store = Store(directory / "bench.sqlite")
    run = store.start_run({})
    store.record_trial(CellKey("t", "toy", "a", 0), 2, run, 1, {}, TrialOutcome("failed", error="x", train_seconds=1.0),
                       None, 0.1)
    store.close()
    curve = stats.best_so_far(load_results(directory).trials).query("strategy == 'a'")
    assert list(curve["best_so_far"]) == [0.5, 0.90, 0.90]
    assert list(curve["seconds_so_far"]) == [1.5, 3.0, 4.0]


def test_transfer_tasks_get_a_picture_from_the_leaderboard(tmp_path):
    directory = tmp_path / "tr"
    directory.mkdir()
    store = Store(directory / "bench.sqlite")
    variants = {f"x-k{k}-{m}": {"base": "x", "shots": k, "mode": m} for k in (10, 100) for m in ("scratch", "frozen")}
    store.set_meta("suite", json.dumps({"name": "tr", "metric": "accuracy", "variants": variants,
                                        "tasks": {t: {"model": "cnn", "dataset": "toy"} for t in variants}}))
    run = store.start_run({})
    for task, v in variants.items():
        for seed in range(3):
            score = 0.5 + v["shots"] / 1000 + (0.1 if v["mode"] == "frozen" else 0) + seed / 100
            cell = CellKey(task, "toy", "random", seed)
            store.record_trial(cell, 0, run, 1, {}, TrialOutcome("ok", {"val_accuracy": score}, epochs=1), score, 0.1)
            store.record_final(cell, 0, run, {}, TrialOutcome("ok", {"test_accuracy": score}))
    store.close()
    results = load_results(directory)
    text = write_report(get_plugin_manager(), results)[0].read_text()
    assert "## Transfer" in text and "![Transfer on x](transfer-x.png)" in text
    assert (directory / "report" / "transfer-x.png").stat().st_size > 1000
    frozen = results.leaderboard.set_index("task").loc["x-k10-frozen"]
    # 0.5 + 10/1000 + 0.1, plus 0, 0.01 and 0.02 on seeds 0-2: mean 0.62
    assert frozen["test_mean"] == pytest.approx(0.62) and frozen["test_ci_low"] <= 0.62 <= frozen["test_ci_high"]


@pytest.mark.parametrize("shots", [(20, 20), (5, 20)])
def test_the_transfer_figure_sets_modes_side_by_side_at_one_number_of_shots(tmp_path, monkeypatch, shots):
    import pandas as pd

    from automl_bench._plugins.report_sections import figures

    drawn = {}
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.setdefault("ax", fig.axes[0]) and path)
    summary = pd.DataFrame({"label": ["frozen", "scratch"], "shots": list(shots), "mean": [0.8, 0.82],
                            "ci_low": [0.79, 0.80], "ci_high": [0.81, 0.84]})
    figures.transfer(summary, "photos", tmp_path / "t.png", {"frozen": "C0", "scratch": "C1"})
    ax = drawn["ax"]
    if shots[0] == shots[1]:  # one number of shots: a point per mode, named on the axis
        assert ax.get_xlabel() == "20 labelled training examples per class" and ax.get_xscale() == "linear"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["frozen", "scratch"]
    else:  # an axis of shots: score against shots, on a log scale
        assert ax.get_xlabel() == "labelled training examples per class" and ax.get_xscale() == "log"
