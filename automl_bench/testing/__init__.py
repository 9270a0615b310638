"""Testing tools for plugin authors, and the host's own tests: contract test classes, a toy
plugin, and pytest fixtures.

- `BackendContract`, `ReplayBackendContract`, `TransferContract`, `StrategyContract`,
  `PrunerContract`, `ExecutorContract`, `DatasetContract`, `ReporterContract`,
  `ReportSectionContract`: subclass
  one in your tests and say how to build your component; pytest runs every check on it. Each
  lives in a module of its own (`automl_bench.testing.backend`, ``.strategy``, ...).
- `automl_bench.testing.toy` (``TOY_PLUGIN``): a plugin module with a backend ``toy`` that scores
  a known function in microseconds (and fails, hangs or crashes on demand) and a dataset
  ``toy``: run a strategy, pruner or reporter end to end without a framework.
- `toy_table_suite()`: the TOML text of a suite that builds a small table of toy runs, to replay.
- `toy_suite()`: the TOML text of a tiny suite on the toy backend and dataset; `load_suite(path,
  host)` validates a suite file against a host's plugins, as ``bench validate`` does.
- Fixtures, registered with pytest through the ``pytest11`` entry point (nothing to import):
  ``bench_plugins``, ``bench_host`` and ``bench_run`` (see `automl_bench.testing.fixtures`).
"""

from __future__ import annotations

import importlib
from typing import Any, Sequence

#: Loaded on first use, so that the toy plugin and `toy_suite` work where pytest is not installed.
_LAZY = {
    "BackendContract": "backend", "TransferContract": "transfer", "StrategyContract": "strategy",
    "PrunerContract": "pruner", "ExecutorContract": "executor", "DatasetContract": "dataset",
    "ReporterContract": "reporter", "ReportSectionContract": "report_section",
    "ReplayBackendContract": "replay",
    "digit_classes": "data", "tiny_digits": "data", "tiny_tokens": "data",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"automl_bench.testing.{_LAZY[name]}"), name)
    if name == "load_suite":  # a plugin's tests check that suites naming it validate, or fail as they should
        return importlib.import_module("automl_bench._suite").load_suite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The toy plugin's import path, for ``bench -p``, ``BENCH_PLUGINS`` or the ``bench_plugins`` fixture.
TOY_PLUGIN = "automl_bench.testing.toy"


def toy_suite(*, name: str = "toy", strategies: Sequence[str] = ("random",), backends: Sequence[str] = ("toy",),
              seeds: Sequence[int] = (0,), max_trials: int = 4, epochs: int = 2, dataset: str = "toy",
              reporters: Sequence[str] | None = None) -> str:
    """The TOML text of a tiny suite: one task searching ``learning_rate`` over [1e-4, 1] (log),
    on the toy backend and dataset unless told otherwise. Pass it to the ``bench_run`` fixture."""

    def toml_list(items: Sequence) -> str:
        return "[" + ", ".join(f'"{i}"' if isinstance(i, str) else str(i) for i in items) + "]"

    lines = [f'name = "{name}"', f"seeds = {toml_list(seeds)}"]
    if reporters is not None:
        lines.append(f"reporters = {toml_list(reporters)}")
    lines += [
        "", "[budget]", f"max_trials = {max_trials}", "trial_timeout = 60",
        "", "[matrix]", f"backends = {toml_list(backends)}", f"strategies = {toml_list(strategies)}",
        "", "[space]", 'learning_rate = { type = "float", low = 1e-4, high = 1.0, log = true }',
        f"epochs = {epochs}",
        "", "[[tasks]]", 'name = "toy-task"', f'dataset = "{dataset}"', "",
    ]
    return "\n".join(lines)


def toy_table_suite(*, name: str = "table", epochs: int = 4, seeds: Sequence[int] = (0, 1)) -> str:
    """The TOML text of a suite that builds a table (`bench tabulate`) on the toy backend: a grid
    of 8 configurations (4 learning rates, log-spaced, x 2 widths), ``epochs`` epochs each, on
    every seed, every trial scored on the test split."""
    return "\n".join([
        f'name = "{name}"', f"seeds = [{', '.join(map(str, seeds))}]", "test_every_trial = true",
        "", "[budget]", "max_trials = 8",
        "", "[matrix]", 'backends = ["toy"]', 'strategies = ["grid"]',
        "", "[strategy.grid]", "points = 4",
        "", "[space]", 'learning_rate = { type = "float", low = 1e-3, high = 1.0, log = true }',
        'units = { type = "categorical", choices = [16, 32] }', f"epochs = {epochs}",
        "", "[[tasks]]", 'name = "toy-task"', 'dataset = "toy"', "",
    ])


__all__ = [
    "TOY_PLUGIN",
    "BackendContract",
    "DatasetContract",
    "ExecutorContract",
    "PrunerContract",
    "ReplayBackendContract",
    "ReportSectionContract",
    "ReporterContract",
    "StrategyContract",
    "TransferContract",
    "digit_classes",
    "load_suite",
    "tiny_digits",
    "tiny_tokens",
    "toy_suite",
    "toy_table_suite",
]
