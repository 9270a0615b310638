"""What a trained model costs, measured in the process that trained it: its parameters, how fast
it predicts, the memory its training took at most and, where the machine can measure it, the
energy its training and evaluation used.

Every figure is measured, never estimated: a figure that cannot be measured here is left empty
(``None``), and ``energy_source`` says which meter measured the energy, or is empty. The columns:

- ``params_trainable``, ``params_total``: `Backend.count_parameters` (every weight the model
  holds, batch norm's running statistics included, so that backends agree on one network);
- ``latency_ms_1``, ``latency_ms_batch``: milliseconds per example of `Backend.predict`, from a
  host array to host logits, at batch size 1 and at the training batch size: the median of timed
  calls after warm-up calls (of the least disturbed of three blocks: `latency`), on the device
  that trained the model;
- ``peak_rss_mib``: the worker's peak resident memory from the start of training to the end of
  evaluation (Linux: its high-water mark is reset when training starts; elsewhere empty);
- ``peak_gpu_mib``: `Backend.peak_device_memory`, on a GPU;
- ``energy_cpu_joules``: RAPL's package counters (``/sys/class/powercap``) over training and
  evaluation: the whole CPU package, every process on it, not this trial alone;
- ``energy_gpu_joules``: NVML's energy counter of the trial's GPU (``pynvml``), likewise.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    import numpy as np

    from automl_bench._api.interfaces import Backend

#: The cost columns of a trial row, in order (the module's docstring says what each is).
COST_COLUMNS = ("params_trainable", "params_total", "latency_ms_1", "latency_ms_batch", "peak_rss_mib",
                "peak_gpu_mib", "energy_cpu_joules", "energy_gpu_joules", "energy_source")
#: Timed calls per batch size at most, after `WARMUP` untimed ones, in `BLOCKS` blocks: as many
#: as fit in `LATENCY_BUDGET` seconds, never fewer than `MIN_REPEATS` a block (as `timeit` fits
#: its loops to a time).
REPEATS = 30_000
WARMUP = 2
BLOCKS = 3
LATENCY_BUDGET = 0.01
#: ...and at most this share of the trial's training seconds per batch size, so that measuring
#: adds a few percent to a short trial (benchmarks/cost.py measures what it adds).
LATENCY_SHARE = 0.01
MIN_REPEATS = 1  # a slow model (a published VGG on a CPU) is timed 3 times a batch size, not 15
RAPL = Path("/sys/class/powercap")


def count(backend: "Backend", model: Any) -> dict[str, int | None]:
    """The model's parameters, as the backend counts them; None where it cannot say."""
    try:
        counted = backend.count_parameters(model)
        return {"params_trainable": int(counted["trainable"]), "params_total": int(counted["total"])}
    except NotImplementedError:
        pass
    try:
        return {"params_trainable": int(backend.count_trainable(model)), "params_total": None}
    except NotImplementedError:
        return {"params_trainable": None, "params_total": None}


