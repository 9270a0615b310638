"""What a multi-objective suite can optimise: every number a trial reports about its model, by
name, with the direction a search usually wants it (``objectives`` in a suite).

A suite's ``objectives = ["val_accuracy", "params_total"]`` takes these directions; a table
(``objectives = { val_accuracy = "maximize", latency_ms_1 = "minimize" }``) gives its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Mapping, Sequence

if TYPE_CHECKING:
    from automl_bench._api.records import TrialOutcome

Direction = Literal["maximize", "minimize"]

#: Every objective a trial reports, with its usual direction and what it is.
OBJECTIVES: dict[str, tuple[Direction, str]] = {
    "val_accuracy": ("maximize", "accuracy on the validation split"),
    "val_loss": ("minimize", "mean cross-entropy on the validation split"),
    "train_seconds": ("minimize", "seconds of training (validation passes included)"),
    "eval_seconds": ("minimize", "seconds of the final validation (and test) evaluation"),
    "params_trainable": ("minimize", "parameters the model trains"),
    "params_total": ("minimize", "every weight the model holds"),
    "latency_ms_1": ("minimize", "milliseconds to predict one example"),
    "latency_ms_batch": ("minimize", "milliseconds per example at the training batch size"),
    "peak_rss_mib": ("minimize", "the worker's peak resident memory over training, MiB"),
    "peak_gpu_mib": ("minimize", "peak GPU memory over training, MiB"),
    "energy_cpu_joules": ("minimize", "CPU package energy over training (RAPL)"),
    "energy_gpu_joules": ("minimize", "GPU energy over training (NVML)"),
}
#: Objectives that only a trial that measures costs reports (``[execution] measure_cost``).
MEASURED = ("latency_ms_1", "latency_ms_batch", "peak_rss_mib", "peak_gpu_mib", "energy_cpu_joules",
            "energy_gpu_joules")


def directions(objectives: Sequence[str] | Mapping[str, Direction]) -> dict[str, Direction]:
    """Each objective with its direction: the table's, or `OBJECTIVES`' usual one."""
    if isinstance(objectives, Mapping):
        return dict(objectives)
    return {name: OBJECTIVES[name][0] for name in objectives}


def search_arguments(searches: str, directions: Mapping[str, Direction] | None) -> dict[str, tuple[str, ...]]:
    """What a strategy's factory is given besides its space, seed and options: in a suite with
    ``directions`` (several objectives), ``directions`` for a strategy whose
    `StrategySpec.objectives` (``searches``) is "multi" or "any"; nothing otherwise."""
    return {"directions": tuple(directions.values())} if directions and searches != "single" else {}


def values_of(outcome: "TrialOutcome", names: Sequence[str]) -> tuple[float | None, ...]:
    """The objectives ``names`` as a trial reported them, None where it did not."""
    return values_from(outcome.metrics, outcome.cost, outcome.train_seconds, outcome.eval_seconds, names)


def values_from(metrics: Mapping[str, float], cost: Mapping[str, float | None], train_seconds: float,
                eval_seconds: float, names: Sequence[str]) -> tuple[float | None, ...]:
    """The objectives ``names`` from a trial's recorded values (an outcome, or a stored row)."""
    seconds = {"train_seconds": train_seconds, "eval_seconds": eval_seconds}
    out = []
    for name in names:
        value = seconds[name] if name in seconds else (metrics if name.startswith("val_") else cost).get(name)
        out.append(None if value is None else float(value))
    return tuple(out)
