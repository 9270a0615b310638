"""Typed, frozen records that plugins hand to the host and the host hands to plugins.

Trial data travels as frozen dataclasses, never as dicts that plugins edit in place. The
specs that registration hooks hand over live in `_specs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

if TYPE_CHECKING:  # only for signatures: keeps `bench --help` free of numpy and pandas
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class ExecutionSettings:
    """What a suite's ``[execution]`` table and the command line ask of an executor."""

    #: Plugin modules every process that runs trials loads besides the entry points (``-p``),
    #: with ``no:NAME`` entries that block one: pass them to `TrialRunner`.
    plugin_modules: tuple[str, ...] = ()
    #: Trials at once; None: the executor decides (the local one runs one, Ray as many as fit).
    workers: int | None = None
    threads: int = 1  # framework threads per trial
    device: str = "cpu"  # "cpu", "cuda" or "auto": what `Backend.setup` is told
    #: GPUs to place trials on: "all", a tuple of indices, or None (no placement: trials see what
    #: the environment gives them).
    gpus: "str | tuple[int, ...] | None" = None
    trials_per_gpu: int = 1
    #: backend -> replace a process after it ran this many trials (None: never)
    max_trials_per_worker: Mapping[str, int | None] = field(default_factory=dict)
    calibrate: bool = False  # time each backend's calibration workload when its first process starts
    #: Times a trial is run again after the executor lost the process or machine running it for a
    #: reason of its own (a node that died), before the failure counts as the environment's.
    max_retries: int = 2
    log_dir: Path | None = None  # where processes on this machine may write their logs
    options: Mapping[str, Any] = field(default_factory=dict)  # the executor's own keys (`ExecutorSpec.options`)


@dataclass(frozen=True)
class ReportSection:
    """One section of a report: its title and body as markdown (tables, ``![alt](file.png)``
    pictures). The same markdown makes ``report.md`` and, rendered, ``index.html``."""

    title: str
    markdown: str


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class Dataset:
    """A whole labelled classification dataset, features scaled to [0, 1] (or token ids).

    ``x`` has shape ``(n, *input_shape)``, ``y`` holds integer labels in ``range(n_classes)``.
    ``source`` says exactly where the data came from; ``sha256`` is a digest of ``x`` and ``y``.
    """

    name: str
    x: "np.ndarray"
    y: "np.ndarray"
    n_classes: int
    source: str
    sha256: str
    #: Token datasets: ``x`` holds integer token ids in ``range(vocab_size)`` (0 is padding),
    #: read by an rnn with an ``embedding``. None: ``x`` holds features in [0, 1].
    vocab_size: int | None = None
    #: Samples whose split the data fixes: 1 validation, 2 test, 0 training (-1 or None: drawn
    #: by the task's fractions and split seed). Files a user names may fix them (`automl_bench._files`).
    split: "np.ndarray | None" = None
    #: Data read from a user's files: their path, kind, count, digest, classes and preprocessing.
    files: "dict[str, Any] | None" = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


@dataclass(frozen=True, eq=False)
class Splits:
    """Stratified train / validation / test splits of one dataset, fixed by the task's split seed."""

    dataset: Dataset
    x_train: "np.ndarray"
    y_train: "np.ndarray"
    x_val: "np.ndarray"
    y_val: "np.ndarray"
    x_test: "np.ndarray"
    y_test: "np.ndarray"

    @property
    def n_classes(self) -> int:
        return self.dataset.n_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.dataset.input_shape


# --------------------------------------------------------------------------- trials


@dataclass(frozen=True)
class EpochReport:
    """What a backend reports after each epoch: 1-based epoch number and metric values."""

    epoch: int
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class DataRef:
    """Which data a task trains on: a dataset, optionally some of its classes (relabelled
    0..n-1 in the order given) and ``shots`` training examples per class."""

    dataset: str
    classes: tuple[int, ...] | None = None
    shots: int | None = None


@dataclass(frozen=True)
class SourceRef:
    """A transfer task's source: the data and fixed model knobs its trunk is pretrained with;
    or, with ``weights``, a published network (``keras:VGG16``), from ``weights_file`` if given
    (an absolute path), with images resized to ``input_size`` (None: automl_bench._model.published)."""

    data: DataRef | None
    params: Mapping[str, Any]
    weights: str = ""
    weights_file: str = ""
    input_size: int | None = None


