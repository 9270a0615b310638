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
# planted.py is a plugin; optuna_script.py is the hand-written search fixed_cost.py times (its smoke size runs it)
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name not in ("planted.py", "optuna_script.py"))


def test_every_benchmark_script_has_a_smoke_size():
    for name in SCRIPTS:
        assert "--smoke" in (ROOT / "benchmarks" / name).read_text(), f"benchmarks/{name} needs a --smoke size"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_runs_at_its_smoke_size(script, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip(), "a benchmark prints its figures"
