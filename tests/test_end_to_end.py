"""The real thing: `bench run suites/quickstart.toml` with PyTorch on real data, capped for CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_quickstart_smoke_run_trains_real_models(tmp_path):
    cmd = [sys.executable, "-m", "automl_bench", "run", str(ROOT / "suites" / "quickstart.toml"),
           "--out", str(tmp_path), "--max-trials", "3", "--seeds", "0", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "24 trials (24 ok)" in done.stdout
    board = pd.read_csv(tmp_path / "quickstart" / "leaderboard.csv")
    tasks = ("digits-mlp", "mnist5k-mlp", "digits-cnn", "digits-rnn")
    assert set(zip(board["task"], board["strategy"])) == {(t, s) for t in tasks for s in ("random", "grid")}
    best = board.groupby("task")["val_mean"].max()
    assert best["digits-mlp"] > 0.85 and best["digits-cnn"] > 0.85  # three short trials learn digits well
    assert best["digits-rnn"] > 0.5
    assert board["test_mean"].notna().all()
    trials = pd.read_csv(tmp_path / "quickstart" / "trials.csv")
    assert trials["packages"].str.contains('"torch": "2.13.0').all()
    assert (trials["device"] == "cpu (threads=1)").all()
    assert (trials["wall_seconds"] >= trials["train_seconds"]).all()


def test_every_shipped_suite_validates():
    from click.testing import CliRunner

    from automl_bench._cli import cli

    # suites/tables/ too; own-data.toml reads files a script makes (tests/test_own_data.py runs it);
    # optimizer-study.toml names the SMAC package's strategies, which the host's tests do not load
    # (that package's tests validate it)
    apart = ("own-data.toml", "optimizer-study.toml")
    suites = sorted(str(p) for p in (ROOT / "suites").rglob("*.toml") if p.name not in apart)
    assert suites
    result = CliRunner().invoke(cli, ["validate", *suites])
    assert result.exit_code == 0, result.output
