"""A run killed with SIGKILL mid-way and rerun finishes with every trial exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest


def bench(*args, **kwargs):
    cmd = [sys.executable, "-m", "automl_bench", "-p", "automl_bench.testing.toy", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def recorded(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_sigkill_mid_run_then_rerun_records_every_trial_once(write_suite, tmp_path, monkeypatch, executor):
    monkeypatch.setenv("TOY_EPOCH_SECONDS", "0.05")  # 2 epochs: about 0.1 s a trial
    suite = write_suite(max_trials=15, strategies='"random", "grid"')
    out = tmp_path / "out"
    db = out / "toy" / "bench.sqlite"

    proc = bench("run", str(suite), "--out", str(out), "--quiet", "--executor", executor)
    deadline = time.monotonic() + 120
    while recorded(db) < 8 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stdout.read()
    os.kill(proc.pid, signal.SIGKILL)  # the parent only, as the OOM killer would
    proc.wait()
    killed_at = recorded(db)
    assert 8 <= killed_at < 30

    rerun = bench("run", str(suite), "--out", str(out), "--quiet", "--executor", executor)
    output, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, output

    trials = pd.read_csv(out / "toy" / "trials.csv")
    for strategy in ("random", "grid"):
        numbers = sorted(trials.loc[trials["strategy"] == strategy, "trial"])
        expected = list(range(15)) if strategy == "random" else numbers  # grid: 3 lr values x 1 = exhausted at 3
        assert numbers == expected
    assert sorted(trials.loc[trials["strategy"] == "grid", "trial"]) == [0, 1, 2]
    assert len(trials) == 18 and not trials.duplicated(["strategy", "trial"]).any()
    assert set(trials["run_id"]) == {1, 2}
    assert (trials["status"] == "ok").all()
    assert "18 trials (18 ok)" in output
