"""What is needed to reproduce a result: versions, hardware, git commit, suite digest."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Sequence

# Versions recorded for every run, beside those each backend declares (looked up from
# metadata: nothing is imported).
PACKAGES = (
    "automl-bench", "numpy", "scikit-learn", "pandas", "pluggy", "torch",
    "tensorflow", "tensorflow-cpu", "keras", "optuna", "hyperopt", "mlxtend",
)


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(cwd: str | None = None) -> str:
    """The commit of the git checkout holding ``cwd``, with ``-dirty`` if it has changes; "" if none."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_id() -> str:
    """Which machine a run ran on, without naming it: a digest of its host name (and of
    /etc/machine-id where there is one). Two runs with the same id ran on the same machine."""
    try:
        with open("/etc/machine-id", encoding="utf-8") as f:
            ident = f.read().strip()
    except OSError:
        ident = ""
    return hashlib.sha256(f"{platform.node()}\n{ident}".encode()).hexdigest()[:12]


def capture(suite_sha256: str, suite_dir: str | None = None, packages: Sequence[str] = ()) -> dict[str, Any]:
    """The run's environment; ``packages`` adds distributions (a backend's framework) to report."""
    import psutil

    return {
        "suite_sha256": suite_sha256,
        "git_commit": git_commit(suite_dir),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": machine_id(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "packages": package_versions(tuple(dict.fromkeys([*PACKAGES, *packages]))),
    }
