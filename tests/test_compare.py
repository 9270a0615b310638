"""`bench export` and `bench compare`: the regression gate, on toy runs with planted regressions.

The toy backend's environment variables plant what a test needs (`automl_bench.testing.toy`):
``TOY_SCORE_SHIFT`` a drop of every score, ``TOY_EPOCH_SECONDS`` the time of an epoch and
``TOY_CALIBRATION_SECONDS`` the time of its calibration workload. A *different machine* is
faked by editing the environment recorded in an exported baseline, and said so where it is done.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from automl_bench._cli import cli
from automl_bench._regression.baseline import Baseline, SeedRow, SuiteInfo
from automl_bench._regression.compare import Settings, compare
from automl_bench.testing import TOY_PLUGIN, toy_suite

SEEDS = (0, 1, 2, 3, 4)
EPOCH = 0.02  # seconds an epoch of the toy backend sleeps: times well above the clock's rounding


def _run(directory: Path, suite_text: str, env: dict[str, str], **options) -> Path:
    """A toy run in ``directory``, with the toy's planting variables set; returns its results dir."""
    from automl_bench._manager import get_plugin_manager
    from automl_bench._run.driver import RunOptions, run_suite
    from automl_bench._suite import load_suite

    directory.mkdir(parents=True, exist_ok=True)
    suite = directory / "suite.toml"
    suite.write_text(suite_text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCH_DISABLE_PLUGINS", ",".join(_foreign()))
        for key, value in {"TOY_EPOCH_SECONDS": str(EPOCH), **env}.items():
            mp.setenv(key, value)
        host = get_plugin_manager([TOY_PLUGIN])
        results = run_suite(load_suite(suite, host), host, RunOptions(out=directory / "results", **options))
    return results.directory


def _foreign() -> list[str]:
    from conftest import FOREIGN_PLUGINS

    return FOREIGN_PLUGINS


SUITE = toy_suite(seeds=SEEDS, max_trials=3)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Five toy runs of one suite: a baseline, the same code again (A/A), a planted score drop of
    2 points, a planted 30% slowdown of training, and the unchanged code on a machine twice as
    slow (the toy's epochs and its calibration workload both take twice as long)."""
    root = tmp_path_factory.mktemp("runs")
    return {
        "base": _run(root / "base", SUITE, {}),
        "again": _run(root / "again", SUITE, {}),
        "drop": _run(root / "drop", SUITE, {"TOY_SCORE_SHIFT": "-0.02"}),
        "slow": _run(root / "slow", SUITE, {"TOY_EPOCH_SECONDS": str(EPOCH * 1.3)}),
        "slow-machine": _run(root / "slow-machine", SUITE, {"TOY_EPOCH_SECONDS": str(EPOCH * 2),
                                                            "TOY_CALIBRATION_SECONDS": "0.002"}),
    }


def bench(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# --------------------------------------------------------------------------- export


def test_export_writes_a_small_file_with_everything_to_reproduce(runs, tmp_path):
    out = tmp_path / "baseline.json"
    code, _, _ = bench("export", runs["base"], "-o", out)
    assert code == 0
    assert out.stat().st_size < 10_000  # kilobytes: fit to commit
    data = json.loads(out.read_text())
    assert data["format"] == "automl-bench-baseline" and data["version"] == 1
    assert len(data["suite"]["sha256"]) == 64 and data["suite"]["metric"] == "accuracy"
    assert {"python", "cpu", "cpu_count", "machine", "packages", "git_commit"} <= set(data["environment"])
    assert data["environment"]["devices"] == {"toy": "cpu (threads=1)"}
    assert 0.0009 < data["calibration"]["toy"] < 0.05  # the toy's workload sleeps 1 ms
    assert [r["seed"] for r in data["rows"]] == list(SEEDS)
    row = data["rows"][0]
    assert set(row) == {"task", "backend", "strategy", "seed", "best_val", "test", "trials_to_best",
                        "epoch_seconds", "wall_seconds", "trials", "failed", "epoch_cpu_seconds", "latency_ms",
                        "params"}
    assert row["trials"] == 3 and row["failed"] == 0
    assert row["epoch_seconds"] == pytest.approx(EPOCH, rel=0.5)
    assert 0 < row["best_val"] <= 1 and row["test"] == pytest.approx(row["best_val"], abs=1e-6)
    # the file reads back as the directory it came from
    from automl_bench._regression.baseline import from_results, read

    assert read(out).rows == from_results(runs["base"]).rows


def test_calibrate_false_records_no_calibration(tmp_path):
    """`[execution] calibrate = false` skips the workload: no figure is recorded, and the export says so
    by leaving the backend out (compare then does not judge its times across machines)."""
    results = _run(tmp_path, SUITE.replace("[budget]", "[execution]\ncalibrate = false\n\n[budget]"), {})
    from automl_bench._regression.baseline import from_results

    assert from_results(results).calibration == {}


def test_export_of_a_directory_without_results_says_what_to_give(tmp_path):
    code, _, err = bench("export", tmp_path, "-o", tmp_path / "b.json")
    assert code == 2 and "holds no results store" in err


# --------------------------------------------------------------------------- the gate


def test_unchanged_code_passes(runs, tmp_path):
    code, out, _ = bench("compare", runs["base"], runs["again"], "--junit", tmp_path / "j.xml")
    assert code == 0, out
    assert out.startswith("## automl-bench compare: no regression")
    for metric in ("best val accuracy", "test accuracy of best"):  # identical reruns: certainly unchanged
        assert _verdict(out, metric) == "unchanged"
    assert _verdict(out, "seconds per epoch") in ("unchanged", "inconclusive")
    assert "Times: raw (both sides ran on one machine)" in out


def test_a_planted_score_drop_fails_the_gate(runs, tmp_path):
    junit = tmp_path / "gate.xml"
    code, out, err = bench("compare", runs["base"], runs["drop"], "--junit", junit)
    assert code == 1, out
    assert "## automl-bench compare: 2 regressions" in out and "### Regressions" in out
    assert _verdict(out, "best val accuracy") == "**regressed**"
    assert _verdict(out, "test accuracy of best") == "**regressed**"
    assert "-0.0200" in out and "2 regression(s)" in err
    # the JUnit XML parses with a standard parser, and its failures are the regressions
    from junitparser import Failure, JUnitXml

    xml = JUnitXml.fromfile(str(junit))
    failed = [(case.classname, case.name) for suite in xml for case in suite
              if any(isinstance(r, Failure) for r in case.result)]
    assert failed == [("toy-task.toy.random", "best val accuracy"), ("toy-task.toy.random", "test accuracy of best")]
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.find("testsuite").get("failures") == "2"


def test_plot_draws_every_judged_change(runs, tmp_path):
    picture = tmp_path / "compare.png"
    code, _, _ = bench("compare", runs["base"], runs["drop"], "--plot", picture)
    assert code == 1
    from PIL import Image

    with Image.open(picture) as image:  # a real PNG, two panels wide
        assert image.format == "PNG" and image.width > 2 * image.height


def test_fail_on_never_reports_without_failing(runs):
    code, out, _ = bench("compare", runs["base"], runs["drop"], "--fail-on", "never")
    assert code == 0 and "### Regressions" in out


def test_a_planted_slowdown_fails_the_gate(runs):
    code, out, _ = bench("compare", runs["base"], runs["slow"])
    assert code == 1, out
    assert _verdict(out, "seconds per epoch") == "**regressed**"
    assert _verdict(out, "best val accuracy") == "unchanged"
    change = _cell(out, "seconds per epoch", "change")
    assert float(change.lstrip("×")) == pytest.approx(1.3, abs=0.1)


def test_tolerances_from_the_suite_and_the_command_line(runs, tmp_path):
    """The current side's [regression] table sets the tolerances; the command line overrides it;
    the table does not change the suite's identity (results stay comparable)."""
    tolerant = SUITE + "\n[regression]\nmax_score_drop = 0.05\n"
    current = _run(tmp_path / "tolerant", tolerant, {"TOY_SCORE_SHIFT": "-0.02"})
    code, out, _ = bench("compare", runs["base"], current)
    assert code == 0, out
    assert "scores: 0.05 absolute" in out
    assert _verdict(out, "best val accuracy") == "unchanged"  # a drop of 0.02 is within 0.05
    code, out, _ = bench("compare", runs["base"], current, "--max-score-drop", "0.01")
    assert code == 1 and _verdict(out, "best val accuracy") == "**regressed**"
    code, out, _ = bench("compare", runs["base"], current, "--gate", "epoch_seconds")
    assert code == 0 and _cell(out, "best val accuracy", "note") == "not gated, p not Holm-adjusted"


def test_times_across_machines_are_calibrated(runs, tmp_path):
    """Unchanged code on a machine twice as slow: raw times double, calibrated ones do not. The
    other machine is faked: the baseline's recorded CPU is edited, as a baseline exported on
    another machine would record it."""
    baseline = tmp_path / "baseline.json"
    bench("export", runs["base"], "-o", baseline)
    data = json.loads(baseline.read_text())
    data["environment"].update(machine="0123456789ab", cpu="Another CPU")
    baseline.write_text(json.dumps(data))
    code, out, _ = bench("compare", baseline, runs["slow-machine"])
    assert code == 0, out
    assert "Times: calibrated" in out and "cpu 'Another CPU' -> " in out
    note = _cell(out, "seconds per epoch", "note")
    assert note.startswith("calibrated; raw ×") and float(note.split("×")[1]) == pytest.approx(2.0, rel=0.15)
    assert float(_cell(out, "seconds per epoch", "change").lstrip("×")) == pytest.approx(1.0, abs=0.15)
    # on one machine, raw times are compared: the same runs fail the gate
    code, out, _ = bench("compare", runs["base"], runs["slow-machine"])
    assert code == 1 and _verdict(out, "seconds per epoch") == "**regressed**"
    # a real slowdown on the other machine is still caught through the calibration
    code, out, _ = bench("compare", baseline, runs["slow"])
    assert code == 1 and _verdict(out, "seconds per epoch") == "**regressed**"


def test_across_machines_without_calibration_times_are_not_judged(runs, tmp_path):
    baseline = tmp_path / "baseline.json"
    bench("export", runs["base"], "-o", baseline)
    data = json.loads(baseline.read_text())
    data["environment"]["cpu"] = "Another CPU"  # faked: exported on another machine
    data["calibration"] = {}  # and by a version that recorded no calibration
    baseline.write_text(json.dumps(data))
    code, out, _ = bench("compare", baseline, runs["slow"])
    assert code == 0, out
    assert _verdict(out, "seconds per epoch") == "inconclusive"
    assert "the baseline has no calibration figure for backend 'toy'" in _cell(out, "seconds per epoch", "note")
    code, out, _ = bench("compare", baseline, runs["slow"], "--time-basis", "raw")
    assert code == 1


def test_github_action_benchmark_json(runs, tmp_path):
    scores, times = tmp_path / "scores.json", tmp_path / "times.json"
    code, _, _ = bench("compare", runs["base"], runs["again"], "--json-scores", scores, "--json-times", times)
    assert code == 0
    # github-action-benchmark's custom tools read a list of {name, unit, value[, range, extra]}:
    # name and unit strings, value a number
    for path, names in ((scores, ["best val accuracy", "test accuracy of best"]),
                        (times, ["seconds per epoch", "wall seconds", "ms to predict one example", "parameters"])):
        entries = json.loads(path.read_text())
        assert [e["name"] for e in entries] == [f"toy-task/toy/random: {n}" for n in names]
        for e in entries:
            assert set(e) <= {"name", "unit", "value", "range", "extra"}
            assert isinstance(e["name"], str) and isinstance(e["unit"], str)
            assert isinstance(e["value"], float) and math.isfinite(e["value"])
            assert e["range"].startswith("± ")
    assert json.loads(times.read_text())[0]["unit"] == "s"


def test_markdown_file_and_aa_noise(runs, tmp_path):
    md = tmp_path / "summary.md"
    code, out, _ = bench("compare", runs["base"], runs["again"], "--aa", "--markdown", md)
    assert code == 0 and md.read_text() == out
    assert "### Noise (A/A: the same code run twice)" in out
    noise_rows = [line for line in out.splitlines() if line.startswith("| seconds per epoch")]
    assert noise_rows and "max_slowdown" in noise_rows[-1]


# --------------------------------------------------------------------------- inputs that cannot be compared


def test_missing_and_corrupt_inputs_exit_2(runs, tmp_path):
    code, _, err = bench("compare", tmp_path / "nope.json", runs["base"])
    assert code == 2 and "no such file or directory" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "automl-bench-baseline", "version": 1,')
    code, _, err = bench("compare", bad, runs["base"])
    assert code == 2 and f"{bad}:1:" in err and "not valid JSON" in err
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    code, _, err = bench("compare", other, runs["base"])
    assert code == 2 and "not an automl-bench baseline" in err
    exported = tmp_path / "b.json"
    bench("export", runs["base"], "-o", exported)
    data = json.loads(exported.read_text())
    data["rows"][1]["seed"] = "one"
    exported.write_text(json.dumps(data))
    code, _, err = bench("compare", exported, runs["base"])
    assert code == 2 and "corrupt baseline: rows.1.seed" in err


def test_usage_errors_exit_2_not_1(runs):
    code, _, err = bench("compare", runs["base"], runs["again"], "--gate", "speed")
    assert code == 2 and "choose from best_val, test, epoch_seconds, wall_seconds" in err


def test_another_suite_version_and_budget_are_refused(runs, tmp_path):
    changed = _run(tmp_path / "changed", toy_suite(seeds=SEEDS, max_trials=3, epochs=3), {})
    code, _, err = bench("compare", runs["base"], changed)
    assert code == 2 and "not results of the same suite" in err and "--allow-suite-change" in err
    code, out, err = bench("compare", runs["base"], changed, "--allow-suite-change")
    assert code in (0, 1) and "compared although suite 'toy' changed" in out + err
    capped = _run(tmp_path / "capped", SUITE, {}, max_trials=2)
    code, _, err = bench("compare", runs["base"], capped)
    assert code == 2 and "different numbers of trials" in err and "3 trials against 2" in err


def test_cells_on_one_side_are_listed_and_no_common_cell_exits_2(runs, tmp_path):
    wider = _run(tmp_path / "wider", toy_suite(seeds=SEEDS, max_trials=3, strategies=("random", "grid")), {})
    code, out, _ = bench("compare", runs["base"], wider, "--allow-suite-change")
    assert code == 0
    assert "- only in the current results: toy-task/toy/grid" in out
    other = _run(tmp_path / "other", toy_suite(seeds=SEEDS, max_trials=3, strategies=("grid",)), {})
    code, _, err = bench("compare", runs["base"], other, "--allow-suite-change")
    assert code == 2 and "no cell is on both sides" in err


# --------------------------------------------------------------------------- the statistics, on made-up rows


def _side(values: dict[str, list[float | None]], name: str = "s", seeds=None) -> Baseline:
    seeds = seeds or list(range(len(next(iter(values.values())))))
    rows = []
    for i, seed in enumerate(seeds):
        rows.append(SeedRow(task="t", backend="b", strategy="s", seed=seed,
                            best_val=values.get("best_val", [None] * len(seeds))[i],
                            test=values.get("test", [None] * len(seeds))[i], trials_to_best=1.0,
                            epoch_seconds=values.get("epoch_seconds", [None] * len(seeds))[i],
                            wall_seconds=None, trials=5, failed=0,
                            latency_ms=values.get("latency_ms", [None] * len(seeds))[i],
                            params=values.get("params", [None] * len(seeds))[i]))
    return Baseline(created="", automl_bench="", suite=SuiteInfo(name="x", sha256="0" * 64, metric="accuracy"),
                    rows=rows, source=name)


def _row(comparison, metric):
    return next(r for r in comparison.rows if r.metric == metric)


def test_paired_and_unpaired_tests_agree_with_scipy():
    """The gate's p-value is a one-sided t-test of the change shifted by the margin: paired by
    seed where seeds match (scipy's ttest_rel), Welch's test otherwise (ttest_ind)."""
    from scipy.stats import ttest_ind, ttest_rel

    base = [0.90, 0.92, 0.91, 0.93, 0.90]
    cur = [0.87, 0.90, 0.90, 0.90, 0.89]
    s = Settings(gate=("best_val",))
    row = _row(compare(_side({"best_val": base}), _side({"best_val": cur}), s), "best_val")
    assert row.paired
    expected = ttest_rel([c + 0.01 for c in cur], base, alternative="less").pvalue
    assert row.p == pytest.approx(expected, rel=1e-9)
    ci = ttest_rel(cur, base).confidence_interval(0.95)
    assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high))
    other = _side({"best_val": cur}, seeds=[10, 11, 12, 13, 14])  # other seeds: unpaired
    row = _row(compare(_side({"best_val": base}), other, s), "best_val")
    assert not row.paired
    expected = ttest_ind([c + 0.01 for c in cur], base, equal_var=False, alternative="less").pvalue
    assert row.p == pytest.approx(expected, rel=1e-9)


def test_holm_corrects_over_every_gated_test():
    base = {"best_val": [0.90, 0.92, 0.91, 0.93, 0.90], "test": [0.90, 0.92, 0.91, 0.93, 0.90]}
    cur = {"best_val": [0.87, 0.90, 0.89, 0.90, 0.89], "test": [0.87, 0.90, 0.89, 0.90, 0.89]}
    one = compare(_side(base), _side(cur), Settings(gate=("best_val",)))
    two = compare(_side(base), _side(cur), Settings(gate=("best_val", "test")))
    p = _row(one, "best_val").p
    assert _row(one, "best_val").p_holm == pytest.approx(p)
    assert _row(two, "best_val").p_holm == pytest.approx(min(1.0, 2 * p))  # Holm with two equal p-values


def test_too_few_seeds_is_inconclusive_not_unchanged():
    comparison = compare(_side({"best_val": [0.9, 0.9]}), _side({"best_val": [0.5, 0.5]}), Settings())
    row = _row(comparison, "best_val")
    assert row.verdict == "inconclusive" and "needs ≥ 3 seeds" in row.note
    assert comparison.exit_status() == 0


def test_a_cell_that_stopped_completing_trials_regressed():
    comparison = compare(_side({"best_val": [0.9, 0.9, 0.9]}), _side({"best_val": [0.9, None, None]}), Settings())
    row = _row(comparison, "best_val")
    assert row.verdict == "regressed" and "no trial completed on seeds 1, 2" in row.note
    assert comparison.exit_status() == 1


def test_a_drop_within_the_margin_with_little_noise_is_unchanged():
    base = [0.900, 0.910, 0.920, 0.905, 0.915]
    cur = [b - 0.003 for b in base]
    row = _row(compare(_side({"best_val": base}), _side({"best_val": cur}), Settings()), "best_val")
    assert row.verdict == "unchanged" and row.change == pytest.approx(-0.003)


def _verdict(markdown: str, metric: str) -> str:
    return _cell(markdown, metric, "verdict")


def _cell(markdown: str, metric: str, column: str) -> str:
    """A column of the 'Every comparison' table's row for ``metric``."""
    table = markdown.split("<summary>Every comparison")[1].split("</details>")[0]
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[1] == metric:
            return cells[header.index(column)]
    raise AssertionError(f"no row for {metric!r} in:\n{table}")


def test_the_toy_plants_nothing_unless_told():
    assert "TOY_SCORE_SHIFT" not in os.environ and "TOY_CALIBRATION_SECONDS" not in os.environ


def _cpu_side(cpu: str, epoch_cpu: float, calibration: float, calibration_cpu: float | None) -> Baseline:
    """One cell of five seeds, every epoch 1 wall second and ``epoch_cpu`` CPU seconds (a little
    noise, so the t-test has a spread), on a machine named by its ``cpu``."""
    rows = [SeedRow(task="t", backend="torch", strategy="random", seed=s, best_val=0.9, test=0.9, trials_to_best=1.0,
                    epoch_seconds=1.0, wall_seconds=10.0, trials=4, failed=0,
                    epoch_cpu_seconds=epoch_cpu * (1 + 0.01 * (s - 2))) for s in SEEDS]
    return Baseline(created="2026-12-06T00:00:00+00:00", automl_bench="0.1.0",
                    suite=SuiteInfo(name="s", sha256="x", metric="accuracy"), environment={"cpu": cpu},
                    calibration={"torch": calibration},
                    calibration_cpu={} if calibration_cpu is None else {"torch": calibration_cpu}, rows=rows)


def test_cpu_seconds_are_calibrated_by_the_calibration_workload_s_cpu_seconds():
    """Another machine, whose CPU does half as much per CPU second: CPU seconds per epoch double,
    and so do the calibration workload's CPU seconds, while its wall seconds stay (made up so that
    only the CPU figure can explain the change). `--time cpu` calibrates by the CPU figure."""
    baseline = _cpu_side("A", 1.0, calibration=0.1, calibration_cpu=0.1)
    current = _cpu_side("B", 2.0, calibration=0.1, calibration_cpu=0.2)
    rows = compare(baseline, current, Settings.resolve(current, clock="cpu", gate=["epoch_seconds"])).rows
    row = next(r for r in rows if r.metric == "epoch_seconds")
    assert row.basis == "calibrated" and row.raw_ratio == pytest.approx(2.0, rel=0.01)
    assert row.change == pytest.approx(1.0, rel=0.01) and row.verdict == "unchanged"
    # judged by the wall-clock figure, the same CPU seconds would have doubled: wrongly a regression
    wall_figure_only = _cpu_side("B", 2.0, calibration=0.1, calibration_cpu=0.1)
    row = next(r for r in compare(baseline, wall_figure_only, Settings.resolve(
        current, clock="cpu", gate=["epoch_seconds"])).rows if r.metric == "epoch_seconds")
    assert row.change == pytest.approx(2.0, rel=0.01) and row.verdict == "regressed"
    # an export made before the CPU figure was recorded: CPU seconds are not judged, and it says why
    old = _cpu_side("A", 1.0, calibration=0.1, calibration_cpu=None)
    row = next(r for r in compare(old, current, Settings.resolve(current, clock="cpu", gate=["epoch_seconds"])).rows
               if r.metric == "epoch_seconds")
    assert row.verdict == "inconclusive"
    assert "the baseline has no CPU-time calibration figure for backend 'torch'" in row.note


def test_the_suite_chooses_the_clock_and_the_command_line_overrides_it():
    current = _cpu_side("B", 2.0, calibration=0.1, calibration_cpu=0.2)
    assert Settings.resolve(current).clock == "wall"  # the default
    on_cpu = current.model_copy(update={"regression": {"time": "cpu"}})  # suites/ci.toml's [regression]
    assert Settings.resolve(on_cpu).clock == "cpu"
    assert Settings.resolve(on_cpu, clock="wall").clock == "wall"  # --time wall
    assert Settings.resolve(on_cpu, clock=None).clock == "cpu"  # --time not given


def test_latency_and_parameters_are_gated_as_ratios_when_asked():
    """A model a third larger, and a prediction 40% slower, regress against the tolerated ratio
    (×1.10); parameters are the same on every machine (never calibrated, and identical reruns
    have no spread); neither is judged unless gated."""
    base = {"params": [1000.0, 1200.0, 800.0], "latency_ms": [0.50, 0.52, 0.48]}
    bigger = {"params": [1333.0, 1600.0, 1066.0], "latency_ms": [0.70, 0.73, 0.67]}
    gated = compare(_side(base), _side(bigger), Settings(gate=("params", "latency_ms")))
    assert _row(gated, "params").verdict == "regressed" and _row(gated, "params").change == pytest.approx(4 / 3, rel=1e-3)
    assert _row(gated, "latency_ms").verdict == "regressed"
    same = compare(_side(base), _side(base), Settings(gate=("params", "latency_ms")))
    assert _row(same, "params").verdict == "unchanged"
    assert compare(_side(base), _side(bigger), Settings()).exit_status() == 0  # not gated by default


def test_an_export_carries_each_cells_median_latency_and_parameters(runs):
    from automl_bench._regression.baseline import from_results

    rows = from_results(runs["base"]).rows
    assert all(r.params is not None and r.params > 0 for r in rows)
    assert all(r.latency_ms is not None and r.latency_ms > 0 for r in rows)