@dataclass(frozen=True)
class TaskRef:
    """What a worker needs to know about a task to train on it."""

    name: str
    dataset: str
    family: str
    val_fraction: float
    test_fraction: float
    split_seed: int
    classes: tuple[int, ...] | None = None
    shots: int | None = None
    source: SourceRef | None = None
    #: A replay task's table file (absolute path): its trials read curves, they train nothing.
    table: str = ""

    @property
    def data(self) -> DataRef:
        return DataRef(self.dataset, self.classes, self.shots)


@dataclass(frozen=True)
class TrialRequest:
    """One training job sent to a worker."""

    key: str  # unique within a run: cell key + trial number (or "final")
    task: TaskRef
    params: Mapping[str, Any]
    seed: int
    max_epochs: int | None
    evaluate_test: bool = False
    prune: bool = False  # wait for the parent's continue/prune answer after each epoch
    source_seed: int = 0  # transfer tasks: the seed the source model is pretrained with
    suite_seed: int | None = None  # the seed of the trial's cell, as the suite lists it
    #: Where to save the trained model (a path without suffix: `Backend.export` adds its own);
    #: "" not to. The driver sets it for each cell's final, test-scored training.
    save_model: str = ""
    #: Measure the trained model's latency, the training's peak memory and energy (`automl_bench._model.cost`);
    #: parameters are counted either way. The suite's ``[execution] measure_cost``.
    measure_cost: bool = True


Status = Literal["ok", "failed", "timeout", "pruned"]


@dataclass(frozen=True)
class TrialOutcome:
    """What came back from one training job."""

    status: Status
    metrics: Mapping[str, float] = field(default_factory=dict)
    epochs: int = 0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    error: str = ""
    history: tuple[EpochReport, ...] = ()
    #: The data the trial ran on: name, source, sha256 and split sizes (empty if it never loaded).
    dataset: Mapping[str, Any] = field(default_factory=dict)
    #: The environment, not the configuration, made it fail (data missing, framework missing, a
    #: worker that could not start, a full disk): not a result, so it is not recorded, and the
    #: next run tries again.
    infrastructure: bool = False
    #: Why the process that ran this trial should run no other (a GPU out of memory, GPU memory
    #: the trial left held); "" if it may go on. An executor replaces such a process.
    replace_worker: str = ""
    #: The file `Backend.export` wrote the trained model to, when the request asked for one.
    model_file: str = ""
    #: What the trained model costs (`automl_bench._model.cost.COST_COLUMNS`: parameters, latency, peak
    #: memory, energy), for a trial that ended "ok"; a figure not measured is missing or None.
    cost: Mapping[str, Any] = field(default_factory=dict)

    def non_finite(self) -> list[str]:
        """Names of metrics whose value is NaN or infinite."""
        return [k for k, v in self.metrics.items() if not math.isfinite(v)]


@dataclass(frozen=True)
class FinishedTrial:
    """A trial as strategies see it when told a result or restored on resume."""

    number: int
    params: Mapping[str, Any]
    status: Status
    #: The objective (validation score): final for "ok", at the last epoch reached for
    #: "pruned", None for "failed" and "timeout".
    value: float | None
    #: A multi-objective suite's objectives, in the order its ``objectives`` lists them, each as
    #: reported (a direction is not applied): for "ok" trials; None otherwise, and in a
    #: single-objective suite. ``value`` is then the first objective's.
    values: tuple[float, ...] | None = None
    #: The epochs its strategy allotted it (a `Proposal`'s budget), or None: it trained the
    #: configuration's own ``epochs``.
    budget: int | None = None


@dataclass(frozen=True)
class Proposal:
    """What a multi-fidelity strategy's ``ask`` returns instead of bare parameters: a
    configuration and its budget, the epochs to train it for. A budget never trains past the
    configuration's own ``epochs`` (the full fidelity) nor the suite's ``max_epochs``. The trial's
    value is its score after the epochs it trained; it is recorded, told back and shown with its
    budget. A strategy that decides no budget returns parameters, as before."""

    params: Mapping[str, Any]
    epochs: int

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"a proposal's budget is a whole number of epochs >= 1, not {self.epochs!r}")


