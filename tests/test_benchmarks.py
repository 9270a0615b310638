"""Every script in benchmarks/ runs at its smoke size (``--smoke``: seconds, tiny data), so that a
change to the store, the suite schema or the CLI cannot leave a benchmark broken until someone
next measures with it. The figures a smoke run prints mean nothing and are not checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# planted.py is a plugin; optuna_script.py is the hand-written search fixed_cost.py times (its smoke size runs
# it); _page.py writes the others' pages
HELPERS = ("planted.py", "optuna_script.py", "_page.py")
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name not in HELPERS)


def test_every_benchmark_script_has_a_smoke_size():
    for name in SCRIPTS:
        assert "--smoke" in (ROOT / "benchmarks" / name).read_text(), f"benchmarks/{name} needs a --smoke size"


def test_every_benchmark_has_a_page_that_its_script_writes():
    for name in SCRIPTS:
        text = (ROOT / "benchmarks" / name).read_text()
        assert "run_with_page(main, __file__)" in text, f"benchmarks/{name}: end with _page.run(main, __file__) (--page)"
        page = ROOT / "docs" / "benchmarks" / name.replace(".py", ".md")
        assert page.is_file(), f"benchmarks/{name} has no page {page.relative_to(ROOT)}"


def test_page_writes_the_run_with_its_date_commit_and_machine_and_keeps_the_prose(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_page", ROOT / "benchmarks" / "_page.py")
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    monkeypatch.setenv("BENCH_DOCS_DIR", str(tmp_path))
    (tmp_path / "speed.md").write_text("# Speed\n\nHow to read it.\n")
    for figure in ("1.5", "2.5"):  # twice: the second run replaces the first, the prose stays
        monkeypatch.setattr("sys.argv", ["speed.py", "--n", "3", "--page"])
        page.run(lambda figure=figure: print(f"ratio x{figure}"), str(ROOT / "benchmarks" / "speed.py"))
    text = (tmp_path / "speed.md").read_text()
    assert text.startswith("# Speed\n\nHow to read it.\n") and text.count(page.START) == 1
    assert "ratio x2.5" in text and "ratio x1.5" not in text
    assert "`python benchmarks/speed.py --n 3`" in text  # the command, without --page
    facts = page.provenance()
    assert facts["commit"].split("-")[0] in text and facts["machine"] in text and "UTC" in text


def test_a_script_that_exits_with_its_own_status_still_gets_its_page(tmp_path, monkeypatch):
    """fuzz.py ends in sys.exit(1 if findings else 0): its page is written, then the status is kept."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_page", ROOT / "benchmarks" / "_page.py")
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    monkeypatch.setenv("BENCH_DOCS_DIR", str(tmp_path))

    def main(code: int) -> None:
        print(f"findings: {code}")
        sys.exit(code)

    monkeypatch.setattr("sys.argv", ["fuzz.py", "--page"])
    page.run(lambda: main(0), str(ROOT / "benchmarks" / "fuzz.py"))
    monkeypatch.setattr("sys.argv", ["fuzz.py", "--page"])
    with pytest.raises(SystemExit) as ended:
        page.run(lambda: main(1), str(ROOT / "benchmarks" / "fuzz.py"))
    assert ended.value.code == 1 and "findings: 1" in (tmp_path / "fuzz.md").read_text()


def test_every_benchmark_page_holds_its_scripts_last_run():
    """Each figure on the site says where it came from: the page holds a run its script wrote."""
    for name in SCRIPTS:
        text = (ROOT / "docs" / "benchmarks" / name.replace(".py", ".md")).read_text()
        assert "<!-- the script's last run" in text and f"`python benchmarks/{name}" in text, name


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_runs_at_its_smoke_size(script, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip(), "a benchmark prints its figures"
