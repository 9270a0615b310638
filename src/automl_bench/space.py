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
class IntParam:
    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    grid: tuple[int, ...] | None = None  # explicit grid values

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

    def sample(self, rng: random.Random) -> float:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return self._snap(value)

    def grid_values(self, points: int) -> tuple[float, ...]:
        if self.grid is not None:
            return self.grid
        return tuple(dict.fromkeys(self._snap(v) for v in _spaced(self.low, self.high, points, self.log)))

    def contains(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def _snap(self, value: float) -> float:
        if self.step is None:
            return min(max(value, self.low), self.high)
        n = round((value - self.low) / self.step)
        return min(self.low + n * self.step, self.high)


@dataclass(frozen=True)
class CategoricalParam:
    name: str
    choices: tuple[Any, ...]

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

    def sample(self, rng: random.Random) -> Any:
        return self.value

    def grid_values(self, points: int) -> tuple[Any, ...]:
        return (self.value,)

    def contains(self, value: Any) -> bool:
        return value == self.value


Param = Union[IntParam, FloatParam, CategoricalParam, FixedParam]


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters."""

    params: tuple[Param, ...]

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One configuration drawn independently per parameter."""
        return {p.name: p.sample(rng) for p in self.params}

    def grid(self, points: int) -> list[dict[str, Any]]:
        """Every combination, numeric ranges discretised into ``points`` values (or their explicit grid)."""
        axes = [p.grid_values(points) for p in self.params]
        return [dict(zip(self.names, combo)) for combo in itertools.product(*axes)]

    def contains(self, config: Mapping[str, Any]) -> bool:
        """True when ``config`` sets exactly this space's parameters, each inside its range."""
        return set(config) == set(self.names) and all(p.contains(config[p.name]) for p in self.params)


def _spaced(low: float, high: float, points: int, log: bool) -> Sequence[float]:
    if points == 1:
        return [math.exp((math.log(low) + math.log(high)) / 2) if log else (low + high) / 2]
    if log:
        a, b = math.log(low), math.log(high)
        return [math.exp(a + (b - a) * i / (points - 1)) for i in range(points)]
    return [low + (high - low) * i / (points - 1) for i in range(points)]
