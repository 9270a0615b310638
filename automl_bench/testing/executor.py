"""The contract every executor keeps, through the `Executor` protocol alone: `ExecutorContract`.

Subclass it in your plugin's tests; docs/how-to/plugins.md lists what each test checks."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from automl_bench import Executor
from automl_bench.executor import ExecutionSettings, Job, TrialRequest


class ExecutorContract:
    """What every executor must do, checked through the `Executor` protocol alone with the toy
    backend (``automl_bench.testing.toy``). Define `make_executor`::

        class TestMyExecutor(ExecutorContract):
            def make_executor(self, settings):
                return MyExecutor(settings)

    Settings come with ``plugin_modules`` naming the toy plugin; environment variables the toy
    reads (``TOY_EPOCH_SECONDS``, ``TOY_RECORD``, ``TOY_OOM``) are set before `make_executor`, so
    processes it starts inherit them.
    """

    def make_executor(self, settings: ExecutionSettings) -> Executor:
        raise NotImplementedError

    @pytest.fixture
    def toy_env(self, monkeypatch, tmp_path):
        record = tmp_path / "fits"
        record.mkdir()
        monkeypatch.setenv("TOY_EPOCH_SECONDS", "0.05")
        monkeypatch.setenv("TOY_RECORD", str(record))
        return record

    def run_jobs(self, jobs: list[Job], *, prune_at: int | None = None, **settings: Any) -> list[Any]:
        """Run ``jobs`` to the end on a fresh executor; every event, in order."""
        from automl_bench.executor import Finished as FinishedEvent

        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",), **settings))
        events: list[Any] = []
        try:
            assert executor.warm_up("toy") is None
            waiting, finished = list(jobs), 0
            deadline = time.monotonic() + 120
            while finished < len(jobs):
                assert time.monotonic() < deadline, f"jobs still running after 120 s: {events}"
                while waiting and executor.has_capacity():
                    immediate = executor.submit(waiting.pop(0))
                    if immediate is not None:
                        events.append(immediate)
                        finished += 1
                for event in executor.poll(timeout=1.0):
                    events.append(event)
                    if isinstance(event, FinishedEvent):
                        finished += 1
                    elif event.job.request.prune:
                        executor.answer(event.job, prune_at is not None and event.report.epoch >= prune_at)
            executor.close()
        finally:
            executor.terminate()
        return events

    @staticmethod
    def job(activation: str = "relu", *, number: int = 0, timeout: float = 30.0, prune: bool = False,
            epochs: int = 2) -> Job:
        from automl_bench._api.records import TaskRef

        task = TaskRef("toy-task", "toy", "mlp", 0.25, 0.25, 0)
        params = {"activation": activation, "learning_rate": 0.01, "epochs": epochs}
        return Job("toy", TrialRequest(f"toy#{activation}-{number}", task, params, seed=1000 + number, max_epochs=None,
                                       prune=prune), timeout, context=number)

    @staticmethod
    def finished(events: list[Any]) -> dict[Any, Any]:
        from automl_bench.executor import Finished as FinishedEvent

        done = [e for e in events if isinstance(e, FinishedEvent)]
        keys = [e.job.request.key for e in done]
        assert len(keys) == len(set(keys)), f"a job finished twice: {keys}"
        return {e.job.request.key: e for e in done}

    def test_every_failure_kind_ends_in_exactly_one_finished(self, toy_env):
        from automl_bench.testing.toy import toy_score

        kinds = ["relu", "tanh", "sigmoid", "elu", "gelu"]
        # only the hanging trial needs a short timeout: on a loaded machine (tests two at a time on
        # 2 cores) 3 s once ran out for a trial of a tenth of a second
        jobs = [self.job(kind, number=i, timeout=3 if kind == "elu" else 30) for i, kind in enumerate(kinds)]
        done = self.finished(self.run_jobs(jobs, workers=2))
        assert len(done) == 5
        out = {key.split("#")[1].split("-")[0]: f.outcome for key, f in done.items()}
        assert out["relu"].status == "ok" and out["relu"].metrics["val_accuracy"] == pytest.approx(toy_score(0.01))
        assert out["tanh"].status == "failed" and out["tanh"].error.startswith("RuntimeError: toy backend was told")
        assert out["sigmoid"].status == "ok" and out["sigmoid"].non_finite()  # the driver turns NaN into a failure
        assert out["elu"].status == "timeout" and "exceeded its timeout of 3 s" in out["elu"].error
        assert out["gelu"].status == "failed" and "died" in out["gelu"].error
        assert not any(o.infrastructure for o in out.values())
        assert all(f.placement.get("executor") for f in done.values())  # every row says where it ran

    def test_a_pruned_trial_stops_where_the_driver_said(self, toy_env):
        jobs = [self.job(number=0, prune=True, epochs=4), self.job(number=1, prune=False, epochs=4)]
        events = self.run_jobs(jobs, prune_at=2)
        done = self.finished(events)
        pruned, kept = done["toy#relu-0"].outcome, done["toy#relu-1"].outcome
        assert pruned.status == "pruned" and pruned.epochs == 2
        assert kept.status == "ok" and kept.epochs == 4
        epochs = [e.report.epoch for e in events if not hasattr(e, "outcome") and e.job.request.key == "toy#relu-0"]
        assert epochs == [1, 2]

    def test_a_backend_that_cannot_start_is_reported_not_run(self, toy_env):
        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",)))
        try:
            reason = executor.warm_up("no-such-backend")
            assert reason is not None and "no-such-backend" in reason
            job = self.job()
            job.backend = "no-such-backend"
            immediate = executor.submit(job)
            assert immediate is not None and immediate.outcome.infrastructure and immediate.outcome.status == "failed"
        finally:
            executor.terminate()

    def test_its_process_is_replaced_after_a_gpu_out_of_memory(self, toy_env, monkeypatch):
        monkeypatch.setenv("TOY_OOM", "1")
        jobs = [self.job("tanh", number=0), self.job("relu", number=1)]
        done = self.finished(self.run_jobs(jobs, workers=1))
        oom = done["toy#tanh-0"].outcome
        assert oom.status == "failed" and oom.error.startswith("GPU out of memory: OutOfMemoryError: CUDA out of")
        assert "replaced" in oom.error and done["toy#relu-1"].outcome.status == "ok"
        pids = [json.loads(p.read_text())["pid"] for p in sorted(toy_env.glob("*.json"))]
        assert len(pids) == 2 and pids[0] != pids[1]

    def test_processes_are_reused_until_their_limit(self, toy_env):
        jobs = [self.job(number=i) for i in range(4)]
        done = self.finished(self.run_jobs(jobs, workers=1, max_trials_per_worker={"toy": 2}))
        assert all(f.outcome.status == "ok" for f in done.values())
        fits = sorted((json.loads(p.read_text()) for p in toy_env.glob("*.json")), key=lambda r: r["start"])
        pids = [r["pid"] for r in fits]
        assert pids[0] == pids[1] != pids[2] == pids[3]

    def test_terminate_stops_a_hanging_trial_at_once(self, toy_env):
        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",)))
        try:
            assert executor.warm_up("toy") is None
            assert executor.submit(self.job("elu", timeout=600)) is None
            deadline = time.monotonic() + 60
            while not list(toy_env.glob("*.json")) and time.monotonic() < deadline:  # the fit started
                executor.poll(timeout=0.2)
            pid = json.loads(next(toy_env.glob("*.json")).read_text())["pid"]
        finally:
            t0 = time.monotonic()
            executor.terminate()
            took = time.monotonic() - t0
        assert took < 15
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), f"process {pid} still runs after terminate"

    def test_environment_and_calibration_are_reported(self, toy_env):
        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",), calibrate=True))
        try:
            assert executor.warm_up("toy") is None
            assert executor.environments["toy"]["toy"] == "1.0"
            assert executor.calibrations["toy"]["seconds"] > 0
            assert executor.describe()  # what the run records about where its trials ran
        finally:
            executor.terminate()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not running
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
