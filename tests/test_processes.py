"""`bench run` leaves no process behind: on success, on error, on Ctrl-C, SIGTERM and SIGHUP, and
when `bench` itself is killed with SIGKILL while its trials hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from automl_bench.testing import TOY_PLUGIN

HANG = '"elu"'  # the toy backend hangs on elu


def start(write_suite, tmp_path, *, activation='"relu"', max_trials=2, group=False):
    """Start `bench run` on a toy suite; returns (process, marker): every process it starts inherits
    the marker in its environment, so survivors can be found after it is gone. ``group``: in a
    process group of its own, which `os.killpg` signals as a terminal's Ctrl-C does, through the
    `bench` script as a terminal runs it."""
    marker = uuid.uuid4().hex
    suite = write_suite(max_trials=max_trials, timeout=120, activation=activation)
    env = {**os.environ, "BENCH_TEST_MARKER": marker}
    command = [str(Path(sys.executable).parent / "bench")] if group else [sys.executable, "-m", "automl_bench"]
    process = subprocess.Popen([*command, "-p", TOY_PLUGIN, "run", str(suite),
                                "--out", str(tmp_path / "out"), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=group)
    return process, marker


def processes_with(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get("BENCH_TEST_MARKER") == marker:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def survivors(marker: str, within: float = 5.0) -> list[str]:
    """The marked processes still alive after ``within`` seconds (a dying worker may take a moment)."""
    deadline = time.monotonic() + within
    while (alive := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [" ".join(p.cmdline()[:4]) for p in alive]


def wait_for_hanging_trial(tmp_path, process, seconds=60.0) -> None:
    log = tmp_path / "out" / "toy" / "logs" / "worker-toy.log"
    deadline = time.monotonic() + seconds
    while not (log.exists() and "toy worker ready" in log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    time.sleep(1.0)  # the worker has taken its trial and hangs in it


@pytest.mark.slow
@pytest.mark.parametrize("activation, expected", [('"relu"', 0), ('"tanh"', 2)])
def test_nothing_is_left_after_a_run_ends(write_suite, tmp_path, activation, expected):
    process, marker = start(write_suite, tmp_path, activation=activation)
    out, err = process.communicate(timeout=120)
    assert process.returncode == expected, out + err
    assert survivors(marker) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_the_run_at_once_says_so_and_leaves_nothing(write_suite, tmp_path, signum):
    process, marker = start(write_suite, tmp_path, activation=HANG)
    wait_for_hanging_trial(tmp_path, process)
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - sent < 10, "the hanging trial was waited for"
    assert process.returncode == 130, out + err
    assert "interrupted: finished trials are saved; rerun the same command to resume" in err
    assert survivors(marker) == []


def first_worker_spawned(process, seconds=60.0) -> None:
    """Return the moment `bench` has a worker process still in multiprocessing's spawn bootstrap."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if any("spawn_main" in " ".join(c.cmdline()) for c in psutil.Process(process.pid).children()):
                return
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
        assert process.poll() is None, process.communicate()
        time.sleep(0.001)
    raise AssertionError("no worker was started")


@pytest.mark.parametrize("moment", ["as a worker starts", 0.5, 1.0, 2.0])
def test_ctrl_c_to_the_whole_group_at_any_moment_prints_one_line_and_exits_130(write_suite, tmp_path, moment):
    """A terminal's Ctrl-C reaches every process of the group, workers that are still starting
    too: the run says one line and exits 130, and no process prints a traceback."""
    process, marker = start(write_suite, tmp_path, activation=HANG, group=True)
    if moment == "as a worker starts":
        first_worker_spawned(process)
    else:
        time.sleep(moment)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert err.strip().splitlines() == ["interrupted: finished trials are saved; rerun the same command to resume"]
    assert survivors(marker) == []


def test_a_second_ctrl_c_during_the_shutdown_still_exits_130(write_suite, tmp_path):
    process, marker = start(write_suite, tmp_path, activation=HANG)
    wait_for_hanging_trial(tmp_path, process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)  # the first is being handled: workers stopping, the store closing
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert survivors(marker) == []


@pytest.mark.slow
def test_workers_end_when_bench_is_killed(write_suite, tmp_path):
    process, marker = start(write_suite, tmp_path, activation=HANG)
    wait_for_hanging_trial(tmp_path, process)
    assert len(processes_with(marker)) >= 2  # bench, its worker (and multiprocessing's resource tracker)
    process.kill()  # SIGKILL to bench alone: nothing of it can clean up
    process.wait(timeout=30)
    left = survivors(marker, within=10.0)
    for proc in processes_with(marker):  # don't leave them to the next test
        proc.kill()
    process.stdout.close(), process.stderr.close()
    assert left == []
