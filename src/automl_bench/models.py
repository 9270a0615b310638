"""The backend-neutral model config: the same hyperparameters mean the same model everywhere.

Each family has a table of knobs (name, type, default, check). A suite's search space may set
any knob of its task's family; `check_value` runs at validation time so a bad range is
rejected before any training, and `build_config` turns one trial's parameters into a typed,
frozen config that a backend reads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class Knob:
    name: str
    kind: type
    default: Any
    doc: str
    check: Callable[[Any], str | None]  # returns a problem, or None when the value is fine


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be > 0"


def _at_least_one(v: Any) -> str | None:
    return None if v >= 1 else "must be >= 1"


def _unit_interval(v: Any) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of: {', '.join(choices)}"


MLP_KNOBS: tuple[Knob, ...] = (
    Knob("layers", int, 2, "number of hidden dense layers", _at_least_one),
    Knob("units", int, 128, "units per hidden layer", _at_least_one),
    Knob("activation", str, "relu", "hidden activation", _one_of(ACTIVATIONS)),
    Knob("dropout", float, 0.0, "dropout rate after each hidden layer", _unit_interval),
    Knob("optimizer", str, "adam", "optimizer", _one_of(OPTIMIZERS)),
    Knob("learning_rate", float, 1e-3, "learning rate", _positive),
    Knob("momentum", float, 0.9, "momentum (sgd only)", _unit_interval),
    Knob("batch_size", int, 64, "minibatch size", _at_least_one),
    Knob("epochs", int, 10, "training epochs (capped by the budget's max_epochs)", _at_least_one),
)

KNOBS: dict[str, tuple[Knob, ...]] = {"mlp": MLP_KNOBS}
FAMILIES = tuple(KNOBS)


@dataclass(frozen=True)
class MLPConfig:
    layers: int = 2
    units: int = 128
    activation: str = "relu"
    dropout: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 64
    epochs: int = 10

    family = "mlp"


ModelConfig = MLPConfig
_CONFIG_CLASSES: dict[str, type[MLPConfig]] = {"mlp": MLPConfig}


def check_value(family: str, name: str, value: Any) -> str | None:
    """Return a problem with setting knob ``name`` of ``family`` to ``value``, or None."""
    knobs = {k.name: k for k in KNOBS[family]}
    if name not in knobs:
        return f"{family} has no knob {name!r}; valid knobs: {', '.join(knobs)}"
    knob = knobs[name]
    ok_type = isinstance(value, knob.kind) and not isinstance(value, bool) or (
        knob.kind is float and isinstance(value, int) and not isinstance(value, bool)
    )
    if not ok_type:
        return f"{name} must be {knob.kind.__name__}, got {value!r}"
    problem = knob.check(value)
    return f"{name} {problem}, got {value!r}" if problem else None


def build_config(family: str, params: Mapping[str, Any], max_epochs: int | None = None) -> ModelConfig:
    """Turn one trial's parameters into a config; ``max_epochs`` caps ``epochs``."""
    if family not in KNOBS:
        raise ValueError(f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}")
    problems = [p for name, value in params.items() if (p := check_value(family, name, value))]
    if problems:
        raise ValueError("; ".join(problems))
    cls = _CONFIG_CLASSES[family]
    kinds = {f.name: f.type for f in fields(cls)}
    values = {k: float(v) if kinds[k] == "float" else v for k, v in params.items()}
    config = cls(**values)
    if max_epochs is not None and config.epochs > max_epochs:
        config = cls(**{**values, "epochs": max_epochs})
    return config
