"""Search spaces: integer, float (log scale, step), categorical and fixed parameters.

Each parameter class is the one description of a parameter: it checks its own values when it is
built (``IntParam("x", 5, 1)`` raises ValueError), and a suite's ``[space]`` table is turned into
these classes by name. Pure Python (no numpy), so strategies and suite validation stay cheap to import.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator, Mapping, Sequence, Union

__all__ = ["CategoricalParam", "Condition", "FixedParam", "FloatParam", "IntParam", "SearchSpace"]


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
    #: Only the grid's values exist (a replayed table's): any value proposed snaps to the nearest.
    finite: bool = False

    def __post_init__(self) -> None:
        _as_tuple(self, "grid")
        _check_range(self)
        if self.step < 1:
            raise ValueError(f"step must be >= 1, got {self.step}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError("a log-scale int needs low >= 1 and step 1")
        _check_step_and_grid(self)
        _check_finite(self)

    def sample(self, rng: random.Random) -> int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            value = min(int(value), self.high)
        else:
            value = rng.randint(0, (self.high - self.low) // self.step) * self.step + self.low
        return self.snap(value) if self.finite else value

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
            and (not self.finite or value in (self.grid or ()))
        )

    def snap(self, value: float) -> int:
        """The nearest value a trial can take: the nearest grid value of a finite parameter (in its
        own scale), else the value rounded to the step and clipped into [low, high]."""
        if self.finite and self.grid:
            return int(_nearest(value, self.grid, self.log))
        n = round((value - self.low) / self.step)
        return int(min(max(self.low + n * self.step, self.low), self.high))


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
    #: Only the grid's values exist (a replayed table's): any value proposed snaps to the nearest.
    finite: bool = False

    def __post_init__(self) -> None:
        _as_tuple(self, "grid")
        _check_range(self)
        if not all(math.isfinite(v) for v in (self.low, self.high, *(self.grid or ()))):
            raise ValueError(f"low, high and grid values must be finite, got [{self.low}, {self.high}]")
        if self.step is not None and not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step}")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale float needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("step cannot be combined with log")
        _check_step_and_grid(self)
        _check_finite(self)

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
        return (isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high
                and (not self.finite or value in (self.grid or ())))

    def snap(self, value: float) -> float:
        """Clip into [low, high] and round to the step, counted from low; a finite parameter's
        value becomes the nearest grid value, nearest in its own scale (log or linear)."""
        if self.finite and self.grid:
            return _nearest(value, self.grid, self.log)
        if self.step is None:
            return min(max(value, self.low), self.high)
        n = round((value - self.low) / self.step)
        return min(self.low + n * self.step, self.high)


@dataclass(frozen=True)
class CategoricalParam:
    name: str
    choices: tuple[Any, ...]
    when: Condition | None = None

    def __post_init__(self) -> None:
        _as_tuple(self, "choices")
        if not self.choices:
            raise ValueError("choices must list at least one value")

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
    """An ordered collection of parameters; a conditional one follows its parent.

    ``configurations``: the only configurations that exist, where they are not every combination
    of the parameters' values (a replayed table that sampled its configurations, as LCBench did),
    each as ``((name, value), ...)``; `snap` then moves a configuration to the nearest of them.
    None: every combination exists."""

    params: tuple[Param, ...]
    configurations: tuple[tuple[tuple[str, Any], ...], ...] | None = None

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
        ``points`` values (or their explicit grid), in product order; a space of `configurations`
        has those alone, in their order."""
        if self.configurations is not None:
            return [self.active(dict(c)) for c in self.configurations]
        axes = [p.grid_values(points) for p in self.params]
        seen: dict[tuple, dict[str, Any]] = {}
        for combo in itertools.product(*axes):
            config = self.active(dict(zip(self.names, combo)))
            seen.setdefault(tuple(config.items()), config)
        return list(seen.values())

    def snap(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with every finite parameter's value snapped to the nearest value it can
        take; other values as they are (the values a trial of a replayed table is scored on)."""
        out = dict(config)
        for p in self.params:
            if getattr(p, "finite", False) and p.name in out and isinstance(out[p.name], (int, float)):
                out[p.name] = p.snap(out[p.name])
        if self.configurations is not None:
            out.update(self._nearest_configuration(out))
        return out

    def _nearest_configuration(self, config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        """The configuration of `configurations` nearest to ``config``: the sum over numeric
        parameters of the squared difference in the parameter's own scale (log or linear),
        normalised to its range, plus 1 for each categorical value that differs; ties, the first."""
        assert self.configurations is not None
        names = [name for name, _ in self.configurations[0]]
        if tuple((n, config.get(n)) for n in names) in self._configuration_set:
            return tuple((n, config[n]) for n in names)
        scales = self._scales

        def distance(candidate: tuple[tuple[str, Any], ...]) -> float:
            total = 0.0
            for (name, value), scale in zip(candidate, scales):
                wanted = config.get(name)
                if scale is None or not isinstance(wanted, (int, float)) or isinstance(wanted, bool):
                    total += 0.0 if wanted == value else 1.0
                else:
                    position, span = scale
                    total += ((position(wanted) - position(value)) / span) ** 2
            return total

        return min(self.configurations, key=distance)

    @cached_property  # kept in the instance's __dict__: neither a field nor part of its hash
    def _configuration_set(self) -> frozenset:
        return frozenset(self.configurations or ())

    @cached_property
    def _scales(self) -> list[Any]:
        """Per parameter of a configuration: (position, span) of a numeric one, else None."""
        assert self.configurations is not None
        by_name = {p.name: p for p in self.params}
        scales: list[Any] = []
        for i, (name, _) in enumerate(self.configurations[0]):
            p = by_name.get(name)
            values = [c[i][1] for c in self.configurations]
            if isinstance(p, (IntParam, FloatParam)) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                log = p.log and min(values) > 0
                position = _log_position if log else float
                scales.append((position, (position(max(values)) - position(min(values))) or 1.0))
            else:
                scales.append(None)
        return scales

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


def _nearest(value: float, grid: Sequence[float], log: bool) -> Any:
    """The grid value nearest to ``value``, on a log scale where ``log`` (ties: the smaller)."""
    if log:
        where = math.log(max(value, min(grid)))
        return min(grid, key=lambda g: (abs(math.log(g) - where), g))
    return min(grid, key=lambda g: (abs(g - value), g))


def _log_position(value: float) -> float:
    return math.log(max(value, 1e-300))


def _check_finite(param: Any) -> None:
    if param.finite and not param.grid:
        raise ValueError("finite = true needs grid = [...]: the values that exist (any value proposed snaps to the "
                         "nearest of them)")


def _as_tuple(param: Any, attribute: str) -> None:
    """A list given for a tuple field (as a TOML array arrives) is kept as a tuple: hashable, frozen."""
    value = getattr(param, attribute)
    if isinstance(value, list):
        object.__setattr__(param, attribute, tuple(value))


def _check_range(param: IntParam | FloatParam) -> None:
    if param.low > param.high:
        raise ValueError(f"low ({param.low}) must be <= high ({param.high})")
    if param.points is not None and param.points < 1:
        raise ValueError(f"points must be >= 1, got {param.points}")
    if param.grid is not None and not param.grid:
        raise ValueError("grid must list at least one value")


def _check_step_and_grid(param: IntParam | FloatParam) -> None:
    if param.step is not None and param.high > param.low and param.step > param.high - param.low:
        raise ValueError(f"step ({param.step}) is larger than the range [{param.low}, {param.high}]: only low would "
                         "ever be drawn")
    outside = [v for v in param.grid or () if not param.low <= v <= param.high]
    if outside:
        raise ValueError(f"grid values {outside} lie outside [low, high] = [{param.low}, {param.high}]")


def _spaced(low: float, high: float, points: int, log: bool) -> Sequence[float]:
    if points == 1:
        return [math.exp((math.log(low) + math.log(high)) / 2) if log else (low + high) / 2]
    if log:
        a, b = math.log(low), math.log(high)
        return [math.exp(a + (b - a) * i / (points - 1)) for i in range(points)]
    return [low + (high - low) * i / (points - 1) for i in range(points)]
