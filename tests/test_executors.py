"""Executors: the contract on both built-in ones, then what only a whole run shows: GPU placement
on the local executor, Ray's packing by fractional GPUs, a Ray node lost mid-run.

This machine has no GPU, so GPUs are faked, and each test says how: the local executor's GPU list
comes from a patched `detect_gpus`; Ray declares logical GPUs (``num_gpus``) and sets
``CUDA_VISIBLE_DEVICES`` per actor as it would on a GPU machine. The toy backend records the
``CUDA_VISIBLE_DEVICES`` each trial saw and when it ran (``TOY_RECORD``); it never touches a GPU.
"""

from __future__ import annotations

import json
import textwrap
import threading
import time

import pytest
from test_suite import choices

from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import PreflightError, SuiteError
from automl_bench.testing import ExecutorContract


class TestLocalExecutor(ExecutorContract):
    def make_executor(self, settings):
        from automl_bench._plugins.local_executor import LocalExecutor

        return LocalExecutor(settings)


class TestRayExecutor(ExecutorContract):
    def make_executor(self, settings):
        from automl_bench._plugins.ray_executor import RayExecutor

        return RayExecutor(settings)


FAKE_GPUS = [{"gpu": 0, "gpu_name": "Fake GPU A", "gpu_memory_mib": 1024},
             {"gpu": 1, "gpu_name": "Fake GPU B", "gpu_memory_mib": 2048}]


@pytest.fixture
def record(tmp_path, monkeypatch):
    path = tmp_path / "fits"
    path.mkdir()
    monkeypatch.setenv("TOY_RECORD", str(path))
    monkeypatch.setenv("TOY_EPOCH_SECONDS", "0.2")
    return path


def fits(path):
    return [json.loads(p.read_text()) for p in sorted(path.glob("*.json"))]


def most_at_once(intervals):
    """The largest number of (start, end) intervals that overlap at one moment."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])  # ends sort first on ties
    now = best = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best


def gpu_suite(tmp_path, execution, *, max_trials=8, seeds="[0]"):
    path = tmp_path / "gpu.toml"
    path.write_text(textwrap.dedent(f"""
        name = "gpu"
        seeds = {seeds}
        [budget]
        max_trials = {max_trials}
        [matrix]
        backends = ["toy"]
        strategies = ["random"]
        [space]
        learning_rate = {{ type = "float", low = 1e-4, high = 1.0, log = true }}
        epochs = 2
        [execution]
        {execution}
        [[tasks]]
        name = "toy-task"
        dataset = "toy"
    """))
    return path


def check_placement(results, records, per_gpu):
    """Every trial saw one GPU, the one its row names, and no GPU ran more than ``per_gpu`` fits at
    once. A trial seed is shared by a cell's final retraining and by other backends' trials of
    the same number, so a row is matched to the fits of its seed."""
    seen_by_seed = {}
    for fit in records:
        assert fit["cuda_visible_devices"] is not None and "," not in fit["cuda_visible_devices"], fit
        seen_by_seed.setdefault(fit["seed"], set()).add(fit["cuda_visible_devices"])
    for row in results.trials.to_dict("records"):
        assert str(int(row["gpu"])) in seen_by_seed[row["trial_seed"]], row
    intervals = {}
    for fit in records:
        intervals.setdefault(fit["cuda_visible_devices"], []).append((fit["start"], fit["end"]))
    crowding = {gpu: most_at_once(spans) for gpu, spans in intervals.items()}
    assert max(crowding.values()) <= per_gpu, crowding
    return crowding


# --------------------------------------------------------------------------- local, GPUs


def test_local_places_k_trials_per_gpu_and_records_each_rows_gpu(tmp_path, host, record, monkeypatch):
    monkeypatch.setattr("automl_bench._plugins.local_executor.detect_gpus", lambda: FAKE_GPUS)  # faked: no GPU here
    suite = gpu_suite(tmp_path, 'gpus = "all"\ntrials_per_gpu = 2')
    results = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))
    assert (results.trials["status"] == "ok").all() and len(results.trials) == 8
    crowding = check_placement(results, fits(record), per_gpu=2)
    assert set(crowding) == {"0", "1"} and max(crowding.values()) == 2  # both GPUs, and two trials shared one
    assert set(results.trials["gpu_name"]) == {"Fake GPU A", "Fake GPU B"}
    assert set(results.trials["executor"]) == {"local"}
    assert (results.trials["device"] == "cpu (threads=1)").all()  # what the toy trained on: it says so


def test_local_with_an_explicit_gpu_list_uses_those_alone(tmp_path, host, record, monkeypatch):
    monkeypatch.setattr("automl_bench._plugins.local_executor.detect_gpus", lambda: FAKE_GPUS)
    # Trials long enough (1 s) that the first worker is still busy when the others have started,
    # however slowly a loaded machine starts them: the crowding below must happen.
    monkeypatch.setenv("TOY_EPOCH_SECONDS", "0.5")
    suite = gpu_suite(tmp_path, "gpus = [1]\ntrials_per_gpu = 3", max_trials=6)
    results = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))
    crowding = check_placement(results, fits(record), per_gpu=3)
    assert set(crowding) == {"1"} and crowding["1"] >= 2
    assert set(results.trials["gpu_memory_mib"]) == {2048}


def test_two_backends_never_share_a_gpu_beyond_its_slots(tmp_path, record, monkeypatch):
    from automl_bench._manager import get_plugin_manager

    monkeypatch.setattr("automl_bench._plugins.local_executor.detect_gpus", lambda: FAKE_GPUS)
    host = get_plugin_manager(["automl_bench.testing.toy", "second_toy"])
    suite = gpu_suite(tmp_path, 'gpus = "all"', max_trials=6, seeds="[0, 1]")
    suite.write_text(suite.read_text().replace('backends = ["toy"]', 'backends = ["toy", "toy2"]'))
    results = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))
    assert set(results.trials["backend"]) == {"toy", "toy2"} and len(results.trials) == 24
    crowding = check_placement(results, fits(record), per_gpu=1)
    assert set(crowding) == {"0", "1"}


def test_a_gpu_the_machine_lacks_is_a_preflight_error(tmp_path, host, monkeypatch):
    monkeypatch.setattr("automl_bench._plugins.local_executor.detect_gpus", lambda: FAKE_GPUS)
    suite = gpu_suite(tmp_path, "gpus = [0, 3]")
    with pytest.raises(PreflightError, match=r"gpus names GPU 3, which this machine does not have \(GPUs found: 0, 1\)"):
        run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))


def test_gpus_all_without_a_gpu_runs_on_the_cpu_and_rows_say_so(tmp_path, host, record, monkeypatch):
    monkeypatch.setattr("automl_bench._plugins.local_executor.detect_gpus", lambda: [])  # as on this machine
    suite = gpu_suite(tmp_path, 'gpus = "all"', max_trials=3)
    results = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))
    assert (results.trials["status"] == "ok").all()
    assert results.trials["gpu"].isna().all() and (results.trials["device"] == "cpu (threads=1)").all()
    assert all(r["cuda_visible_devices"] is None for r in fits(record))


# --------------------------------------------------------------------------- ray


@pytest.fixture
def ray_instance(record):
    """A Ray instance for one test, started after the toy's variables are set (actors inherit them)."""
    import ray

    yield ray
    ray.shutdown()