def latency(predict: Callable[["np.ndarray"], Any], x: "np.ndarray", batch_size: int, *,
            repeats: int = REPEATS, budget: float = LATENCY_BUDGET) -> dict[str, float | None]:
    """Milliseconds per example of ``predict`` at batch size 1 and at ``batch_size`` (at most
    the examples ``x`` holds), after `WARMUP` calls: `BLOCKS` blocks of timed calls, each as many
    as fit in a share of ``budget`` seconds (at least `MIN_REPEATS`, at most ``repeats`` in all);
    the median call of each block, and the lowest of those medians. Another process that takes the
    core for some milliseconds (a shared machine) slows a whole block, never makes one faster:
    the least disturbed block is the model's own speed, as `timeit` advises."""
    if len(x) == 0:
        return {"latency_ms_1": None, "latency_ms_batch": None}
    import gc

    out = {}
    per_block = max(MIN_REPEATS, repeats // BLOCKS)
    collecting = gc.isenabled()
    gc.disable()  # as timeit does: a collection of the worker's heap is not the model's time
    try:
        for name, size in (("latency_ms_1", 1), ("latency_ms_batch", min(batch_size, len(x)))):
            batch = x[:size]
            for _ in range(WARMUP):
                predict(batch)
            medians = []
            for _ in range(BLOCKS):
                times: list[float] = []
                started = time.perf_counter()
                while len(times) < per_block and (len(times) < MIN_REPEATS or
                                                  time.perf_counter() - started < budget / BLOCKS):
                    t0 = time.perf_counter()
                    predict(batch)
                    times.append(time.perf_counter() - t0)
                medians.append(statistics.median(times))
            out[name] = min(medians) * 1000 / size
    finally:
        if collecting:
            gc.enable()
    return out


def measure_latency(backend: "Backend", model: Any, x: "np.ndarray", batch_size: int,
                    train_seconds: float | None = None) -> dict[str, float | None]:
    """`latency` of `Backend.predict`, within `LATENCY_BUDGET` seconds a batch size and, given the
    trial's ``train_seconds``, `LATENCY_SHARE` of them; None for a backend that does not predict."""
    budget = LATENCY_BUDGET if train_seconds is None else min(LATENCY_BUDGET, LATENCY_SHARE * train_seconds)
    try:
        return latency(lambda batch: backend.predict(model, batch), x, batch_size, budget=budget)
    except NotImplementedError:
        return {"latency_ms_1": None, "latency_ms_batch": None}


class Meter:
    """Peak memory and energy over a stretch of a trial: `start` before training, `stop` after
    evaluation. ``gpu``: the index NVML knows the trial's GPU by, or None on the CPU."""

    def __init__(self, backend: "Backend", *, gpu: int | None = None, rapl: Path = RAPL):
        self.backend, self.gpu, self.rapl = backend, gpu, rapl
        self._energy: dict[str, float] = {}

    def start(self) -> None:
        reset_peak_rss()
        device_bytes(self.backend.peak_device_memory)  # read and reset: the peak from here on
        self._energy = energy_counters(self.rapl, self.gpu)

    def stop(self) -> dict[str, Any]:
        gpu = device_bytes(self.backend.peak_device_memory)
        rss = peak_rss()
        used = energy_used(self._energy, energy_counters(self.rapl, self.gpu), self.rapl)
        return {"peak_rss_mib": None if rss is None else round(rss / 2**20, 1),
                "peak_gpu_mib": None if gpu is None else round(gpu / 2**20, 1), **used}


def reset_peak_rss() -> bool:
    """Reset this process's resident high-water mark (Linux ``clear_refs``); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss() -> int | None:
    """This process's peak resident memory in bytes since `reset_peak_rss` (Linux), or None."""
    try:
        found = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found[1]) * 1024 if found else None


def device_bytes(read: Callable[[], int | None]) -> int | None:
    """What a backend's memory reading (`Backend.device_memory`, `Backend.peak_device_memory`)
    says, or None where it raises: a backend that cannot say is a backend that says nothing."""
    try:
        return read()
    except Exception:  # noqa: BLE001
        return None


def energy_counters(rapl: Path = RAPL, gpu: int | None = None) -> dict[str, float]:
    """The energy counters readable now, in joules: ``rapl:<domain>`` for each CPU package RAPL
    shows (its sub-domains are inside it), ``nvml`` for the GPU. Unreadable ones are left out."""
    found: dict[str, float] = {}
    for zone in sorted(rapl.glob("intel-rapl:*")) if rapl.is_dir() else ():
        if zone.name.count(":") != 1:  # a sub-domain (core, uncore, dram): part of its package or apart
            continue
        try:
            if not (zone / "name").read_text().strip().startswith("package"):
                continue
            found[f"rapl:{zone.name}"] = int((zone / "energy_uj").read_text()) / 1e6
        except (OSError, ValueError):
            continue
    if gpu is not None:
        joules = _nvml_joules(gpu)
        if joules is not None:
            found["nvml"] = joules
    return found


def energy_used(before: Mapping[str, float], after: Mapping[str, float], rapl: Path = RAPL) -> dict[str, Any]:
    """Joules between two readings of `energy_counters`, a RAPL counter that wrapped round
    included; what could not be read both times is None."""
    cpu = gpu = None
    for key in before.keys() & after.keys():
        used = after[key] - before[key]
        if key.startswith("rapl:"):
            if used < 0:  # the counter wrapped: it counts up to max_energy_range_uj
                try:
                    used += int((rapl / key[5:] / "max_energy_range_uj").read_text()) / 1e6
                except (OSError, ValueError):
                    continue
            cpu = (cpu or 0.0) + used
        else:
            gpu = used
    sources = [name for name, value in (("rapl", cpu), ("nvml", gpu)) if value is not None]
    return {"energy_cpu_joules": None if cpu is None else round(cpu, 3),
            "energy_gpu_joules": None if gpu is None else round(gpu, 3), "energy_source": "+".join(sources)}


def _nvml_joules(index: int) -> float | None:
    """The GPU's energy counter since its driver loaded, in joules (NVML, Volta and later), or None."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        return pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000  # millijoules
    except Exception:  # noqa: BLE001 - pynvml raises NVMLError subclasses for every "cannot"
        return None


def gpu_index() -> int | None:
    """The first GPU this process may use, as NVML numbers the machine's GPUs, or None."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return 0
    first = visible.split(",")[0].strip()
    return int(first) if first.isdigit() else None
