"""The example plugin packages under plugins/ install as a user installs them. Their own tests
(contracts, a real suite, MLflow's client) run beside these, from plugins/*/tests."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FRAMEWORKS = ("torch", "tensorflow", "keras", "optuna", "hyperopt")


def fresh_environment() -> dict[str, str]:
    """This process's environment without the test settings (plugin blocks, PYTHONPATH)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BENCH_") and k != "PYTHONPATH"}


def run(*cmd, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900,
                          env=fresh_environment(), **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_template_installs_into_a_fresh_virtualenv_with_the_core_and_no_framework(tmp_path):
    """`pip install ./plugins/automl-bench-template` pulls the core (built from this checkout, as
    PyPI would serve it) and no framework; `bench plugins` lists it and a toy suite runs with it."""
    env_dir, wheels = tmp_path / "venv", tmp_path / "wheels"
    venv.create(env_dir, with_pip=True)
    python, bench = env_dir / "bin" / "python", env_dir / "bin" / "bench"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT)
    run(python, "-m", "pip", "install", "--quiet", "--find-links", wheels, ROOT / "plugins" / "automl-bench-template")

    present = run(python, "-c", "import importlib.util as u, sys; "
                  f"print(','.join(m for m in {FRAMEWORKS!r} if u.find_spec(m)))").stdout.strip()
    assert present == "", f"the core pulled frameworks: {present}"

    listing = run(bench, "plugins", cwd=tmp_path).stdout
    assert "template  (automl-bench-template 0.1.0: automl_bench_template)" in listing
    assert "strategy:local-search" in listing

    suite = tmp_path / "toy.toml"
    from automl_bench.testing import TOY_PLUGIN, toy_suite

    suite.write_text(toy_suite(strategies=["local-search"], max_trials=6))
    out = run(bench, "-p", TOY_PLUGIN, "run", suite, "--out", tmp_path / "results", "--quiet", cwd=tmp_path).stdout
    assert "6 trials (6 ok)" in out

    torch_suite = tmp_path / "torch.toml"
    torch_suite.write_text(toy_suite(name="needs-torch", backends=["torch"], dataset="digits", max_trials=1))
    failed = subprocess.run([str(bench), "run", str(torch_suite), "--out", str(tmp_path / "r2"), "--quiet"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=fresh_environment())
    assert "backend 'torch' needs PyTorch: pip install 'automl-bench[torch]'" in failed.stdout + failed.stderr
