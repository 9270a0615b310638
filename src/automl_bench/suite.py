"""Suite files: TOML parsed with tomllib, validated with pydantic, then checked against plugins.

Every problem in a file is reported at once, each as ``file:line: key.path: message``.
Unknown keys are rejected; unknown component names are answered with the valid choices.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from automl_bench import models
from automl_bench.errors import SuiteError
from automl_bench.published import PUBLISHED, check_source
from automl_bench.space import (
    CategoricalParam,
    Condition,
    FixedParam,
    FloatParam,
    IntParam,
    Param,
    SearchSpace,
)

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
MAX_INT = 2**53  # int range bounds: beyond this a float cannot hold them exactly
Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bounds(_Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> "Bounds":
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


# `when = { optimizer = ["sgd", "rmsprop"] }` or `when = { layers = { min = 3 } }`: one parent.
When = Annotated[dict[str, Union[list[Scalar], Bounds]], Field(min_length=1, max_length=1)]


# --------------------------------------------------------------------------- parameters


class IntDef(_Strict):
    type: Literal["int"]
    low: Annotated[int, Field(strict=True, ge=-MAX_INT, le=MAX_INT)]
    high: Annotated[int, Field(strict=True, ge=-MAX_INT, le=MAX_INT)]
    log: bool = False
    step: StrictInt = Field(1, ge=1)
    grid: list[StrictInt] | None = Field(None, min_length=1)
    points: StrictInt | None = Field(None, ge=1, le=10_000, description="grid points for this parameter")
    when: When | None = None

    @model_validator(mode="after")
    def _check(self) -> "IntDef":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError("a log-scale int needs low >= 1 and step 1")
        _check_step_and_grid(self)
        return self


class FloatDef(_Strict):
    type: Literal["float"]
    low: FiniteFloat
    high: FiniteFloat
    log: bool = False
    step: FiniteFloat | None = Field(None, gt=0)
    grid: list[FiniteFloat] | None = Field(None, min_length=1)
    points: StrictInt | None = Field(None, ge=1, le=10_000, description="grid points for this parameter")
    when: When | None = None

    @model_validator(mode="after")
    def _check(self) -> "FloatDef":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale float needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("step cannot be combined with log")
        _check_step_and_grid(self)
        return self


def _check_step_and_grid(d: Any) -> None:
    if d.step is not None and d.high > d.low and d.step > d.high - d.low:
        raise ValueError(f"step ({d.step}) is larger than the range [{d.low}, {d.high}]: only low would ever be drawn")
    outside = [v for v in d.grid or () if not d.low <= v <= d.high]
    if outside:
        raise ValueError(f"grid values {outside} lie outside [low, high] = [{d.low}, {d.high}]")


class CategoricalDef(_Strict):
    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)
    when: When | None = None


ParamDef = Annotated[Union[IntDef, FloatDef, CategoricalDef], Field(discriminator="type")]
_PARAM_ADAPTER: TypeAdapter[Any] = TypeAdapter(ParamDef)


# --------------------------------------------------------------------------- suite


Classes = Annotated[list[Annotated[int, Field(strict=True, ge=0)]], Field(min_length=2)]


class SourceDef(_Strict):
    """A transfer task's source: a model the harness pretrains on ``dataset`` (once per backend
    and seed, then cached), or published ``weights`` (``keras:VGG16``; automl_bench.published)."""

    dataset: str | None = None
    #: Published weights, by framework and name; ``weights_file``: a copy of them on disk (a path
    #: relative to the suite file), used instead of the framework's download.
    weights: str | None = None
    weights_file: str | None = None
    #: Published weights: the square size images are resized to (default: the data's own size,
    #: or the smallest the published network accepts).
    input_size: StrictInt | None = Field(None, ge=1, le=4096)
    classes: Classes | None = None
    shots: StrictInt | None = Field(None, ge=1, description="training examples per class")
    #: Fixed knobs of the source model; its trunk knobs are the target's too. A list is a
    #: per-layer knob (``units = [256, 128]``).
    params: dict[str, Union[Scalar, list[Scalar]]] = Field(default_factory=dict)


class TaskDef(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    dataset: str
    model: Literal["mlp", "cnn", "rnn"] = "mlp"
    metric: Literal["accuracy"] = "accuracy"
    val_fraction: float = Field(0.2, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)] = 0
    #: Keep only these classes, relabelled 0..n-1 in this order.
    classes: Classes | None = None
    #: Training examples per class (the validation and test splits stay whole); a list is a
    #: matrix axis: one task per value, named ``<name>-k<shots>``.
    shots: Union[Annotated[int, Field(strict=True, ge=1)],
                 Annotated[list[Annotated[int, Field(strict=True, ge=1)]], Field(min_length=1)], None] = None
    source: SourceDef | None = None
    #: Transfer modes as a matrix axis: one task per mode, named ``<name>-<mode>``. To search
    #: the mode instead, put ``mode`` in the space.
    modes: list[Literal[models.MODES]] | None = Field(None, min_length=1)  # type: ignore[valid-type]
    space: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_fractions(self) -> "TaskDef":
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(f"val_fraction + test_fraction must be < 1 (something must be left to train on), got "
                             f"{self.val_fraction} + {self.test_fraction}")
        return self


class Budget(_Strict):
    max_trials: StrictInt = Field(10, ge=1, le=100_000, description="trials per cell")
    max_epochs: StrictInt | None = Field(None, ge=1, le=models.MAX_EPOCHS, description="cap on any trial's epochs")
    trial_timeout: FiniteFloat = Field(600.0, gt=0, le=7 * 24 * 3600, description="seconds before a trial is stopped")


class Matrix(_Strict):
    backends: list[str] = Field(min_length=1)
    #: "strategy" or "strategy+pruner", e.g. "tpe+asha"
    strategies: list[str] = Field(min_length=1)


class Execution(_Strict):
    # Keys beyond these are the chosen executor's own options (`ExecutorSpec.options`, such as the
    # ray executor's ``ray_address``), checked against it when a suite is validated with plugins.
    model_config = ConfigDict(extra="allow", frozen=True)

    executor: str = Field("local", description="what runs the trials: local worker processes, ray, or a plugin's")
    workers: StrictInt | None = Field(None, ge=1, le=1024, description="trials at once (default: local 1, or "
                                                                        "GPUs x trials_per_gpu; ray: all that fit)")
    threads: StrictInt = Field(1, ge=1, le=1024, description="framework threads per worker")
    device: Literal["cpu", "cuda", "auto"] | None = Field(None, description='default "cpu", or "auto" with gpus')
    gpus: Literal["all"] | Annotated[list[Annotated[int, Field(strict=True, ge=0)]], Field(min_length=1)] | None = \
        Field(None, description='GPUs to place trials on: "all" or a list of indices')
    trials_per_gpu: StrictInt = Field(1, ge=1, le=64, description="trials sharing one GPU at once")
    max_trials_per_worker: StrictInt | None = Field(
        None, ge=1, description="replace a worker after this many trials (default: the backend's own limit)")
    calibrate: StrictBool = Field(True, description="time each backend's calibration workload when a run starts "
                                                    "(`bench compare` uses it across machines)")
    max_retries: StrictInt = Field(2, ge=0, le=100, description="reruns of a trial whose process or machine the "
                                                                "executor lost (a dead node)")

    @property
    def options(self) -> dict[str, Any]:
        """The keys this table sets for its executor (`ExecutorSpec.options`)."""
        return dict(self.model_extra or {})

    @property
    def effective_device(self) -> str:
        return self.device or ("auto" if self.gpus is not None else "cpu")

    @model_validator(mode="after")
    def _device_fits_gpus(self) -> "Execution":
        if self.gpus is not None and self.device == "cpu":
            raise ValueError('gpus places trials on GPUs, device = "cpu" keeps them off: set device = "auto" '
                             '(a GPU where there is one) or "cuda", or drop gpus')
        if self.trials_per_gpu > 1 and self.gpus is None:
            raise ValueError("trials_per_gpu needs gpus (\"all\" or a list of indices)")
        return self


#: Keys of `[execution]` that say where and how trials run, not what they are: left out of a
#: suite's identity, so a run started on one executor resumes on another.
PLACEMENT_KEYS = ("executor", "max_retries")


#: The metrics `bench compare` can gate on (docs/regression.md), and those it gates on by default.
GatedMetric = Literal["best_val", "test", "epoch_seconds", "wall_seconds"]
DEFAULT_GATE = ("best_val", "test", "epoch_seconds")


class Regression(_Strict):
    """Settings of `bench compare` for this suite (docs/regression.md); the command line overrides them."""

    alpha: FiniteFloat = Field(0.05, gt=0, lt=0.5, description="family-wise false-alarm rate (Holm over every test)")
    max_score_drop: FiniteFloat = Field(0.01, ge=0, lt=1, description="tolerated drop of a score (absolute)")
    max_slowdown: FiniteFloat = Field(1.10, ge=1, le=100, description="tolerated ratio of times, current / baseline")
    gate: list[GatedMetric] = Field(default_factory=lambda: list(DEFAULT_GATE), min_length=1,
                                    description="the metrics a regression is judged on")


class SuiteModel(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    seeds: list[Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]] = Field(default_factory=lambda: [0],
                                                                                min_length=1, max_length=10_000)
    tasks: list[TaskDef] = Field(min_length=1)
    space: dict[str, Any] = Field(default_factory=dict)
    budget: Budget = Budget()
    matrix: Matrix
    strategy: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per strategy")
    pruner: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per pruner")
    execution: Execution = Execution()
    reporters: list[str] | None = None
    regression: Regression = Regression()


# --------------------------------------------------------------------------- loaded suite


@dataclass(frozen=True)
class Task:
    """One task of the matrix. A task definition with ``shots`` or ``modes`` lists expands into
    one task per combination; ``variant`` holds its values, e.g. ``(("shots", 20), ("mode", "frozen"))``."""

    definition: TaskDef
    space: SearchSpace
    name: str
    shots: int | None = None
    variant: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Suite:
    """A validated suite: the parsed model, each task's search space, and its digests."""

    path: Path
    model: SuiteModel
    tasks: tuple[Task, ...]
    #: Of its content (`content_sha256`): what identifies the suite in a results directory.
    sha256: str
    #: Of the file's bytes, as results directories written before content hashing recorded it.
    file_sha256: str = ""

    @property
    def name(self) -> str:
        return self.model.name


