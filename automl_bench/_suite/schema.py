"""The suite schema: every key a suite file may hold, with its type, default and constraint,
as pydantic models. Unknown keys are rejected. A search-space parameter's own rules live in
`automl_bench.space`: the definitions here check only types and keys, and build the parameter by
name (`_ParamDef.to_param`)."""

from __future__ import annotations

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
    field_validator,
    model_validator,
)

from automl_bench._model import config as models
from automl_bench.space import CategoricalParam, Condition, FloatParam, IntParam, Param

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
#: A suite's or task's name becomes part of file and folder names (results/<suite>+seeds.../,
#: report pictures per task), which a file system limits to 255 bytes.
NAME_MAX = 100


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


When = Annotated[dict[str, Union[list[Scalar], Bounds]], Field(min_length=1, max_length=1)]


class _ParamDef(_Strict):
    """The keys of one ``[space]`` parameter table, typed as TOML gives them. Its rules (low <= high,
    log scales, steps, grids) are the space parameter's own: validation builds it, by name."""

    @model_validator(mode="after")
    def _check(self) -> "_ParamDef":
        self.to_param("-", None)  # raises the parameter's own ValueError
        return self

    def to_param(self, name: str, when: Condition | None) -> Param:
        """The `automl_bench.space` parameter this table describes, built by keyword."""
        return PARAMS[self.type](name=name, when=when, **self.model_dump(exclude={"type", "when"}))


class IntDef(_ParamDef):
    type: Literal["int"]
    #: The smallest value...
    low: Annotated[int, Field(strict=True, ge=-MAX_INT, le=MAX_INT)]
    #: ...and the largest (included).
    high: Annotated[int, Field(strict=True, ge=-MAX_INT, le=MAX_INT)]
    #: Draw on a log scale (low > 0).
    log: bool = False
    #: Only low, low + step, ... (not with log).
    step: StrictInt = 1
    #: The values the grid strategy tries (default: `points` spread from low to high).
    grid: list[StrictInt] | None = None
    points: StrictInt | None = Field(None, le=10_000, description="grid points for this parameter")
    #: Only the grid's values exist: every proposal snaps to the nearest (as a replayed table's do).
    finite: StrictBool = False
    #: Search it only when another parameter has one of some values (``{ optimizer = ["sgd"] }``) or
    #: lies within bounds (``{ layers = { min = 2 } }``).
    when: When | None = None


class FloatDef(_ParamDef):
    type: Literal["float"]
    #: The smallest value...
    low: FiniteFloat
    #: ...and the largest.
    high: FiniteFloat
    #: Draw on a log scale (low > 0).
    log: bool = False
    #: Only low, low + step, ... (not with log).
    step: FiniteFloat | None = None
    #: The values the grid strategy tries (default: `points` spread from low to high).
    grid: list[FiniteFloat] | None = None
    points: StrictInt | None = Field(None, le=10_000, description="grid points for this parameter")
    #: Only the grid's values exist: every proposal snaps to the nearest (as a replayed table's do).
    finite: StrictBool = False
    #: Search it only when another parameter has one of some values or lies within bounds.
    when: When | None = None


class CategoricalDef(_ParamDef):
    type: Literal["categorical"]
    #: The values to choose from.
    choices: list[Scalar]
    #: Search it only when another parameter has one of some values or lies within bounds.
    when: When | None = None


PARAMS: dict[str, type[Param]] = {"int": IntParam, "float": FloatParam, "categorical": CategoricalParam}


ParamDef = Annotated[Union[IntDef, FloatDef, CategoricalDef], Field(discriminator="type")]


PARAM_ADAPTER: TypeAdapter[Any] = TypeAdapter(ParamDef)


Classes = Annotated[list[Annotated[int, Field(strict=True, ge=0)]], Field(min_length=2)]


