"""`bench history`: a cell's series over exports, its steps, the commits between, and the exit
status that gates a pull request on a new step."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from automl_bench._cli import cli
from automl_bench._regression import history as _history
from automl_bench._regression.baseline import Baseline, SeedRow, SuiteInfo, write


def export(folder, i: int, best: float, seconds: float, commit: str = "", suite: str = "ci", seeds: int = 3,
           regression: dict | None = None):
    """Export number ``i`` (made on day i) of one cell, every seed at ``best`` and ``seconds``."""
    rows = [SeedRow(task="t", backend="torch", strategy="random", seed=s, best_val=best, test=best,
                    trials_to_best=1.0, epoch_seconds=seconds, wall_seconds=10.0, trials=4, failed=0)
            for s in range(seeds)]
    baseline = Baseline(created=f"2026-11-{i + 1:02d}T00:00:00+00:00", automl_bench="0.1.0",
                        suite=SuiteInfo(name=suite, sha256="x", metric="accuracy"),
                        environment={"git_commit": commit or f"{i:02d}".ljust(40, "f"), "machine": "m"}, rows=rows,
                        regression=regression or {})
    path = folder / f"{i:03d}.json"
    write(baseline, path)
    return path


def noisy(n: int, level: float, sd: float, seed: int) -> list[float]:
    return list(level + np.random.default_rng(seed).normal(0, sd, n))


def history(folder, *args):
    return CliRunner().invoke(cli, ["history", str(folder), *args])


def test_a_step_is_found_where_it_happened_and_named_with_its_exports(tmp_path):
    scores = noisy(12, 0.95, 0.002, 0) + noisy(8, 0.92, 0.002, 1)
    times = noisy(20, 1.0, 0.01, 2)
    for i, (b, t) in enumerate(zip(scores, times)):
        export(tmp_path, i, b, t)
    found = {s.metric: s for s in _history.series(_history.read_histories([tmp_path])[0].exports)}
    assert [(s.index, round(s.change, 2)) for s in found["best_val"].steps] == [(12, -0.03)]  # export 13
    assert found["epoch_seconds"].steps == []  # noise is not a step
    result = history(tmp_path)
    assert result.exit_code == 0, result.output
    assert "| t/torch/random | best_val      |       20 | 0.9503  | 0.9212   | -0.0296 at commit 13 (beyond " \
           "tolerance) |" in result.output
    assert ("last export before it 2026-11-12T00:00:00+00:00 (11ffffffffff), first after "
            "2026-11-13T00:00:00+00:00 (12ffffffffff)") in result.output


def test_a_step_the_newest_export_starts_fails_the_gate_only_when_asked(tmp_path):
    for i, t in enumerate(noisy(15, 1.0, 0.01, 3) + [1.4]):  # the newest export is 40% slower
        export(tmp_path, i, 0.95, t)
    assert history(tmp_path).exit_code == 0
    result = history(tmp_path, "--fail-on-step")
    assert result.exit_code == 1
    assert "the newest export starts 1 step(s) for the worse: t/torch/random epoch_seconds" in result.output
    assert history(tmp_path, "--fail-on-step", "--max-slowdown", "1.5").exit_code == 0  # within tolerance


def test_an_improvement_does_not_fail_the_gate(tmp_path):
    for i, t in enumerate(noisy(15, 1.0, 0.01, 4) + [0.6]):
        export(tmp_path, i, 0.95, t)
    assert history(tmp_path, "--fail-on-step").exit_code == 0


def test_the_commits_to_bisect_come_from_git(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], check=True)
    commits = []
    for n in range(16):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"c{n}"], check=True)
        commits.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip())
    exports = tmp_path / "exports"
    exports.mkdir()
    values = noisy(8, 0.95, 0.001, 5) + noisy(6, 0.90, 0.001, 6)
    for i, b in enumerate(values):  # commits c0-c7, then c10-c15: c8, c9 and c10 came between c7 and c10
        export(exports, i, b, 1.0, commit=commits[i if i < 8 else i + 2])
    result = history(exports, "--repository", str(repo))
    short = [subprocess.run([*git, "rev-parse", "--short", c], capture_output=True, text=True).stdout.strip()
             for c in commits[8:11]]
    assert f"3 commits to bisect: {', '.join(short)}" in result.output


def test_exports_of_two_suites_are_shown_apart_with_a_warning(tmp_path):
    for i in range(5):
        export(tmp_path, i, 0.9, 1.0, suite="a")
        export(tmp_path, 10 + i, 0.8, 1.0, suite="b")
    result = history(tmp_path)
    assert result.exit_code == 0
    assert "## automl-bench history: a" in result.output and "## automl-bench history: b" in result.output
    assert "warning: the exports are of 2 suites or budgets, shown apart" in result.output


def test_a_damaged_export_is_named_and_skipped(tmp_path):
    for i in range(5):
        export(tmp_path, i, 0.9, 1.0)
    (tmp_path / "100.json").write_text("{ not json")
    result = history(tmp_path)
    assert result.exit_code == 0 and "5 exports" in result.output
    assert "warning: skipped" in result.output and "100.json:1:3: not valid JSON" in result.output


def test_two_exports_of_one_commit_are_repeats_of_it(tmp_path):
    for i in range(6):
        export(tmp_path, i, 0.90 + 0.01 * (i % 2), 1.0, commit=f"{i // 2:02d}".ljust(40, "f"))
    best = next(s for s in _history.series(_history.read_histories([tmp_path])[0].exports) if s.metric == "best_val")
    assert [p.commit[:2] for p in best.points] == ["00", "01", "02"]
    assert [p.repeats for p in best.points] == [2, 2, 2] and [round(p.value, 3) for p in best.points] == [0.905] * 3


def test_a_short_history_says_what_it_needs(tmp_path):
    for i in range(3):
        export(tmp_path, i, 0.9, 1.0)
    assert f"needs ≥ {_history.MIN_POINTS} commits" in history(tmp_path).output


@pytest.mark.parametrize(("values", "kind", "expected"), [
    ([0.9] * 10, "score", []),  # flat: nothing
    ([0.9] * 5 + [0.8] * 5, "score", [(5, pytest.approx(-0.1))]),  # flat with one clean step
    ([1.0] * 6 + [2.0] * 6, "time", [(6, pytest.approx(2.0))]),  # times step as ratios
])
def test_steps_on_clean_series(values, kind, expected):
    assert [(s.index, s.change) for s in _history.find_steps(values, kind)] == expected


def test_drift_since_a_reference_fails_although_no_single_step_did(tmp_path):
    """Three slowdowns of 8%, each under the 10% tolerance, are 26% since the first export."""
    exports = tmp_path / "exports"
    exports.mkdir()
    for i, t in enumerate([1.0, 1.0, 1.08, 1.08, 1.1664, 1.1664, 1.2597]):
        export(exports, i, 0.95, t)
    current = exports / "006.json"
    step_by_step = CliRunner().invoke(cli, ["compare", str(exports / "005.json"), str(current)])
    assert step_by_step.exit_code == 0, step_by_step.output  # 8%: within tolerance
    drift = CliRunner().invoke(cli, ["compare", "--against-history", str(exports), "--since", "6", str(current)])
    assert drift.exit_code == 1, drift.output  # since 6 exports back: x1.26
    assert "epoch_seconds" in drift.output and "1.26" in drift.output
    by_commit = CliRunner().invoke(cli, ["compare", "--against-history", str(exports), "--since", "02ffff",
                                         str(current)])
    assert by_commit.exit_code == 1, by_commit.output  # export 2 by its commit: x1.1664
    missing = CliRunner().invoke(cli, ["compare", "--against-history", str(exports), "--since", "abcdef", str(current)])
    assert missing.exit_code == 2 and "no export of commit abcdef" in missing.output


def test_the_site_has_a_chart_per_cell_and_metric_and_every_link_it_makes_exists(tmp_path):
    pytest.importorskip("altair")
    import re

    exports = tmp_path / "exports"
    exports.mkdir()
    for i, b in enumerate(noisy(10, 0.95, 0.002, 7) + noisy(6, 0.90, 0.002, 8)):
        export(exports, i, b, 1.0)
    site = tmp_path / "site"
    result = history(exports, "--site", str(site), "--commit-url", "https://example.org/c/{commit}")
    assert result.exit_code == 0, result.output
    index = (site / "index.html").read_text()

    def links_in(text):  # the page's own links, not those in its charts' specs
        return re.findall(r'href="([^"]+)"', re.sub(r"<script.*?</script>", "", text, flags=re.S))

    def scripts_in(text):
        return re.findall(r'<script src="([^"]+)"', text)

    links = links_in(index)
    assert links == ["cells/t--torch--random.html"]
    assert all((site / link).is_file() for link in links)
    page = (site / links[0]).read_text()
    assert links_in(page) == ["../index.html"]
    assert scripts_in(index) == ["vega-embed.js"] and scripts_in(page) == ["../vega-embed.js"]
    assert "vegaEmbed" in (site / "vega-embed.js").read_text()  # Vega itself, written once beside the index
    for text in (index, page):
        assert "vegaEmbed(" in text and "https://" not in text.split("vegaEmbed(")[0]  # nothing from a network
        assert all(f'"{metric}"' in text for metric in _history.METRICS)  # a chart per metric (facets)
        assert "https://example.org/c/" + "10".ljust(40, "f") in text  # points link to their commit
    assert "-0.0" in page and "beyond" in page  # the step, in the cell's table


def test_a_site_of_several_suites_judges_each_by_its_own_tolerances(tmp_path):
    """Each suite's `[regression]` tolerances, not those of the folder read last."""
    pytest.importorskip("altair")
    for suite, drop in (("a", 0.2), ("b", 0.001)):
        (tmp_path / suite).mkdir()
        for i, b in enumerate(noisy(6, 0.95, 0.002, 1)):
            export(tmp_path / suite, i, b, 1.0, suite=suite, regression={"max_score_drop": drop})
    result = history(tmp_path / "a", str(tmp_path / "b"), "--site", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    index = (tmp_path / "site" / "index.html").read_text()
    a, b = index.index("<h2>a</h2>"), index.index("<h2>b</h2>")
    first, second = sorted([(a, "0.2"), (b, "0.001")])
    assert f"a score by more than {first[1]}," in index[first[0]:second[0]]
    assert f"a score by more than {second[1]}," in index[second[0]:]


@pytest.mark.timeout(300)
def test_a_real_torch_run_records_cpu_seconds_per_epoch_and_compare_judges_them(tmp_path):
    pytest.importorskip("torch")
    from automl_bench._regression.baseline import from_results

    suite = tmp_path / "cpu.toml"
    suite.write_text('name = "cpu"\nseeds = [0, 1, 2]\n[budget]\nmax_trials = 2\n[matrix]\nbackends = ["torch"]\n'
                     'strategies = ["random"]\n[space]\nepochs = 2\nunits = 16\n[[tasks]]\nname = "d"\n'
                     'dataset = "digits"\n')
    run = CliRunner().invoke(cli, ["run", str(suite), "--out", str(tmp_path / "r"), "--quiet", "--no-report"])
    assert run.exit_code == 0, run.output
    exported = from_results(tmp_path / "r" / "cpu")
    assert 0 < exported.calibration_cpu["torch"] < 3 * exported.calibration["torch"] + 0.05  # its CPU figure too
    for row in exported.rows:
        assert row.epoch_cpu_seconds is not None and 0 < row.epoch_cpu_seconds
        assert row.epoch_cpu_seconds < 3 * row.epoch_seconds + 0.05  # one thread: about the wall time, not more
    write(exported, tmp_path / "a.json")
    slower = exported.model_copy(update={"rows": [r.model_copy(update={"epoch_cpu_seconds": 2 * r.epoch_cpu_seconds})
                                                  for r in exported.rows]})
    write(slower, tmp_path / "b.json")  # twice the CPU seconds, the same wall seconds
    by_wall = CliRunner().invoke(cli, ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                       "--gate", "epoch_seconds"])
    by_cpu = CliRunner().invoke(cli, ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                      "--gate", "epoch_seconds", "--time", "cpu"])
    assert by_wall.exit_code == 0, by_wall.output
    assert by_cpu.exit_code == 1 and "x2.00" in by_cpu.output.replace("×", "x"), by_cpu.output