def test_ray_packs_k_trials_per_logical_gpu(tmp_path, host, record, ray_instance, monkeypatch):
    # 4 logical GPUs, and 8 logical CPUs so that 8 one-thread trials fit at once: the GPUs, not the
    # CPUs, must be what limits each GPU to 2 trials.
    # the first 8 fits wait for one another, so 2 run at once on each GPU however slowly the actors start
    monkeypatch.setenv("TOY_TOGETHER", "8")  # (set before Ray starts: actors inherit it)
    ray_instance.init(num_cpus=8, num_gpus=4, include_dashboard=False, log_to_driver=False)
    suite = gpu_suite(tmp_path, 'executor = "ray"\ngpus = "all"\ntrials_per_gpu = 2', max_trials=16)
    results = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))
    assert (results.trials["status"] == "ok").all() and len(results.trials) == 16
    crowding = check_placement(results, fits(record), per_gpu=2)
    assert len(crowding) >= 2 and max(crowding.values()) == 2
    assert set(results.trials["executor"]) == {"ray"} and (results.trials["retries"] == 0).all()
    assert ray_instance.is_initialized()  # a Ray the run found running is left running


def test_ray_retries_the_trials_of_a_node_that_dies(tmp_path, host, record, ray_instance, monkeypatch):
    """A two-node cluster on this machine; a node is removed while a trial runs on it. The trial runs
    again elsewhere, the row says it was retried, and every trial is recorded exactly once."""
    import psutil
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("TOY_EPOCH_SECONDS", "0.5")
    monkeypatch.setenv("TOY_TOGETHER", "2")  # the first two fits run at once: one on each node, however busy the machine
    go = tmp_path / "go"  # every fit waits for it: the doomed node's trial is running when it is removed
    monkeypatch.setenv("TOY_HOLD", str(go))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    doomed = cluster.add_node(num_cpus=1)
    ray_instance.init(address=cluster.address)
    raylet = doomed.all_processes["raylet"][0].process.pid
    killed = threading.Event()

    def kill_when_a_trial_runs_there():
        deadline = time.monotonic() + 120
        while not killed.is_set() and time.monotonic() < deadline:
            for fit in fits(record):
                try:
                    on_doomed = fit["end"] is None and psutil.Process(fit["pid"]).ppid() == raylet
                except psutil.NoSuchProcess:
                    continue
                if on_doomed:
                    cluster.remove_node(doomed, allow_graceful=False)
                    killed.set()
                    go.touch()
                    return
            time.sleep(0.05)
        go.touch()

    killer = threading.Thread(target=kill_when_a_trial_runs_there, daemon=True)
    killer.start()
    try:
        suite = gpu_suite(tmp_path, 'executor = "ray"', max_trials=8)
        results = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))
    finally:
        killed.set()
        go.touch()
        killer.join()
        ray_instance.shutdown()
        cluster.shutdown()
    trials = results.trials
    assert sorted(trials["trial"]) == list(range(8)) and (trials["status"] == "ok").all()
    assert trials["retries"].sum() == 1
    cut_short = [f for f in fits(record) if f["end"] is None]
    assert len(cut_short) == 1  # the fit the node took with it
    assert int(trials.loc[trials["retries"] == 1, "trial_seed"].iloc[0]) == cut_short[0]["seed"]