class DataDef(_Strict):
    """A dataset of the user's own files (`automl_bench._files`): ``dataset = { path = "data/photos" }``.
    Which options apply depends on the kind; the rest are checked when the files are read."""

    path: str = Field(min_length=1, description="a file or folder, relative to the suite file")
    kind: Literal["arrays", "table", "images", "text"] | None = Field(
        None, description="inferred from the path where unambiguous (.npz/.npy, .csv/.parquet, a folder's files)")
    labels: str | None = Field(None, description="arrays: the labels' .npy beside a features .npy")
    label: str | None = Field(None, min_length=1, description='table: the label column (default "label")')
    features: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, description="table: the input columns (default: every other numeric column, then the "
                                        "categorical ones)")
    categorical: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, description="table: columns of text (or codes) one-hot encoded, one input per category")
    image_size: Annotated[list[Annotated[int, Field(strict=True, ge=1, le=4096)]],
                          Field(min_length=2, max_length=2)] | None = Field(
        None, description="images: [height, width] every image is resized to (default: their own, one size)")
    color_mode: Literal["grayscale", "rgb"] | None = Field(
        None, description="images: default grayscale when every image is, else rgb")
    skip_bad_files: StrictBool | None = Field(None, description="images, text: skip and count unreadable files")
    encoding: str | None = Field(None, min_length=1, description='text: the files\' encoding (default "utf-8")')
    vocab_size: StrictInt | None = Field(None, ge=3, le=10_000_000,
                                         description="text: word ids, 0 padding and 1 unknown included (default 10000)")
    sequence_length: StrictInt | None = Field(None, ge=1, le=100_000,
                                              description="text: words kept per text, the first ones (default 100)")

    def given(self) -> dict[str, Any]:
        """The keys the suite set."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class SourceDef(_Strict):
    """A transfer task's source: a model the harness pretrains on ``dataset`` (once per backend
    and seed, then cached), or published ``weights`` (``keras:VGG16``; automl_bench._model.published)."""

    #: The dataset the source model is pretrained on (a name or your own files).
    dataset: str | DataDef | None = None
    #: Published weights, by framework and name; ``weights_file``: a copy of them on disk (a path
    #: relative to the suite file), used instead of the framework's download.
    weights: str | None = None
    weights_file: str | None = None
    #: Published weights: the square size images are resized to (default: the data's own size,
    #: or the smallest the published network accepts).
    input_size: StrictInt | None = Field(None, ge=1, le=4096)
    #: Keep only these classes of the source data, relabelled 0..n-1 in this order.
    classes: Classes | None = None
    shots: StrictInt | None = Field(None, ge=1, description="training examples per class")
    #: Fixed knobs of the source model; its trunk knobs are the target's too. A list is a
    #: per-layer knob (``units = [256, 128]``).
    params: dict[str, Union[Scalar, list[Scalar]]] = Field(default_factory=dict)


class TaskDef(_Strict):
    #: The task's name: lower-case letters, digits, ``_ . -``.
    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX)
    #: A built-in or plugin dataset by name, or the user's own files (`DataDef`); a task that
    #: replays a table leaves it out: the table's is filled in.
    dataset: str | DataDef
    #: A table of recorded training runs (`bench tabulate`), relative to the suite file: the task
    #: replays it (backend ``replay``); its dataset, model and search space are the table's.
    table: str | None = None
    #: The model family (`models.md` lists each family's knobs).
    model: Literal["mlp", "cnn", "rnn"] = "mlp"
    #: The score a search maximises, on the validation split.
    metric: Literal["accuracy"] = "accuracy"
    #: The share of the data held out for validation (what searches see)...
    val_fraction: float = Field(0.2, gt=0, lt=1)
    #: ...and for the test split (what no search sees); the rest trains.
    test_fraction: float = Field(0.2, gt=0, lt=1)
    #: The seed of the stratified split, the same for every trial and seed of the suite.
    split_seed: Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)] = 0
    #: Keep only these classes, relabelled 0..n-1 in this order.
    classes: Classes | None = None
    #: Training examples per class (the validation and test splits stay whole); a list is a
    #: matrix axis: one task per value, named ``<name>-k<shots>``.
    shots: Union[Annotated[int, Field(strict=True, ge=1)],
                 Annotated[list[Annotated[int, Field(strict=True, ge=1)]], Field(min_length=1)], None] = None
    #: Makes this a transfer task: the pretrained model whose trunk it starts from.
    source: SourceDef | None = None
    #: Transfer modes as a matrix axis: one task per mode, named ``<name>-<mode>``. To search
    #: the mode instead, put ``mode`` in the space.
    modes: list[Literal[models.MODES]] | None = Field(None, min_length=1)  # type: ignore[valid-type]
    #: This task's search space: knobs here override the suite's ``[space]``.
    space: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _a_table_brings_its_dataset(cls, data: Any) -> Any:
        if isinstance(data, dict) and "table" in data and "dataset" not in data:
            return {**data, "dataset": ""}
        return data

    @model_validator(mode="after")
    def _check_data(self) -> "TaskDef":
        if self.table is not None and (self.source is not None or self.shots is not None or self.classes):
            raise ValueError("a task that replays a table takes its data as the table recorded it: no source, "
                             "shots or classes")
        return self

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
    #: The backends every task runs on (`bench plugins` lists those installed).
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
    measure_cost: StrictBool = Field(True, description="time each trained model's predictions and measure its "
                                                       "training's peak memory and energy (parameters are always "
                                                       "counted): off, trials end sooner")

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
PLACEMENT_KEYS = ("executor", "max_retries", "measure_cost")


#: The metrics `bench compare` can gate on (docs/how-to/regression.md), and those it gates on by default.
GatedMetric = Literal["best_val", "test", "epoch_seconds", "wall_seconds", "latency_ms", "params"]


DEFAULT_GATE = ("best_val", "test", "epoch_seconds")


class Regression(_Strict):
    """Settings of `bench compare` for this suite (docs/how-to/regression.md); the command line overrides them."""

    alpha: FiniteFloat = Field(0.05, gt=0, lt=0.5, description="family-wise false-alarm rate (Holm over every test)")
    max_score_drop: FiniteFloat = Field(0.01, ge=0, lt=1, description="tolerated drop of a score (absolute)")
    max_slowdown: FiniteFloat = Field(1.10, ge=1, le=100, description="tolerated ratio of times (and of latency and "
                                                                      "parameters when gated), current / baseline")
    gate: list[GatedMetric] = Field(default_factory=lambda: list(DEFAULT_GATE), min_length=1,
                                    description="the metrics a regression is judged on")
    time: Literal["wall", "cpu"] = Field("wall", description="seconds per epoch by the wall clock, or the worker's "
                                                             "CPU seconds, which a busy machine moves less (`--time`)")


class SuiteModel(_Strict):
    #: The suite's name: its results go to ``results/<name>/``.
    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX)
    #: One line for people; not part of the suite's identity.
    description: str = ""
    #: Each cell's search runs once per seed (a statistic over seeds needs at least 3).
    seeds: list[Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]] = Field(default_factory=lambda: [0],
                                                                                min_length=1, max_length=10_000)
    #: One ``[[tasks]]`` table per task: a dataset and a model family.
    tasks: list[TaskDef] = Field(min_length=1)
    #: The search space every task shares: a knob to a fixed value or a parameter table (below).
    space: dict[str, Any] = Field(default_factory=dict)
    #: The budget of each cell's search.
    budget: Budget = Budget()
    #: Backends x strategies: every task runs in every combination.
    matrix: Matrix
    strategy: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per strategy")
    pruner: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per pruner")
    #: Where and how trials run.
    execution: Execution = Execution()
    #: The reporters to run when the suite ends (default: every reporter whose plugin makes it a default).
    reporters: list[str] | None = None
    #: How `bench compare` judges this suite's results.
    regression: Regression = Regression()
    #: Makes every cell a multi-objective search: two or more of the numbers a trial reports
    #: (docs/reference/suite.md lists them), as a list (each in its usual direction: accuracy up,
    #: every cost down) or a table of ``name = "maximize"`` or ``"minimize"``.
    objectives: Annotated[dict[str, Literal["maximize", "minimize"]], Field(min_length=1)] | None = None
    test_every_trial: StrictBool = Field(False, description="score every trial on the test split when it ends, not "
                                                            "only each cell's best (what `bench tabulate` needs)")

    @field_validator("objectives", mode="before")
    @classmethod
    def _known_objectives(cls, value: Any) -> Any:
        """Names every backend can report; a list takes each one's usual direction."""
        from automl_bench._model.objectives import OBJECTIVES, directions

        if not isinstance(value, (list, dict)):
            return value  # said by the type check: a list or a table
        names = list(value)
        not_names = [n for n in names if not isinstance(n, str)]
        if not_names:
            raise ValueError(f"an objective is a name, not {not_names[0]!r}; objectives can be: {', '.join(OBJECTIVES)}")
        unknown = [n for n in names if n not in OBJECTIVES]
        if unknown:
            raise ValueError(f"no backend reports {', '.join(map(repr, unknown))}; objectives can be: "
                             f"{', '.join(OBJECTIVES)}")
        if len(set(names)) != len(names):
            raise ValueError("an objective is named twice")
        return directions(value)

    @property
    def directions(self) -> "dict[str, str] | None":
        """A multi-objective suite's objectives with their directions (None: a single objective)."""
        return None if self.objectives is None else dict(self.objectives)
