"""Building a suite's tasks: each task definition's search space (suite-wide and its own),
checked against the model family's knobs and the transfer rules, then expanded into one task per
value of its ``shots`` and ``modes`` axes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from automl_bench._model import config as models
from automl_bench._model.checks import check_layers
from automl_bench._model.published import PUBLISHED, check_source
from automl_bench.space import CategoricalParam, Condition, FixedParam, Param, SearchSpace

from .locate import Problems, message, readable
from .schema import PARAM_ADAPTER, SuiteModel, TaskDef


@dataclass(frozen=True)
class Task:
    """One task of the matrix. A task definition with ``shots`` or ``modes`` lists expands into
    one task per combination; ``variant`` holds its values, e.g. ``(("shots", 20), ("mode", "frozen"))``."""

    definition: TaskDef
    space: SearchSpace
    name: str
    shots: int | None = None
    variant: tuple[tuple[str, Any], ...] = ()


def build_task(model: SuiteModel, index: int, task: TaskDef, problems: Problems) -> Task:
    if task.table is not None:
        return _table_task(model, index, task, problems)
    if task.source is not None and task.source.weights_file is not None:  # relative to the suite file
        file = Path(problems.path).parent / Path(task.source.weights_file).expanduser()
        if not file.exists():  # a file (keras:...) or a model directory (sbert:...)
            problems.add(("tasks", index, "source", "weights_file"), f"no such file: {file}")
        task = task.model_copy(update={"source": task.source.model_copy(update={"weights_file": str(file.resolve())})})
    merged = {**model.space, **task.space}
    params: list[Param] = []
    _check_transfer(task, index, problems)
    trunk = set(models.TRUNK_KNOBS.get(task.model, ())) if task.source is not None else set()
    published = PUBLISHED.get(task.source.weights or "") if task.source is not None else None
    if published is not None and published.reads == "text":
        trunk = set()  # the encoder is the trunk: the mlp's knobs shape the head
    transfer_only = {k.name for k in models.TRANSFER_KNOBS}
    for name, value in merged.items():
        where = ("tasks", index, "space", name) if name in task.space else ("space", name)
        if models.layer_knob(task.model, name)[0] in trunk:
            problems.add(where, f"is a transfer task: {name} shapes the pretrained "
                         + (f"trunk, which is {published.name}'s: it cannot be set" if published
                            else f"trunk, so it is set in tasks[{index}].source.params, not searched"), task=task.name)
            continue
        if name in transfer_only and task.source is None:
            problems.add(where, f"{name} applies to transfer tasks only (give the task a [tasks.source])",
                         task=task.name)
            continue
        if name == "mode" and task.modes is not None:
            problems.add(where, "lists modes as a matrix axis; drop mode from the space or the modes list",
                         task=task.name)
            continue
        param = _parse_param(name, value, where, problems)
        if param is None:
            continue
        if param.when is not None and param.when.parent not in {p.name for p in params}:
            problems.add(where + ("when",), f"condition on {param.when.parent!r}, which is not a parameter "
                                                       "defined before this one")
            continue
        problem = next((p for v in extremes(param) if (p := models.check_value(task.model, name, v))), None)
        if problem:  # said once; the checks that follow see only values a model can take
            problems.add(where, problem, task=task.name)
            continue
        params.append(param)
    for problem in check_layers(task.model, {p.name: extremes(p) for p in params}):
        problems.add(("tasks", index, "space") if task.space else ("space",), problem, task=task.name)
    _check_unfreeze(task, index, params, problems)
    return Task(definition=task, space=SearchSpace(tuple(params)), name=task.name,
                shots=task.shots if isinstance(task.shots, int) else None)


def _table_task(model: SuiteModel, index: int, task: TaskDef, problems: Problems) -> Task:
    """A task that replays a table: its data, model and search space are the table's; the suite's
    space may narrow a parameter to some of the table's values, never add one."""
    from automl_bench.tables import PARAM, TableError, read_table

    where = ("tasks", index, "table")
    path = (Path(problems.path).parent / Path(str(task.table)).expanduser()).resolve()
    try:
        table = read_table(path)
    except TableError as exc:
        problems.add(where, str(exc), task=task.name)
        return Task(definition=task, space=SearchSpace(()), name=task.name)
    p = table.provenance
    objective = f"val_{task.metric}"
    recorded_objective = p.get("objective", objective)
    if objective not in table.frame.columns or recorded_objective != objective:
        problems.add(where, f"the table {path.name} was searched on {recorded_objective} and records "
                     f"{', '.join(c for c in table.frame.columns if c.startswith('val_')) or 'no validation metric'}; "
                     f"this task's objective is {objective}", task=task.name)
    family = p.get("model") or task.model
    if "model" in task.model_fields_set and task.model != family:
        problems.add(("tasks", index, "model"), f"the table {path.name} records {family} models, not {task.model}",
                     task=task.name)
    dataset = (p.get("dataset") or {}).get("name") or task.dataset or path.stem
    if task.dataset and task.dataset != dataset:
        problems.add(("tasks", index, "dataset"), f"the table {path.name} was recorded on {dataset!r}, not "
                     f"{task.dataset!r} (leave dataset out: it is the table's)", task=task.name)
    recorded = {s["name"]: s for s in p.get("space", [])}
    columns: dict[str, list] = {}
    for name in table.params:
        try:
            columns[name] = sorted(table.frame[PARAM + name].dropna().unique().tolist(), key=repr)
        except TypeError:  # a list per configuration (per-layer sizes): not hashable, not replayed yet
            problems.add(where, f"the table {path.name} holds lists in parameter {name!r} (per-layer values), "
                         "which replay does not read yet", task=task.name)
            return Task(definition=task, space=SearchSpace(()), name=task.name)
    merged = {**model.space, **task.space}
    for name in merged:
        if name not in columns:
            at = ("tasks", index, "space", name) if name in task.space else ("space", name)
            problems.add(at, f"the table {path.name} has no parameter {name!r}; its parameters: "
                         f"{', '.join(columns)}", task=task.name)
    params = [param for name, values in columns.items()
              if (param := _table_param(name, values, recorded.get(name, {}), merged, task, index, path.name,
                                        problems)) is not None]
    definition = task.model_copy(update={"table": str(path), "dataset": dataset, "model": family})
    configurations = _sampled_configurations(table, params)
    if configurations == ():
        problems.add(where, f"no configuration of the table {path.name} has the values this suite keeps",
                     task=task.name)
    return Task(definition=definition, space=SearchSpace(tuple(params), configurations or None), name=task.name)