def load_suite(path: str | Path, host: Any | None = None) -> Suite:
    """Parse and validate a suite file; with a plugin host, also check every component name.

    Raises `SuiteError` listing every problem found.
    """
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise SuiteError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    text = raw_bytes.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(str(path), [_toml_problem(path, text, exc)]) from None
    except RecursionError:
        raise SuiteError(str(path), [f"{path}: malformed suite: tables or arrays nested too deeply to read (a suite "
                                     "needs three levels)"]) from None

    locate = _Locator(str(path), text)
    try:
        model = SuiteModel.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(str(path), [locate(e["loc"], _message(e), at=e["loc"][:-1] if e["type"] == "missing" else None)
                                     for e in exc.errors()]) from None

    problems: list[str] = []
    tasks: tuple[Task, ...] = ()
    seen: dict[str, int] = {}
    for i, definition in enumerate(model.tasks):
        base = _build_task(model, i, definition, problems, locate)
        for task in _expand(base):
            if task.name in seen:
                problems.append(locate(("tasks", i, "name"), f"duplicate task name {task.name!r}"
                                       + (f" (also made by tasks[{seen[task.name]}])" if seen[task.name] != i else "")))
            seen.setdefault(task.name, i)
            tasks += (task,)
    if host is not None:
        problems += _check_components(model, tasks, host, locate)
    if problems:
        raise SuiteError(str(path), problems)
    return Suite(path=path, model=model, tasks=tasks, sha256=content_sha256(identity(data)),
                 file_sha256=hashlib.sha256(raw_bytes).hexdigest())


