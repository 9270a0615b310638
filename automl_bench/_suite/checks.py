"""Checking a suite against the plugins installed: every component it names exists, can train
its tasks' models and read their data, and accepts the options the suite gives it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from automl_bench._files.options import PREFIX, is_files, shown
from automl_bench._model.checks import check_input
from automl_bench._model.objectives import MEASURED, search_arguments
from automl_bench._model.published import PUBLISHED, check_source

from .locate import Problems
from .schema import Execution, SuiteModel, TaskDef
from .tasks import Task, extremes

if TYPE_CHECKING:
    from automl_bench._api.specs import DatasetSpec
    from automl_bench._manager import Host


def check_components(model: SuiteModel, tasks: tuple[Task, ...], host: "Host", problems: Problems) -> None:
    """Every component the suite names, against ``host``'s registries; the options of strategies
    and pruners are tried on their constructors when nothing else was wrong with the components."""
    before = len(problems)
    components = _Components(model, tasks, host, problems)
    components.backends()
    components.strategies()
    _check_objectives(model, components.registry["strategy"], problems)
    components.datasets()
    components.tables_of_options()
    components.executor()
    if len(problems) == before:
        _check_options(model, tasks, components.registry["strategy"], components.registry["pruner"], problems)


class _Components:
    """The suite's components checked against the host's registries, one kind per method; each
    problem is added to ``problems`` at its key path."""

    def __init__(self, model: SuiteModel, tasks: tuple[Task, ...], host: "Host", problems: Problems) -> None:
        self.model, self.tasks, self.host, self.problems = model, tasks, host, problems
        self.registry = {"backend": host.backends(), "strategy": host.strategies(), "dataset": host.datasets(),
                         "pruner": host.pruners()}
        self.files: dict[str, Any] = {}
        for task in model.tasks:
            for name in (task.dataset, task.source.dataset if task.source is not None else None):
                if isinstance(name, str) and is_files(name) and name != PREFIX + "{}":
                    self.files[name] = host.dataset(name)

    def check(self, loc: tuple, kind: str, name: str, registry: dict | None = None) -> Any:
        """The spec registered as ``name``, else None with the problem added at ``loc``."""
        if kind == "dataset" and is_files(name):  # None when the files could not be read: said already
            return self.files.get(name)
        problem = self.host.problem(kind, name)
        if problem is not None:
            self.problems.add(loc, problem)
            return None
        return (self.registry[kind] if registry is None else registry)[name]

    def backends(self) -> None:
        model, problems = self.model, self.problems
        for i, name in enumerate(model.matrix.backends):
            spec = self.check(("matrix", "backends", i), "backend", name)
            for t, task in enumerate(model.tasks):
                if spec is not None and spec.replays != (task.table is not None):
                    problems.add(("matrix", "backends", i),
                                 f"backend {name!r} replays tables: task {task.name!r} names no table (table = "
                                 "\"FILE\", written by bench tabulate)" if spec.replays else
                                 f"task {task.name!r} replays a table: its backends must replay it (backend \"replay\"), "
                                 f"not train ({name!r})", task=task.name)
                    continue
                if spec is not None and task.model not in spec.families:
                    problems.add(("tasks", t, "model"), f"backend {name!r} cannot train a {task.model!r} model (it supports: {', '.join(spec.families)})")
            for built in self.tasks if spec is not None and spec.check_space else ():
                for problem in spec.check_space(built.space):
                    problems.add(("matrix", "backends", i), problem, task=built.name)

    def strategies(self) -> None:
        for i, entry in enumerate(self.model.matrix.strategies):
            name, _, pruner = entry.partition("+")
            spec = self.check(("matrix", "strategies", i), "strategy", name)
            if pruner:
                self.check(("matrix", "strategies", i), "pruner", pruner)
            for task in self.tasks:
                for problem in (spec.check_space(task.space) if spec is not None and spec.check_space else []):
                    self.problems.add(("matrix", "strategies", i), problem, task=task.name)

    def datasets(self) -> None:
        model, problems = self.model, self.problems
        for i, task in enumerate(model.tasks):
            if task.table is not None:  # its data is the table's (read and checked as the task was built)
                continue
            spec = self.check(("tasks", i, "dataset"), "dataset", task.dataset)
            _check_counts(i, task, spec, problems)
            # each task its shots and modes axes made (by name: a definition may have been copied to resolve a path)
            for built in (t for t in self.tasks if t.definition.name == task.name):
                if spec is not None and spec.input_shape is not None and not (task.source and task.source.weights):
                    values = {p.name: extremes(p) for p in built.space}
                    if task.source is not None:  # the trunk's knobs come from the source
                        values.update({k: [v] for k, v in task.source.params.items()})
                    for problem in check_input(task.model, spec.input_shape, values, spec.kind):
                        problems.add(("tasks", i, "model"), f"on {shown(task.dataset)}: {problem}", task=built.name)
            if task.source is not None and task.source.weights is not None:
                _check_published(model, i, task, spec, self.registry["backend"], problems)
            elif task.source is not None and task.source.dataset is not None:
                self.source(i, task, spec)

    def source(self, i: int, task: Any, spec: Any) -> None:
        """A transfer task's source data: its classes, its samples' shape, and backends that transfer."""
        problems, backends = self.problems, self.registry["backend"]
        source = self.check(("tasks", i, "source", "dataset"), "dataset", task.source.dataset)
        if source is not None and source.class_counts is not None:
            _check_classes(("tasks", i, "source", "classes"), task.source.classes, source, problems)
        if source is not None and spec is not None and None not in (source.input_shape, spec.input_shape) \
                and source.input_shape != spec.input_shape:
            problems.add(("tasks", i, "source", "dataset"),
                         f"source samples have shape {source.input_shape}, the target's "
                         f"{spec.input_shape}: one trunk cannot read both")
        for name in self.model.matrix.backends:
            if name in backends and not backends[name].transfer:
                problems.add(("tasks", i, "source"), f"backend {name!r} cannot run transfer tasks; "
                             f"these can: {', '.join(sorted(b for b, s in backends.items() if s.transfer))}")

    def tables_of_options(self) -> None:
        """The reporters named, and each [strategy.NAME] and [pruner.NAME] table's keys and types."""
        model, problems = self.model, self.problems
        if model.reporters is not None:
            reporters = self.host.reporters()
            for i, name in enumerate(model.reporters):
                self.check(("reporters", i), "reporter", name, reporters)
        for kind, table in (("strategy", model.strategy), ("pruner", model.pruner)):
            for name, options in table.items():
                spec = self.check((kind, name), kind, name)
                for key, value in (options.items() if spec is not None else ()):
                    if key not in spec.options:
                        valid = ", ".join(spec.options) or f"(this {kind} takes no options)"
                        problems.add((kind, name, key), f"unknown option for {kind} {name!r}; valid options: {valid}")
                    elif not _same_kind(spec.options[key], value):
                        problems.add((kind, name, key), f"expected {type(spec.options[key]).__name__}, got {value!r}")

    def executor(self) -> None:
        execution = self.model.execution
        executor = self.check(("execution", "executor"), "executor", execution.executor, self.host.executors())
        for key, value in execution.options.items() if executor is not None else ():
            if key not in executor.options:
                valid = ", ".join([k for k in Execution.model_fields if k != "executor"] + list(executor.options))
                self.problems.add(("execution", key), f"unknown key for executor {executor.name!r}; valid keys: "
                                                      f"{valid}")
            elif not _same_kind(executor.options[key], value):
                self.problems.add(("execution", key), f"expected {type(executor.options[key]).__name__}, "
                                                      f"got {value!r}")