def _table_param(name: str, values: list, recorded: dict, merged: dict, task: TaskDef, index: int, table: str,
                 problems: Problems) -> Param | None:
    """One parameter of a replayed table: the values the table holds, narrowed to those the suite's
    space keeps (None, with the problem added, where it asks for values the table lacks); a
    numeric one keeps the table's scale and takes only its values."""
    from automl_bench.space import FloatParam, IntParam

    values = sorted(values) if all(isinstance(v, (int, float)) for v in values) else values
    kind = recorded.get("type") or ("float" if all(isinstance(v, float) for v in values) else
                                    "int" if all(isinstance(v, int) for v in values) else "categorical")
    if name in merged:
        at = ("tasks", index, "space", name) if name in task.space else ("space", name)
        given = _parse_param(name, merged[name], at, problems)
        if given is None:
            return None
        if isinstance(given, (IntParam, FloatParam)) and given.grid is None:
            kept = [v for v in values if given.low <= v <= given.high]
            outside = [] if kept else [f"[{given.low}, {given.high}]"]
        else:
            asked = list(given.grid or ()) if isinstance(given, (IntParam, FloatParam)) else extremes(given)
            outside = [repr(v) for v in asked if v not in values]
            kept = [v for v in values if v in asked]
        if outside:
            problems.add(at, f"{', '.join(outside)}: not in the table {table}, whose values of {name} are "
                         f"{values}", task=task.name)
            return None
        values = kept
    if len(values) == 1:
        return FixedParam(name, values[0])
    if kind in ("int", "float") and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        log = bool(recorded.get("log")) and min(values) > 0
        cls = IntParam if kind == "int" and all(isinstance(v, int) for v in values) else FloatParam
        return cls(name, min(values), max(values), log=log, grid=tuple(values), finite=True)
    return CategoricalParam(name, tuple(values))