def identity(data: dict[str, Any]) -> dict[str, Any]:
    """What of a suite decides its results: all but the `[regression]` table, which only says how
    `bench compare` judges them (changing a tolerance does not make results incomparable), and
    `[execution]`'s choice of executor, its own options and ``max_retries``, which say where
    trials run, not what they are (a run started locally resumes on Ray)."""
    kept = {k: v for k, v in data.items() if k != "regression"}
    execution = data.get("execution")
    if isinstance(execution, dict):
        known = set(Execution.model_fields) - set(PLACEMENT_KEYS)
        kept["execution"] = {k: v for k, v in execution.items() if k in known}
        if not kept["execution"]:
            del kept["execution"]
    return kept


def content_sha256(data: Any) -> str:
    """sha256 of what a suite says, not how it is written: comments, layout, key order and the
    spelling of numbers do not change it."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _build_task(model: SuiteModel, index: int, task: TaskDef, problems: list[str], locate: "_Locator") -> Task:
    if task.source is not None and task.source.weights_file is not None:  # relative to the suite file
        file = Path(locate.path).parent / Path(task.source.weights_file).expanduser()
        if not file.exists():  # a file (keras:...) or a model directory (sbert:...)
            problems.append(locate(("tasks", index, "source", "weights_file"), f"no such file: {file}"))
        task = task.model_copy(update={"source": task.source.model_copy(update={"weights_file": str(file.resolve())})})
    merged = {**model.space, **task.space}
    params: list[Param] = []
    _check_transfer(task, index, problems, locate)
    trunk = set(models.TRUNK_KNOBS.get(task.model, ())) if task.source is not None else set()
    published = PUBLISHED.get(task.source.weights or "") if task.source is not None else None
    if published is not None and published.reads == "text":
        trunk = set()  # the encoder is the trunk: the mlp's knobs shape the head
    transfer_only = {k.name for k in models.TRANSFER_KNOBS}
    for name, value in merged.items():
        where = ("tasks", index, "space", name) if name in task.space else ("space", name)
        if models.layer_knob(task.model, name)[0] in trunk:
            problems.append(locate(where, f"task {task.name!r} is a transfer task: {name} shapes the pretrained "
                                          + (f"trunk, which is {published.name}'s: it cannot be set" if published
                                             else f"trunk, so it is set in tasks[{index}].source.params, not searched")))
            continue
        if name in transfer_only and task.source is None:
            problems.append(locate(where, f"task {task.name!r}: {name} applies to transfer tasks only "
                                          f"(give the task a [tasks.source])"))
            continue
        if name == "mode" and task.modes is not None:
            problems.append(locate(where, f"task {task.name!r} lists modes as a matrix axis; "
                                          "drop mode from the space or the modes list"))
            continue
        param = _parse_param(name, value, where, problems, locate)
        if param is None:
            continue
        if param.when is not None and param.when.parent not in {p.name for p in params}:
            problems.append(locate(where + ("when",), f"condition on {param.when.parent!r}, which is not a parameter "
                                                       "defined before this one"))
            continue
        for v in _extremes(param):
            problem = models.check_value(task.model, name, v)
            if problem:
                problems.append(locate(where, f"task {task.name!r}: {problem}"))
                break
        params.append(param)
    for problem in models.check_layers(task.model, {p.name: _extremes(p) for p in params}):
        problems.append(locate(("tasks", index, "space") if task.space else ("space",), f"task {task.name!r}: {problem}"))
    _check_unfreeze(task, index, params, problems, locate)
    return Task(definition=task, space=SearchSpace(tuple(params)), name=task.name,
                shots=task.shots if isinstance(task.shots, int) else None)


def _check_unfreeze(task: TaskDef, index: int, params: list[Param], problems: list[str], locate: "_Locator") -> None:
    """Partial fine-tuning trains the top ``unfreeze_blocks`` of the source's trunk: 1..n-1 of its n blocks."""
    if task.source is None or task.model not in models.TRUNK_KNOBS:
        return
    by_name = {p.name: p for p in params}
    modes = set(task.modes or ()) | set(_extremes(by_name["mode"]) if "mode" in by_name else ())
    if "partial" not in modes:
        return
    try:
        n = PUBLISHED[task.source.weights].blocks if task.source.weights else \
            models.build_config(task.model, dict(task.source.params)).trunk_blocks
    except (ValueError, KeyError):
        return  # the source's own problem is reported where its params are checked
    values = _extremes(by_name["unfreeze_blocks"]) if "unfreeze_blocks" in by_name else [1]
    bad = [v for v in values if not 1 <= v < n]
    if bad:
        where = ("tasks", index, "space", "unfreeze_blocks") if "unfreeze_blocks" in task.space else \
            ("space", "unfreeze_blocks") if "unfreeze_blocks" in by_name else ("tasks", index, "source")
        problems.append(locate(where, f"task {task.name!r}: partial mode trains the top unfreeze_blocks of the "
                                      f"source's {n} trunk blocks, so unfreeze_blocks must be 1..{n - 1}, got {bad[0]}"))


