"""Search spaces: integer, float (log scale, step), categorical and fixed parameters.

Pure Python (no numpy), so strategies and suite validation stay cheap to import.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence, Union


@dataclass(frozen=True)
class Condition:
    """A parameter exists only when its parent does and the parent's value qualifies:
    one of ``values``, or within ``[minimum, maximum]`` (either bound may be open)."""

    parent: str
    values: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def holds(self, config: Mapping[str, Any]) -> bool:
        if self.parent not in config:
            return False
        v = config[self.parent]
        if self.values is not None and v not in self.values:
            return False
        if self.minimum is not None and v < self.minimum:
            return False
        return self.maximum is None or v <= self.maximum

    def __str__(self) -> str:
        if self.values is not None:
            return f"{self.parent} in {list(self.values)}"
        bounds = [f"{self.parent} >= {self.minimum}" if self.minimum is not None else "",
                  f"{self.parent} <= {self.maximum}" if self.maximum is not None else ""]
        return " and ".join(b for b in bounds if b)


@dataclass(frozen=True)
class IntParam:
    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    grid: tuple[int, ...] | None = None  # explicit grid values
    when: Condition | None = None
    points: int | None = None  # grid points for this parameter (overrides the strategy's)

    def sample(self, rng: random.Random) -> int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            value = min(int(value), self.high)
        else:
            value = rng.randint(0, (self.high - self.low) // self.step) * self.step + self.low
        return value

    def grid_values(self, points: int) -> tuple[int, ...]:
        if self.grid is not None:
            return self.grid
        points = self.points or points
        allowed = range(self.low, self.high + 1, self.step)
        if len(allowed) <= points:
            return tuple(allowed)
        raw = _spaced(self.low, self.high, points, self.log)
        snapped = [self.low + round((v - self.low) / self.step) * self.step for v in raw]
        return tuple(dict.fromkeys(min(v, self.high) for v in snapped))

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )


@dataclass(frozen=True)
class FloatParam:
    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    grid: tuple[float, ...] | None = None
    when: Condition | None = None
    points: int | None = None  # grid points for this parameter (overrides the strategy's)

    def sample(self, rng: random.Random) -> float:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return self.snap(value)

    def grid_values(self, points: int) -> tuple[float, ...]:
        if self.grid is not None:
            return self.grid
        points = self.points or points
        return tuple(dict.fromkeys(self.snap(v) for v in _spaced(self.low, self.high, points, self.log)))

    def contains(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def snap(self, value: float) -> float:
        """Clip into [low, high] and round to the step, counted from low."""
        if self.step is None:
            return min(max(value, self.low), self.high)
        n = round((value - self.low) / self.step)
        return min(self.low + n * self.step, self.high)


@dataclass(frozen=True)
class CategoricalParam:
    name: str
    choices: tuple[Any, ...]
    when: Condition | None = None

    def sample(self, rng: random.Random) -> Any:
        return self.choices[rng.randrange(len(self.choices))]

    def grid_values(self, points: int) -> tuple[Any, ...]:
        return self.choices

    def contains(self, value: Any) -> bool:
        return value in self.choices


@dataclass(frozen=True)
class FixedParam:
    name: str
    value: Any
    when: Condition | None = None

    def sample(self, rng: random.Random) -> Any:
        return self.value

    def grid_values(self, points: int) -> tuple[Any, ...]:
        return (self.value,)

    def contains(self, value: Any) -> bool:
        if isinstance(self.value, tuple) and isinstance(value, list):  # a per-layer list read back from JSON
            value = tuple(value)
        return value == self.value


Param = Union[IntParam, FloatParam, CategoricalParam, FixedParam]


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters; a conditional one follows its parent."""

    params: tuple[Param, ...]

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def conditional(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.when is not None)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One configuration drawn independently per active parameter."""
        config: dict[str, Any] = {}
        for p in self.params:
            if p.when is None or p.when.holds(config):
                config[p.name] = p.sample(rng)
        return config

    def grid(self, points: int) -> list[dict[str, Any]]:
        """Every distinct combination of active parameters, numeric ranges discretised into
        ``points`` values (or their explicit grid), in product order."""
        axes = [p.grid_values(points) for p in self.params]
        seen: dict[tuple, dict[str, Any]] = {}
        for combo in itertools.product(*axes):
            config = self.active(dict(zip(self.names, combo)))
            seen.setdefault(tuple(config.items()), config)
        return list(seen.values())

    def active(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` restricted to the parameters whose conditions hold, in space order."""
        config: dict[str, Any] = {}
        for p in self.params:
            if p.name in values and (p.when is None or p.when.holds(config)):
                config[p.name] = values[p.name]
        return config

    def contains(self, config: Mapping[str, Any]) -> bool:
        """True when ``config`` sets exactly the active parameters, each inside its range."""
        expected = [p for p in self.params if p.when is None or p.when.holds(config)]
        return set(config) == {p.name for p in expected} and all(p.contains(config[p.name]) for p in expected)


def _spaced(low: float, high: float, points: int, log: bool) -> Sequence[float]:
    if points == 1:
        return [math.exp((math.log(low) + math.log(high)) / 2) if log else (low + high) / 2]
    if log:
        a, b = math.log(low), math.log(high)
        return [math.exp(a + (b - a) * i / (points - 1)) for i in range(points)]
    return [low + (high - low) * i / (points - 1) for i in range(points)]