def _sampled_configurations(table: Any, params: list[Param]) -> tuple | None:
    """The table's configurations (within the values the suite keeps) where they are not every
    combination of its values, as `SearchSpace.configurations` takes them; None for a grid."""
    from automl_bench.tables import PARAM

    names = [p.name for p in params]
    if len(names) != len(table.params) or not names:
        return None
    kept = {p.name: set(p.grid_values(1)) for p in params}  # every table parameter's values are listed
    frame = table.frame[[PARAM + n for n in names]].drop_duplicates().astype(object)
    rows = [tuple(zip(names, row)) for row in frame.itertuples(index=False, name=None)]
    rows = [r for r in rows if all(v in kept[n] for n, v in r)]
    combinations = math.prod(len(v) for v in kept.values())
    return None if len(rows) == combinations else tuple(rows)


def _check_unfreeze(task: TaskDef, index: int, params: list[Param], problems: Problems) -> None:
    """Partial fine-tuning trains the top ``unfreeze_blocks`` of the source's trunk: 1..n-1 of its n blocks."""
    if task.source is None or task.model not in models.TRUNK_KNOBS:
        return
    by_name = {p.name: p for p in params}
    modes = set(task.modes or ()) | set(extremes(by_name["mode"]) if "mode" in by_name else ())
    if "partial" not in modes:
        return
    try:
        n = PUBLISHED[task.source.weights].blocks if task.source.weights else \
            models.build_config(task.model, dict(task.source.params)).trunk_blocks
    except (ValueError, KeyError):
        return  # the source's own problem is reported where its params are checked
    values = extremes(by_name["unfreeze_blocks"]) if "unfreeze_blocks" in by_name else [1]
    bad = [v for v in values if not 1 <= v < n]
    if bad:
        where = ("tasks", index, "space", "unfreeze_blocks") if "unfreeze_blocks" in task.space else \
            ("space", "unfreeze_blocks") if "unfreeze_blocks" in by_name else ("tasks", index, "source")
        problems.add(where, f"partial mode trains the top unfreeze_blocks of the source's {n} trunk blocks, so "
                            f"unfreeze_blocks must be 1..{n - 1}, got {bad[0]}", task=task.name)