def _check_transfer(task: TaskDef, index: int, problems: list[str], locate: "_Locator") -> None:
    where = ("tasks", index)
    for loc, classes in ((where + ("classes",), task.classes),
                         (where + ("source", "classes"), task.source.classes if task.source else None)):
        if classes is not None and len(set(classes)) != len(classes):
            problems.append(locate(loc, f"classes must be distinct, got {classes}"))
    if isinstance(task.shots, list) and len(set(task.shots)) != len(task.shots):
        problems.append(locate(where + ("shots",), f"shots must be distinct, got {task.shots}"))
    if task.modes is not None and len(set(task.modes)) != len(task.modes):
        problems.append(locate(where + ("modes",), f"modes must be distinct, got {task.modes}"))
    if task.source is None:
        if task.modes is not None:
            problems.append(locate(where + ("modes",), "modes apply to transfer tasks only (give the task a "
                                                      "[tasks.source])"))
        return
    if task.model not in models.TRUNK_KNOBS:
        problems.append(locate(where + ("model",), f"transfer tasks train {' or '.join(models.TRUNK_KNOBS)} models, "
                                                   f"not {task.model!r}"))
        return
    source = task.source
    if (source.dataset is None) == (source.weights is None):
        problems.append(locate(where + ("source",), "a source names a dataset to pretrain on, or published weights "
                                                    "(weights = \"keras:VGG16\"): one of the two"))
        return
    if source.weights is not None:
        problem = check_source(source.weights, None, None, source.input_size)
        family = "mlp" if source.weights in PUBLISHED and PUBLISHED[source.weights].reads == "text" else "cnn"
        if problem is None and task.model != family:
            problem = (f"{source.weights} is the trunk of a {family} task (its head: "
                       f"{'the mlp' if family == 'mlp' else 'the dense layer and the output'}); "
                       f"task model is {task.model!r}")
        if problem:
            problems.append(locate(where + ("source", "weights"), problem))
        for key in ("classes", "shots", "params"):
            if getattr(source, key):
                problems.append(locate(where + ("source", key), f"{key} describe a source the harness pretrains; "
                                                                f"{source.weights} comes pretrained"))
        return
    for key in ("weights_file", "input_size"):
        if getattr(source, key) is not None:
            problems.append(locate(where + ("source", key), f"{key} applies to published weights only"))
    for problem in models.check_layers(task.model, {k: [v] for k, v in task.source.params.items()}):
        problems.append(locate(where + ("source", "params"), problem))
    for name, value in task.source.params.items():
        problem = models.check_value(task.model, name, value)
        if problem is None and name in {k.name for k in models.TRANSFER_KNOBS}:
            problem = f"{name} is a knob of the target, not of the source"
        if problem:
            problems.append(locate(where + ("source", "params", name), problem))