def _check_objectives(model: SuiteModel, strategies: dict, problems: Problems) -> None:
    """A multi-objective suite's strategies search several objectives, without pruners; a
    single-objective suite's search one; measured costs need measuring."""
    directions = model.directions
    if directions is not None and len(directions) < 2:
        problems.add(("objectives",), "a multi-objective suite needs two or more objectives; for one, leave "
                                      "`objectives` out (a search then maximises the task's `metric`)")
        return
    can = sorted(n for n, s in strategies.items() if s.objectives != "single")
    for i, entry in enumerate(model.matrix.strategies):
        name, _, pruner = entry.partition("+")
        spec = strategies.get(name)
        if spec is None:
            continue
        if directions is not None and spec.objectives == "single":
            problems.add(("matrix", "strategies", i), f"strategy {name!r} searches one objective, and this suite "
                         f"has {len(directions)} (`objectives`); these search several: {', '.join(can)}")
        elif directions is None and spec.objectives == "multi":
            problems.add(("matrix", "strategies", i), f"strategy {name!r} searches two or more objectives: give the "
                         "suite `objectives` (for example [\"val_accuracy\", \"train_seconds\"]), or use a "
                         "single-objective strategy")
        if directions is not None and pruner:
            problems.add(("matrix", "strategies", i), f"pruner {pruner!r} stops trials by one objective's value "
                         f"after each epoch, and a multi-objective search has no such value: drop \"+{pruner}\"")
    measured = [n for n in directions or () if n in MEASURED]
    if measured and not model.execution.measure_cost:
        problems.add(("execution", "measure_cost"), f"objective {measured[0]!r} is measured only with "
                                                    "measure_cost = true")


