"""A toy plugin for tests: a backend that scores a known function in microseconds.

It is loaded by import path (``bench -p automl_bench.testing.toy`` or
``BENCH_PLUGINS=automl_bench.testing.toy``), exactly as any plugin module can be, and serves
plugin authors' tests as it serves ours: a backend and a dataset that cost nothing, for testing
a strategy, a pruner or a reporter without a framework. The ``activation`` knob picks the trial's behaviour:

    relu -> ok     tanh -> raise     sigmoid -> NaN metrics     elu -> hang     gelu -> kill own process

The score is known in closed form: ``val_accuracy = 1 - (log10(learning_rate) + 2)**2 / 10``,
best at learning_rate = 0.01. Environment variables plant what tests need:

- ``TOY_EPOCH_SECONDS``: each epoch sleeps this long (kill tests; timings for `bench compare`);
- ``TOY_SCORE_SHIFT``: added to every accuracy (a planted regression, for testing a CI gate);
- ``TOY_CALIBRATION_SECONDS``: what its calibration workload sleeps (default 0.001): scale it
  with ``TOY_EPOCH_SECONDS`` to play a slower machine, leave it to play slower code;
- ``TOY_RECORD``: a directory where each fit writes one JSON file when it starts and completes it
  when it ends: the trial seed, the process, the ``CUDA_VISIBLE_DEVICES`` it saw, and when it
  started and ended (``end`` null while it runs). Executor tests check GPU placement with it;
  the toy itself never touches a GPU;
- ``TOY_TOGETHER``: with ``TOY_RECORD``, the first N fits to start wait (up to 120 s) until N
  have started, so that they run at once however slowly the machine starts its workers: tests
  of concurrent placement hold on a busy machine without longer sleeps;
- ``TOY_HOLD``: a path; every fit, once started (and recorded), waits (up to 120 s) until a file
  is there: a test that acts on a running trial (kills its node, say) finds it running however
  busy the machine is, then lets every fit go on by creating the file;
- ``TOY_OOM``: ``tanh`` raises a GPU out-of-memory error (as PyTorch words it) instead;
- ``TOY_LEAK_MIB``: `device_memory` grows by this much with each fit, as if every trial left
  GPU memory held.
"""

from __future__ import annotations

import json
import math
import os
import time

from automl_bench import Backend, BackendSpec, DatasetSpec, EpochReport, hookimpl
from automl_bench.datasets import make_dataset

BEHAVIOUR = {"relu": "ok", "tanh": "raise", "sigmoid": "nan", "elu": "hang", "gelu": "crash"}


def toy_score(learning_rate: float) -> float:
    return 1 - (math.log10(learning_rate) + 2) ** 2 / 10


class ToyBackend(Backend):
    def setup(self, *, threads, device):
        self.threads = threads
        print("toy worker ready", flush=True)  # lands in the worker log

    def environment(self):
        return {"toy": "1.0", "device": f"cpu (threads={self.threads})"}

    def fit(self, *, data, config, seed, report):
        behaviour = BEHAVIOUR[config.activation]
        pause = float(os.environ.get("TOY_EPOCH_SECONDS", "0"))
        started = time.time()
        self.fits = getattr(self, "fits", 0) + 1
        record = _record(seed, started, None)
        _together()
        _held()
        try:
            for epoch in range(1, config.epochs + 1):
                if pause:
                    time.sleep(pause)
                report(EpochReport(epoch, {"train_loss": 1.0 / epoch, "val_loss": 1.0 / epoch,
                                           "val_accuracy": toy_score(config.learning_rate) + _shift()}))
        finally:
            _record(seed, started, record)
        if behaviour == "raise" and os.environ.get("TOY_OOM"):
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (toy)")
        if behaviour == "raise":
            raise RuntimeError("toy backend was told to fail")
        if behaviour == "hang":
            time.sleep(3600)
        if behaviour == "crash":
            os._exit(17)
        # A tiny seed-dependent wobble proves seeds reach the backend.
        return {"lr": config.learning_rate, "seed": seed, "nan": behaviour == "nan", "units": config.units,
                "layers": config.layers}

    def evaluate(self, model, x, y):
        if model["nan"]:
            return {"accuracy": float("nan"), "loss": float("nan")}
        return {"accuracy": toy_score(model["lr"]) + _shift() + (model["seed"] % 1000) * 1e-9, "loss": 0.5}

    def count_parameters(self, model):
        """As an MLP of the trial's ``layers`` x ``units`` on 4 inputs and 2 classes would have."""
        units = model["units"]
        widths = [4, *(units if isinstance(units, (list, tuple)) else [units] * model["layers"]), 2]
        n = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
        return {"trainable": n, "total": n}

    def predict(self, model, x):
        import numpy as np

        return np.zeros((len(x), 2)) + model["lr"]

    def device_memory(self):
        leak = float(os.environ.get("TOY_LEAK_MIB", "0"))
        return int(getattr(self, "fits", 0) * leak * 2**20) if leak else None

    def calibration_workload(self):
        pause = float(os.environ.get("TOY_CALIBRATION_SECONDS", "0.001"))
        return lambda: time.sleep(pause)


class OutOfMemoryError(RuntimeError):
    """Named as PyTorch's ``torch.cuda.OutOfMemoryError`` is."""


def _record(seed: int, started: float, name: str | None) -> str | None:
    """Write (at the start of a fit) or complete (at its end, ``name`` given) its TOY_RECORD file."""
    directory = os.environ.get("TOY_RECORD")
    if not directory:
        return None
    ended = time.time() if name is not None else None
    name = name or f"{os.getpid()}-{time.monotonic_ns()}.json"
    record = {"seed": seed, "pid": os.getpid(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
              "start": started, "end": ended}
    with open(os.path.join(directory, name + ".tmp"), "w", encoding="utf-8") as f:
        json.dump(record, f)
    os.replace(os.path.join(directory, name + ".tmp"), os.path.join(directory, name))  # never half-written
    return name


def _together() -> None:
    """``TOY_TOGETHER``: one of the first N fits waits until N fits have started (see the docstring)."""
    wanted, directory = int(os.environ.get("TOY_TOGETHER", "0")), os.environ.get("TOY_RECORD")
    if not wanted or not directory:
        return
    def started() -> int:
        return sum(1 for name in os.listdir(directory) if name.endswith(".json"))

    if started() > wanted:  # not among the first N
        return
    deadline = time.monotonic() + 120
    while started() < wanted and time.monotonic() < deadline:
        time.sleep(0.02)


def _held() -> None:
    """``TOY_HOLD``: wait until its file exists (see the docstring)."""
    hold = os.environ.get("TOY_HOLD")
    deadline = time.monotonic() + 120
    while hold and not os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.02)


def _shift() -> float:
    return float(os.environ.get("TOY_SCORE_SHIFT", "0"))


def load_toy():
    import numpy as np

    rng = np.random.default_rng(0)
    return make_dataset("toy", rng.random((40, 4)), np.arange(40) % 2, source="automl_bench.testing.toy, generated")


@hookimpl
def bench_backends(register):
    register(BackendSpec("toy", "toy backend: a known function, can fail on demand", ToyBackend,
                         families=("mlp", "cnn", "rnn"), packages=("pytest",)))


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("toy", "40 random points, 2 classes", load_toy, class_counts=(20, 20)))