# --------------------------------------------------------------------------- executors


@dataclass
class Job:
    """A trial the driver hands to an executor: the backend to run it on, the request, its
    timeout in seconds (from when the trial starts, after its process is set up), and the
    driver's own bookkeeping, handed back untouched in `Finished` and `Progressed`."""

    backend: str
    request: TrialRequest
    timeout: float
    context: Any = None


@dataclass(frozen=True)
class Finished:
    """A job's end, as an executor reports it."""

    job: Job
    outcome: TrialOutcome
    #: From handing the job to the executor to its result, process start-up included.
    wall_seconds: float = 0.0
    #: Where it ran, recorded in its row: ``executor``, and as known ``node`` (a host name or
    #: cluster node id), ``gpu`` (index as the machine numbers it), ``gpu_name``, ``gpu_memory_mib``.
    placement: Mapping[str, Any] = field(default_factory=dict)
    #: How often the executor ran it again after losing the process or machine running it.
    retries: int = 0


@dataclass(frozen=True)
class Progressed:
    """An epoch a running job reported. When ``job.request.prune`` is set, the trial waits until
    the driver calls `Executor.answer` for it."""

    job: Job
    report: EpochReport


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CellKey:
    """One cell of a suite's matrix: a search of one task by one backend and strategy, one seed."""

    task: str
    backend: str
    strategy: str
    seed: int

    def __str__(self) -> str:
        return f"{self.task}/{self.backend}/{self.strategy}/seed={self.seed}"


#: The columns that name a cell in every table: task, backend, strategy, seed.
CELL = [f.name for f in fields(CellKey)]
#: The columns that name a leaderboard entry: a cell without its seed.
ENTRY = CELL[:-1]


@dataclass(frozen=True, eq=False)
class RunResults:
    """What reporters and ``bench_on_run_end`` receive: the suite's name, where its results are
    written, and its tables as pandas DataFrames: one row per trial (``trials``), per test
    evaluation of a cell's best configuration (``finals``), per leaderboard entry
    (``leaderboard``) and, read on demand, per trial and epoch (``epochs``). docs/how-to/results.md
    lists their columns."""

    suite: str
    directory: Path
    metric: str
    trials: "pd.DataFrame"
    finals: "pd.DataFrame"
    leaderboard: "pd.DataFrame"
    #: Reads per-epoch rows from the store, of the given trials (``(task, backend, strategy, seed,
    #: trial)`` tuples) or of all (None): see `epochs` and `epochs_of`.
    epoch_reader: Callable[[Any], "pd.DataFrame"]
    #: Tasks made from a ``shots`` or ``modes`` axis: name -> {"base": task, "shots": k, "mode": m}.
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Cells this run could not run, by ``str(CellKey)``, with the reason (data or framework
    #: missing, a worker that could not start): nothing is recorded for them; the next run tries again.
    not_run: Mapping[str, str] = field(default_factory=dict)
    #: Each task's model family and dataset: name -> {"model": "mlp", "dataset": "digits"}
    #: (empty for results written before they were recorded).
    tasks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: A multi-objective suite's objectives, each with "maximize" or "minimize", in its order
    #: (empty for a single-objective suite); the ``trials`` columns of the same names hold them.
    objectives: Mapping[str, str] = field(default_factory=dict)

    @property
    def epochs(self) -> "pd.DataFrame":
        """One row per trial and epoch: the cell, ``trial``, ``epoch`` and every metric reported
        after it. Read from the store on each access, and as large as every epoch of every trial:
        where a few trials will do, `epochs_of` reads only those."""
        return self.epoch_reader(None)

    def epochs_of(self, trials: "pd.DataFrame") -> "pd.DataFrame":
        """Like `epochs`, for the trials named by the rows of ``trials`` (columns task, backend,
        strategy, seed, trial) only."""
        keys = list(zip(trials["task"], trials["backend"], trials["strategy"], trials["seed"], trials["trial"]))
        return self.epoch_reader(keys)