def _expand(task: Task) -> list[Task]:
    """One task per value of the ``shots`` and ``modes`` axes (just the task itself without them)."""
    d = task.definition
    shots: list[int | None] = list(d.shots) if isinstance(d.shots, list) else [None]
    modes: list[str | None] = list(d.modes) if d.modes is not None else [None]
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


def _parse_param(name: str, value: Any, where: tuple, problems: list[str], locate: "_Locator") -> Param | None:
    if not isinstance(value, dict):
        if isinstance(value, (bool, int, float, str)):
            return FixedParam(name, value)
        if isinstance(value, list) and all(isinstance(v, (bool, int, float, str)) for v in value):
            return FixedParam(name, tuple(value))  # a per-layer knob (units = [256, 128]); the model checks it
        problems.append(locate(where, f"expected a fixed value or a table with type = int|float|categorical, got {value!r}"))
        return None
    try:
        d = _PARAM_ADAPTER.validate_python(value)
    except ValidationError as exc:
        for e in exc.errors():
            loc = tuple(x for x in e["loc"] if x not in ("int", "float", "categorical"))
            problems.append(locate(where + loc, _message(e)))
        return None
    when = None
    if d.when is not None:
        ((parent, rule),) = d.when.items()
        when = Condition(parent, values=tuple(rule)) if isinstance(rule, list) else \
            Condition(parent, minimum=rule.min, maximum=rule.max)
    if isinstance(d, IntDef):
        return IntParam(name, d.low, d.high, d.log, d.step, tuple(d.grid) if d.grid else None, when, d.points)
    if isinstance(d, FloatDef):
        return FloatParam(name, d.low, d.high, d.log, d.step, tuple(d.grid) if d.grid else None, when, d.points)
    return CategoricalParam(name, tuple(d.choices), when)