def _check_transfer(task: TaskDef, index: int, problems: Problems) -> None:
    where = ("tasks", index)
    for loc, classes in ((where + ("classes",), task.classes),
                         (where + ("source", "classes"), task.source.classes if task.source else None)):
        if classes is not None and len(set(classes)) != len(classes):
            problems.add(loc, f"classes must be distinct, got {classes}")
    if isinstance(task.shots, list) and len(set(task.shots)) != len(task.shots):
        problems.add(where + ("shots",), f"shots must be distinct, got {task.shots}")
    if task.modes is not None and len(set(task.modes)) != len(task.modes):
        problems.add(where + ("modes",), f"modes must be distinct, got {task.modes}")
    if task.source is None:
        if task.modes is not None:
            problems.add(where + ("modes",), "modes apply to transfer tasks only (give the task a "
                                                      "[tasks.source])")
        return
    if task.model not in models.TRUNK_KNOBS:
        problems.add(where + ("model",), f"transfer tasks train {' or '.join(models.TRUNK_KNOBS)} models, "
                                                   f"not {task.model!r}")
        return
    source = task.source
    if (source.dataset is None) == (source.weights is None):
        problems.add(where + ("source",), "a source names a dataset to pretrain on, or published weights "
                                                    "(weights = \"keras:VGG16\"): one of the two")
        return
    if source.weights is not None:
        problem = check_source(source.weights, None, None, source.input_size)
        family = "mlp" if source.weights in PUBLISHED and PUBLISHED[source.weights].reads == "text" else "cnn"
        if problem is None and task.model != family:
            problem = (f"{source.weights} is the trunk of a {family} task (its head: "
                       f"{'the mlp' if family == 'mlp' else 'the dense layer and the output'}); "
                       f"task model is {task.model!r}")
        if problem:
            problems.add(where + ("source", "weights"), problem)
        for key in ("classes", "shots", "params"):
            if getattr(source, key):
                problems.add(where + ("source", key), f"{key} describe a source the harness pretrains; "
                                                                f"{source.weights} comes pretrained")
        return
    for key in ("weights_file", "input_size"):
        if getattr(source, key) is not None:
            problems.add(where + ("source", key), f"{key} applies to published weights only")
    for problem in check_layers(task.model, {k: [v] for k, v in task.source.params.items()}):
        problems.add(where + ("source", "params"), problem)
    for name, value in task.source.params.items():
        problem = models.check_value(task.model, name, value)
        if problem is None and name in {k.name for k in models.TRANSFER_KNOBS}:
            problem = f"{name} is a knob of the target, not of the source"
        if problem:
            problems.add(where + ("source", "params", name), problem)


def expand(task: Task) -> list[Task]:
    """One task per value of the ``shots`` and ``modes`` axes (just the task itself without them)."""
    d = task.definition
    # a value listed twice is reported where the list is, not again as a duplicate task
    shots: list[int | None] = list(dict.fromkeys(d.shots)) if isinstance(d.shots, list) else [None]
    modes: list[str | None] = list(dict.fromkeys(d.modes)) if d.modes is not None else [None]
    if shots == [None] and modes == [None]:
        return [task]
    out = []
    for k in shots:
        for mode in modes:
            name = d.name + (f"-k{k}" if k is not None else "") + (f"-{mode}" if mode is not None else "")
            space = task.space if mode is None else SearchSpace(task.space.params + (FixedParam("mode", mode),))
            variant = tuple((key, v) for key, v in (("shots", k), ("mode", mode)) if v is not None)
            out.append(Task(definition=d, space=space, name=name, shots=k if k is not None else task.shots,
                            variant=variant))
    return out


def _parse_param(name: str, value: Any, where: tuple, problems: Problems) -> Param | None:
    if not isinstance(value, dict):
        if isinstance(value, (bool, int, float, str)):
            return FixedParam(name, value)
        if isinstance(value, list) and all(isinstance(v, (bool, int, float, str)) for v in value):
            return FixedParam(name, tuple(value))  # a per-layer knob (units = [256, 128]); the model checks it
        problems.add(where, f"expected a fixed value or a table with type = int|float|categorical, got {value!r}")
        return None
    try:
        d = PARAM_ADAPTER.validate_python(value)
    except ValidationError as exc:
        for e in readable(exc.errors()):
            loc = tuple(x for x in e["loc"] if x not in ("int", "float", "categorical"))
            problems.add(where + loc, message(e))
        return None
    when = None
    if d.when is not None:
        ((parent, rule),) = d.when.items()
        when = Condition(parent, values=tuple(rule)) if isinstance(rule, list) else \
            Condition(parent, minimum=rule.min, maximum=rule.max)
    return d.to_param(name, when)


def extremes(param: Param) -> list[Any]:
    if isinstance(param, FixedParam):
        return [param.value]
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    return [param.low, param.high, *(param.grid or ())]
