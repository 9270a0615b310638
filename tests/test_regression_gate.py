"""scripts/regression-gate.sh, the steps of .github/workflows/benchmark.yml, run here on the toy
plugin: a stored baseline and the interleaved mode, each with unchanged code and with a planted
regression (the toy's ``TOY_SCORE_SHIFT``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from automl_bench.testing import TOY_PLUGIN, toy_suite

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "regression-gate.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "benchmark.yml"
BIN = Path(sys.executable).parent


def gate(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    suite = tmp_path / "toy.toml"
    if not suite.exists():
        suite.write_text(toy_suite(seeds=(0, 1, 2), max_trials=3))
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "BENCH_PLUGINS": TOY_PLUGIN,
                "TOY_EPOCH_SECONDS": "0.01", **(env or {})}
    args = list(args)
    split = args.index("--") if "--" in args else len(args)  # SCRIPT [options] SUITE [-- compare options]
    return subprocess.run(["bash", str(SCRIPT), *args[:split], str(suite), *args[split:]], capture_output=True,
                          text=True, cwd=tmp_path, env=full_env, timeout=300)


@pytest.fixture
def planted_bench(tmp_path: Path) -> str:
    """A `bench` whose toy scores are 2 points lower: the 'current' side of a bad change."""
    wrapper = tmp_path / "planted-bench"
    wrapper.write_text(f'#!/bin/sh\nTOY_SCORE_SHIFT=-0.02 exec "{BIN / "bench"}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.slow  # the gate's script end to end: three runs of the CI suite
def test_stored_baseline_mode(tmp_path):
    made = gate(tmp_path, "--out", "main")  # the job on main: run and export
    assert made.returncode == 0, made.stderr
    baseline = tmp_path / "main" / "baseline.json"
    assert json.loads(baseline.read_text())["suite"]["name"] == "toy"
    same = gate(tmp_path, "--baseline", str(baseline), "--out", "pr1")
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout.startswith("## automl-bench compare: no regression")
    worse = gate(tmp_path, "--baseline", str(baseline), "--out", "pr2", env={"TOY_SCORE_SHIFT": "-0.02"})
    assert worse.returncode == 1, worse.stdout + worse.stderr
    out = tmp_path / "pr2"
    assert (out / "summary.md").read_text().startswith("## automl-bench compare: 2 regressions")
    assert {p.name for p in out.iterdir()} >= {"summary.md", "junit.xml", "scores.json", "times.json",
                                                "baseline.json", "current"}
    from junitparser import JUnitXml

    assert JUnitXml.fromfile(str(out / "junit.xml")).failures == 2
    # what follows -- goes to bench compare
    lenient = gate(tmp_path, "--baseline", str(baseline), "--out", "pr3", "--", "--max-score-drop", "0.05",
                   env={"TOY_SCORE_SHIFT": "-0.02"})
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr


@pytest.mark.slow  # both sides of the gate, seed by seed, real training
def test_interleaved_mode_runs_both_sides_seed_by_seed(tmp_path, planted_bench):
    done = gate(tmp_path, "--base-bench", "bench", "--bench", planted_bench, "--out", "gate")
    assert done.returncode == 1, done.stdout + done.stderr
    order = [line for line in done.stderr.splitlines() if line.startswith("seed ")]
    assert order == ["seed 0: base", "seed 0: current", "seed 1: base", "seed 1: current",
                     "seed 2: base", "seed 2: current"]
    summary = (tmp_path / "gate" / "summary.md").read_text()
    assert "2 regressions" in summary and "Times: raw (both sides ran on one machine)" in summary
    same = gate(tmp_path, "--base-bench", "bench", "--out", "gate2")
    assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.slow  # both sides of the gate at once
def test_duet_mode_runs_both_sides_at_the_same_time(tmp_path, planted_bench):
    import pandas as pd

    slow_epochs = {"TOY_EPOCH_SECONDS": "0.1"}  # asleep, so the two runs overlap whatever the machine's load
    done = gate(tmp_path, "--base-bench", "bench", "--bench", planted_bench, "--duet", "--out", "gate", env=slow_epochs)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "base and current, side by side" in done.stderr
    finished = {side: pd.to_datetime(pd.read_csv(next((tmp_path / "gate" / side).glob("*/trials.csv")))["finished"])
                for side in ("base", "current")}
    assert finished["base"].min() < finished["current"].max() and finished["current"].min() < finished["base"].max()
    summary = (tmp_path / "gate" / "summary.md").read_text()
    assert "2 regressions" in summary and "Times: raw (both sides ran on one machine)" in summary
    assert gate(tmp_path, "--baseline", "b.json", "--duet", "--out", "x").returncode == 2


def test_a_suite_that_cannot_run_is_exit_2(tmp_path):
    (tmp_path / "toy.toml").write_text('name = "toy"\n')
    done = gate(tmp_path, "--baseline", "nothing.json", "--out", "gate")
    assert done.returncode == 2 and "failed (exit 1)" in done.stderr and "matrix" in done.stderr


def test_the_workflow_runs_the_script_against_mains_baseline():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    on = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert set(on) == {"push", "pull_request"} and on["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    main_steps, pr_steps = jobs["baseline"]["steps"], jobs["gate"]["steps"]
    runs = [s.get("run", "") for s in main_steps]
    assert any("scripts/regression-gate.sh --out gate" in r and r.rstrip().endswith("suites/ci.toml") for r in runs)
    upload = next(s for s in main_steps if s.get("uses", "").startswith("actions/upload-artifact"))
    download = next(s for s in pr_steps if "download-artifact" in s.get("uses", ""))
    assert download["with"]["name"] == upload["with"]["name"] and download["with"]["branch"] == "main"
    gate_run = next(s["run"] for s in pr_steps if "regression-gate.sh" in s.get("run", ""))
    assert f"--baseline {download['with']['path']}/baseline.json" in gate_run
    summary = next(s for s in pr_steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert summary["if"] == "always()"
    assert (ROOT / "suites" / "ci.toml").is_file() and shutil.which("bash")


def test_the_workflow_keeps_the_history_and_the_docs_workflow_publishes_its_site():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    main_runs = " ".join(s.get("run", "") for s in jobs["baseline"]["steps"])
    assert "--history bench-data/history --record" in main_runs and "git push --quiet origin benchmark-data" in main_runs
    assert jobs["baseline"]["permissions"]["contents"] == "write"
    pr_run = next(s["run"] for s in jobs["gate"]["steps"] if "regression-gate.sh" in s.get("run", ""))
    assert "--history bench-data/history" in pr_run and "--site-url" in pr_run and "/history/" in pr_run
    # one Pages site: docs.yml draws the history under history/ after each benchmark run on main
    docs = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    on = docs[True] if True in docs else docs["on"]
    assert on["workflow_run"]["workflows"] == [workflow["name"]] and on["workflow_run"]["branches"] == ["main"]
    runs = " ".join(s.get("run", "") for s in docs["jobs"]["build"]["steps"])
    assert "bench history bench-data/history --site site/history" in runs and "make docs-build" in runs
    pages = next(s for s in docs["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages"))
    assert pages["with"]["path"] == "site"
    assert docs["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_the_tests_workflow_runs_make_test_on_every_supported_python():
    tests = yaml.safe_load((ROOT / ".github" / "workflows" / "tests.yml").read_text())
    job = tests["jobs"]["test"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    runs = [s.get("run", "") for s in job["steps"]]
    assert any(r.startswith("make test ") for r in runs) and any(r.startswith("make test-slow") for r in runs)
    assert "download.pytorch.org/whl/cpu" in job["env"]["PIP_EXTRA_INDEX_URL"]  # not PyPI's CUDA build
    assert "make test" in (ROOT / ".ci" / "run").read_text()  # what CI here runs, the same command
    requires = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert requires and job["strategy"]["matrix"]["python"][0] == f"3.{requires.group(1)}"


def test_make_docs_builds_what_the_docs_test_builds():
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("docs-build:"):]
    assert "devtools.reference --check" in target and "mkdocs build --strict" in target


@pytest.mark.slow  # three runs of the toy CI suite
def test_recorded_exports_make_a_history_and_a_pull_request_sees_itself_against_it(tmp_path):
    pytest.importorskip("altair")
    for n in range(2):  # main, twice: each run's export joins the history, and the site is drawn
        done = gate(tmp_path, "--out", f"main{n}", "--history", "data/history", "--record")
        assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "data" / "history").glob("*.json"))) == 2
    assert (tmp_path / "data" / "site" / "index.html").is_file()
    done = gate(tmp_path, "--baseline", "main1/baseline.json", "--out", "pr", "--history", "data/history",
                "--site-url", "https://example.org/site/")
    assert done.returncode == 0, done.stderr
    summary = (tmp_path / "pr" / "summary.md").read_text()
    assert "### This change against main's last 20 commits" in summary
    assert "https://example.org/site/" in summary and "3 exports" in summary


def test_the_yaml_in_the_docs_parses():
    """docs/how-to/regression.md's GitHub and GitLab snippets are meant to be pasted: each must be YAML."""
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "how-to" / "regression.md").read_text(), re.S)
    assert len(blocks) == 3
    for block in blocks:
        assert isinstance(yaml.safe_load(block), (dict, list))