def _extremes(param: Param) -> list[Any]:
    if isinstance(param, FixedParam):
        return [param.value]
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    return [param.low, param.high, *(param.grid or ())]


def _check_components(model: SuiteModel, tasks: tuple[Task, ...], host: Any, locate: "_Locator") -> list[str]:
    problems = []

    def check(loc: tuple, kind: str, name: str, registry: dict) -> Any:
        problem = host.problem(kind, name)
        if problem is not None:
            problems.append(locate(loc, problem))
            return None
        return registry[name]

    backends, strategies, datasets = host.backends(), host.strategies(), host.datasets()
    for i, name in enumerate(model.matrix.backends):
        spec = check(("matrix", "backends", i), "backend", name, backends)
        for t, task in enumerate(model.tasks):
            if spec is not None and task.model not in spec.families:
                problems.append(locate(("tasks", t, "model"), f"backend {name!r} cannot train a {task.model!r} model (it supports: {', '.join(spec.families)})"))
        for built in tasks if spec is not None and spec.check_space else ():
            for problem in spec.check_space(built.space):
                problems.append(locate(("matrix", "backends", i), f"task {built.name!r}: {problem}"))
    pruners = host.pruners()
    for i, entry in enumerate(model.matrix.strategies):
        name, _, pruner = entry.partition("+")
        spec = check(("matrix", "strategies", i), "strategy", name, strategies)
        if pruner:
            check(("matrix", "strategies", i), "pruner", pruner, pruners)
        for t, task in enumerate(tasks):
            for problem in (spec.check_space(task.space) if spec is not None and spec.check_space else []):
                problems.append(locate(("matrix", "strategies", i), f"task {task.name!r}: {problem}"))
    for i, task in enumerate(model.tasks):
        spec = check(("tasks", i, "dataset"), "dataset", task.dataset, datasets)
        # each task its shots and modes axes made (by name: a definition may have been copied to resolve a path)
        for built in (t for t in tasks if t.definition.name == task.name):
            if spec is not None and spec.input_shape is not None and not (task.source and task.source.weights):
                values = {p.name: _extremes(p) for p in built.space}
                if task.source is not None:  # the trunk's knobs come from the source
                    values.update({k: [v] for k, v in task.source.params.items()})
                for problem in models.check_input(task.model, spec.input_shape, values, spec.kind):
                    problems.append(locate(("tasks", i, "model"), f"task {built.name!r} on {task.dataset!r}: {problem}"))
        if task.source is not None and task.source.weights is not None:
            problems += _check_published(model, i, task, spec, backends, locate)
        elif task.source is not None and task.source.dataset is not None:
            source = check(("tasks", i, "source", "dataset"), "dataset", task.source.dataset, datasets)
            if source is not None and spec is not None and None not in (source.input_shape, spec.input_shape) \
                    and source.input_shape != spec.input_shape:
                problems.append(locate(("tasks", i, "source", "dataset"),
                                       f"source samples have shape {source.input_shape}, the target's "
                                       f"{spec.input_shape}: one trunk cannot read both"))
            for name in model.matrix.backends:
                if name in backends and not backends[name].transfer:
                    problems.append(locate(("tasks", i, "source"), f"backend {name!r} cannot run transfer tasks; "
                                   f"these can: {', '.join(sorted(b for b, s in backends.items() if s.transfer))}"))
    if model.reporters is not None:
        reporters = host.reporters()
        for i, name in enumerate(model.reporters):
            check(("reporters", i), "reporter", name, reporters)
    for kind, table, registry in (("strategy", model.strategy, strategies), ("pruner", model.pruner, pruners)):
        for name, options in table.items():
            spec = check((kind, name), kind, name, registry)
            for key, value in (options.items() if spec is not None else ()):
                if key not in spec.options:
                    valid = ", ".join(spec.options) or f"(this {kind} takes no options)"
                    problems.append(locate((kind, name, key), f"unknown option for {kind} {name!r}; valid options: {valid}"))
                elif not _same_kind(spec.options[key], value):
                    problems.append(locate((kind, name, key), f"expected {type(spec.options[key]).__name__}, got {value!r}"))
    executors = host.executors()
    executor = check(("execution", "executor"), "executor", model.execution.executor, executors)
    for key, value in model.execution.options.items() if executor is not None else ():
        if key not in executor.options:
            valid = ", ".join([k for k in Execution.model_fields if k != "executor"] + list(executor.options))
            problems.append(locate(("execution", key), f"unknown key for executor {executor.name!r}; valid keys: "
                                                       f"{valid}"))
        elif not _same_kind(executor.options[key], value):
            problems.append(locate(("execution", key), f"expected {type(executor.options[key]).__name__}, "
                                                       f"got {value!r}"))
    problems += _check_options(model, tasks, strategies, pruners, locate) if not problems else []
    return problems


