"""A plugin that plants regressions into the PyTorch backend, for benchmarks/regression_gate.py.

Load it in place of the built-in backend (``PYTHONPATH=benchmarks bench -p no:torch -p planted
run ...``): it registers a backend named ``torch`` that is the built-in one, except that

- ``PLANT_SCORE_SHIFT`` (e.g. ``-0.02``) is added to every accuracy it reports or evaluates: a
  drop of exactly that much, at every epoch, in validation and test alike;
- ``PLANT_SLOWDOWN`` (e.g. ``1.2``) makes training that much more work: after each epoch it
  keeps the CPU busy until the process has spent the epoch's own CPU seconds times
  (slowdown - 1) more, as code that does a fifth more work does, however busy the machine is
  (spinning for a share of the epoch's *wall* time would do less work on a busy machine, where
  the spin gets a fraction of a core). Busy, not asleep: a process that sleeps finds its caches
  cold and its clock lowered, and slows down by more. On a quiet machine, CPU and wall seconds
  grow alike.

The calibration workload is the built-in one, untouched: a regression in the backend's code
must not be divided away by the calibration.
"""

from __future__ import annotations

import os
import time

from automl_bench import BackendSpec, EpochReport, hookimpl
from automl_bench._plugins import torch_backend


def _shift() -> float:
    return float(os.environ.get("PLANT_SCORE_SHIFT", "0"))


class PlantedTorch(torch_backend.TorchBackend):
    def fit(self, *, data, config, seed, report, pretrained=None):
        slowdown = float(os.environ.get("PLANT_SLOWDOWN", "1"))
        last = [time.process_time()]

        def planted_report(r: EpochReport) -> None:
            if slowdown > 1:
                now = time.process_time()
                until = now + (now - last[0]) * (slowdown - 1)
                while time.process_time() < until:
                    pass
            metrics = dict(r.metrics)
            if "val_accuracy" in metrics:
                metrics["val_accuracy"] += _shift()
            report(EpochReport(r.epoch, metrics))
            last[0] = time.process_time()

        return super().fit(data=data, config=config, seed=seed, report=planted_report, pretrained=pretrained)

    def evaluate(self, model, x, y):
        scores = dict(super().evaluate(model, x, y))
        scores["accuracy"] += _shift()
        return scores


@hookimpl
def bench_backends(register):
    specs = []
    torch_backend.bench_backends(specs.append)
    spec = next(s for s in specs if s.name == "torch")
    register(BackendSpec("torch", "the built-in PyTorch backend with planted regressions (benchmarks only)",
                         PlantedTorch, families=spec.families, packages=spec.packages, transfer=spec.transfer,
                         max_trials_per_worker=spec.max_trials_per_worker, check_space=spec.check_space))