# --------------------------------------------------------------------------- suites and the command line


def test_execution_mistakes_are_suite_errors_with_their_line(tmp_path, host):
    cases = {
        'gpus = "all"\ndevice = "cpu"': 'device = "cpu" keeps them off',
        "trials_per_gpu = 2": "trials_per_gpu needs gpus",
        'executor = "slurm"': f"unknown executor 'slurm'; choose one of: {choices('executor')}",
        "ray_adress = \"x\"": "unknown key for executor 'local'; valid keys: workers, threads",
        'executor = "ray"\nray_address = 5': "expected str, got 5",
        'gpus = [-1]': "greater than or equal to 0",
    }
    for execution, message in cases.items():
        with pytest.raises(SuiteError) as info:
            load_suite(gpu_suite(tmp_path, execution), host)
        assert message in str(info.value), (execution, str(info.value))
        assert "gpu.toml:" in str(info.value)


def test_the_executor_and_its_options_are_not_part_of_a_suites_identity(tmp_path, host):
    local = load_suite(gpu_suite(tmp_path, 'executor = "local"\nmax_retries = 1'), host).sha256
    ray = load_suite(gpu_suite(tmp_path, 'executor = "ray"\nray_address = "auto"'), host).sha256
    threads = load_suite(gpu_suite(tmp_path, "threads = 2"), host).sha256
    assert local == ray != threads


def test_ray_refuses_a_gpu_list(tmp_path, host):
    suite = gpu_suite(tmp_path, 'executor = "ray"\ngpus = [0]')
    with pytest.raises(PreflightError, match='on Ray, gpus = "all"'):
        run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))


def test_ray_refuses_more_threads_than_any_node_has(tmp_path, host):
    suite = gpu_suite(tmp_path, 'executor = "ray"\nthreads = 64')
    with pytest.raises(PreflightError, match="threads = 64 CPUs, and no node of the cluster has more than"):
        run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "out"))


def test_the_worker_slot_state_machine_moves_each_typed_message():
    """`WorkerSlots` alone, with a recording executor: what each message does to a slot and what
    the driver is told; both built-in executors only carry these messages."""
    from automl_bench import EpochReport
    from automl_bench.executor import (
        Done,
        Epoch,
        ExecutionSettings,
        Finished,
        Job,
        Ready,
        SetupFailed,
        Started,
        TrialOutcome,
        WorkerSlot,
        WorkerSlots,
    )

    class Recording(WorkerSlots):
        def __init__(self):
            super().__init__(ExecutionSettings(max_trials_per_worker={"toy": 2}))
            self.retired = []

        def finish(self, slot, outcome):
            finished = Finished(slot.job, outcome)
            slot.job = None
            return finished

        def retire(self, slot):
            self.retired.append(slot)

    executor, slot = Recording(), WorkerSlot("toy")
    assert executor.receive(slot, Ready({"device": "cpu"}, {"seconds": 1.0})) == []
    assert executor.environments == {"toy": {"device": "cpu"}} and executor.calibrations == {"toy": {"seconds": 1.0}}
    job = Job("toy", None, timeout=5.0)
    slot.assign(job)
    assert slot.started_at is None and slot.deadline() > slot.sent_at  # set-up time first
    executor.receive(slot, Started())
    assert slot.deadline() == pytest.approx(slot.started_at + 5.0)
    [progressed] = executor.receive(slot, Epoch(EpochReport(1, {"val_accuracy": 0.5})))
    assert progressed.job is job and slot.epochs_seen == 1
    [done] = executor.receive(slot, Done(TrialOutcome("ok", {"val_accuracy": 0.5})))
    assert done.job is job and done.outcome.status == "ok" and slot.job is None and executor.retired == []
    slot.assign(job)
    executor.receive(slot, Done(TrialOutcome("failed", error="CUDA out of memory", replace_worker=True)))
    assert executor.retired == [slot]  # asked for a fresh process (and it reached max_trials_per_worker)
    fresh = WorkerSlot("toy")
    fresh.assign(job)
    [failed] = executor.receive(fresh, SetupFailed("ImportError: no toy"))
    assert failed.outcome.infrastructure and executor.unavailable["toy"] == "backend 'toy' could not start: " \
        "ImportError: no toy"
    assert executor.refused(job).outcome.error == executor.unavailable["toy"]