def _check_published(model: SuiteModel, index: int, task: TaskDef, spec: Any, backends: dict,
                     locate: "_Locator") -> list[str]:
    """A source of published weights: the data must be what the network reads (images, or text),
    and every backend of the matrix must load weights of that framework (`BackendSpec.weights`)."""
    assert task.source is not None and task.source.weights is not None
    where = ("tasks", index, "source", "weights")
    name = task.source.weights
    if name not in PUBLISHED:
        return []  # reported with the source's other problems
    problems = []
    if spec is not None:
        problem = check_source(name, spec.input_shape, spec.kind, task.source.input_size)
        if problem:
            problems.append(locate(where, f"task {task.name!r} on {task.dataset!r}: {problem}"))
    framework = PUBLISHED[name].framework
    able = sorted(b for b, s in backends.items() if framework in s.weights)
    for i, backend in enumerate(model.matrix.backends):
        if backend in backends and framework not in backends[backend].weights:
            problems.append(locate(("matrix", "backends", i), f"backend {backend!r} cannot load {name} (task "
                                   f"{task.name!r}); these can: {', '.join(able) or 'none installed'}"))
    return problems


def _check_options(model: SuiteModel, tasks: tuple[Task, ...], strategies: dict, pruners: dict,
                   locate: "_Locator") -> list[str]:
    """Build each strategy and pruner whose options the suite sets, once: a value its constructor
    rejects (``points = 0``) is reported here, not as a failed run."""
    problems = []
    for kind, table, registry in (("strategy", model.strategy, strategies), ("pruner", model.pruner, pruners)):
        for name, options in table.items():
            spec = registry.get(name)
            if spec is None or not options or not tasks:
                continue
            try:
                arguments = {"space": tasks[0].space, "seed": 0} if kind == "strategy" else {}
                spec.factory(**arguments, **{**spec.options, **options})
            except Exception as exc:  # noqa: BLE001 - the plugin's own words say what is wrong
                problems.append(locate((kind, name), f"{kind} {name!r} rejects these options: {exc}"))
    return problems


