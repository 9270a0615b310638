"""The NVIDIA GPUs of this machine, found without importing a framework (executors place
trials on them; every trial row records the one it ran on)."""

from __future__ import annotations

import os
import subprocess
from typing import Any


def detect_gpus() -> list[dict[str, Any]] | None:
    """This machine's NVIDIA GPUs as ``{"gpu": index, "gpu_name": ..., "gpu_memory_mib": ...}``,
    read through NVML (nvidia-ml-py) or ``nvidia-smi``, without importing a framework; limited to
    ``CUDA_VISIBLE_DEVICES`` when that is set to indices. None when neither tool is there (a
    machine without NVIDIA drivers), [] when they find no GPU."""
    found = _nvml_gpus()
    if found is None:
        found = _nvidia_smi_gpus()
    if found is None:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and all(p.strip().isdigit() for p in visible.split(",") if p.strip()):
        wanted = [int(p) for p in visible.split(",") if p.strip()]
        found = [g for g in found if g["gpu"] in wanted]
    return found


def _nvml_gpus() -> list[dict[str, Any]] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVML installed without a driver: no GPU
        return []
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append({"gpu": i, "gpu_name": name.decode() if isinstance(name, bytes) else name,
                         "gpu_memory_mib": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total // 2**20)})
        return gpus
    finally:
        pynvml.nvmlShutdown()


def _nvidia_smi_gpus() -> list[dict[str, Any]] | None:
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return []
    gpus = []
    for line in done.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[0].isdigit():
            gpus.append({"gpu": int(parts[0]), "gpu_name": parts[1],
                         "gpu_memory_mib": int(float(parts[2])) if parts[2].replace(".", "").isdigit() else None})
    return gpus
