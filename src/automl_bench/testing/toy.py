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
  with ``TOY_EPOCH_SECONDS`` to play a slower machine, leave it to play slower code.
"""

from __future__ import annotations

import math
import os
import time

from automl_bench import Backend, BackendSpec, DatasetSpec, EpochReport, hookimpl, make_dataset

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
        for epoch in range(1, config.epochs + 1):
            if pause:
                time.sleep(pause)
            report(EpochReport(epoch, {"train_loss": 1.0 / epoch, "val_loss": 1.0 / epoch,
                                       "val_accuracy": toy_score(config.learning_rate) + _shift()}))
        if behaviour == "raise":
            raise RuntimeError("toy backend was told to fail")
        if behaviour == "hang":
            time.sleep(3600)
        if behaviour == "crash":
            os._exit(17)
        # A tiny seed-dependent wobble proves seeds reach the backend.
        return {"lr": config.learning_rate, "seed": seed, "nan": behaviour == "nan"}

    def evaluate(self, model, x, y):
        if model["nan"]:
            return {"accuracy": float("nan"), "loss": float("nan")}
        return {"accuracy": toy_score(model["lr"]) + _shift() + (model["seed"] % 1000) * 1e-9, "loss": 0.5}

    def calibration_workload(self):
        pause = float(os.environ.get("TOY_CALIBRATION_SECONDS", "0.001"))
        return lambda: time.sleep(pause)


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
    register(DatasetSpec("toy", "40 random points, 2 classes", load_toy))