def _same_kind(default: Any, value: Any) -> bool:
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


# --------------------------------------------------------------------------- messages


def _toml_problem(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's tomllib puts the position in the message only: "(at line 3, column 5)".
    m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
    if m:
        return f"{path}:{m.group(1)}:{m.group(2)}: malformed TOML: {msg}"
    if "end of document" in str(exc):
        line, col = text.count("\n") + 1, len(text) - text.rfind("\n")
        return f"{path}:{line}:{col}: malformed TOML: {msg} at end of file"
    return f"{path}: malformed TOML: {msg}"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return error["msg"]


def dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Locator:
    """Formats ``file:line: key.path: message``. The line is found in an index of the TOML text
    built once (which keys each line defines), so reporting many problems stays linear."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()
        self._keys: dict[str, list[int]] | None = None
        self._arrays: dict[str, list[int]] = {}

    def __call__(self, loc: tuple, message: str, at: tuple | None = None) -> str:
        """``at``: where to point instead of ``loc`` (a missing key: its table)."""
        line = self._line(loc if at is None else at)
        where = f"{self.path}:{line}" if line else self.path
        return f"{where}: {dotted(loc) or '(top level)'}: {message}"

    def _index(self) -> dict[str, list[int]]:
        if self._keys is None:
            self._keys = {}
            for i, text in enumerate(self.lines):
                header = re.match(r"\s*(\[\[?)\s*([^\]]*?)\s*\]", text)
                if header:
                    self._keys.setdefault(header.group(2).split(".")[-1].strip(), []).append(i)
                    if header.group(1) == "[[":
                        self._arrays.setdefault(header.group(2), []).append(i)
                for m in re.finditer(r"(?:^|[{,\s])([A-Za-z0-9_-]+)\s*=", text):
                    self._keys.setdefault(m.group(1), []).append(i)
        return self._keys

    def _line(self, loc: tuple) -> int | None:
        keys = self._index()
        start, found, table = 0, None, ""
        for part in loc:
            if isinstance(part, int):
                hits = self._arrays.get(table, []) if table else []  # the n-th [[table]] header
                if part < len(hits):
                    start = found = hits[part]
                continue
            table = f"{table}.{part}" if table else str(part)
            lines = keys.get(str(part), [])
            i = bisect.bisect_left(lines, start)
            if i < len(lines):
                start = found = lines[i]
        return found + 1 if found is not None else None