def _check_classes(loc: tuple, classes: list[int] | None, spec: DatasetSpec, problems: Problems) -> None:
    assert spec.class_counts is not None
    missing = [c for c in classes or () if c >= len(spec.class_counts)]
    if missing:
        problems.add(loc, f"dataset {shown(spec.name)} has classes 0..{len(spec.class_counts) - 1}; no class {missing[0]}")


def _check_counts(index: int, task: TaskDef, spec: DatasetSpec | None, problems: Problems) -> None:
    """``classes`` the dataset lacks, and ``shots`` that its smallest kept class cannot give from its
    training split (the stratified split keeps 1 - val_fraction - test_fraction of each class, give
    or take one): known without loading, from `DatasetSpec.class_counts`."""
    if spec is None or spec.class_counts is None:
        return
    _check_classes(("tasks", index, "classes"), task.classes, spec, problems)
    kept = [c for c in task.classes or range(len(spec.class_counts)) if c < len(spec.class_counts)]
    shots = max(task.shots) if isinstance(task.shots, list) else task.shots
    if not kept or shots is None:
        return
    share = 1 - task.val_fraction - task.test_fraction
    smallest = min(kept, key=lambda c: spec.class_counts[c])
    most = math.ceil(round(spec.class_counts[smallest] * share, 9))  # 500 x 0.6 is 300.00000000000006
    if shots > most:
        problems.add(("tasks", index, "shots"), f"shots = {shots} training examples per class, but class {smallest} "
                     f"of {shown(spec.name)} has {spec.class_counts[smallest]} samples, at most {most} of them in its "
                     f"training split ({share:.0%}: 1 - val_fraction - test_fraction)")


def _check_published(model: SuiteModel, index: int, task: TaskDef, spec: Any, backends: dict,
                     problems: Problems) -> None:
    """A source of published weights: the data must be what the network reads (images, or text),
    and every backend of the matrix must load weights of that framework (`BackendSpec.weights`)."""
    assert task.source is not None and task.source.weights is not None
    where = ("tasks", index, "source", "weights")
    name = task.source.weights
    if name not in PUBLISHED:
        return  # reported with the source's other problems
    if spec is not None:
        problem = check_source(name, spec.input_shape, spec.kind, task.source.input_size)
        if problem:
            problems.add(where, f"on {shown(task.dataset)}: {problem}", task=task.name)
    framework = PUBLISHED[name].framework
    able = sorted(b for b, s in backends.items() if framework in s.weights)
    for i, backend in enumerate(model.matrix.backends):
        if backend in backends and framework not in backends[backend].weights:
            problems.add(("matrix", "backends", i), f"backend {backend!r} cannot load {name} (task "
                                   f"{task.name!r}); these can: {', '.join(able) or 'none installed'}")


def _check_options(model: SuiteModel, tasks: tuple[Task, ...], strategies: dict, pruners: dict,
                   problems: Problems) -> None:
    """Build each strategy and pruner whose options the suite sets, once: a value its constructor
    rejects (``points = 0``) is reported here, not as a failed run."""
    for kind, table, registry in (("strategy", model.strategy, strategies), ("pruner", model.pruner, pruners)):
        for name, options in table.items():
            spec = registry.get(name)
            if spec is None or not options or not tasks:
                continue
            try:
                arguments = ({"space": tasks[0].space, "seed": 0, **search_arguments(spec.objectives, model.directions)}
                             if kind == "strategy" else {})
                spec.factory(**arguments, **{**spec.options, **options})
            except Exception as exc:  # noqa: BLE001 - the plugin's own words say what is wrong
                problems.add((kind, name), f"{kind} {name!r} rejects these options: {exc}")


def _same_kind(default: Any, value: Any) -> bool:
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))
