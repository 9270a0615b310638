"""The specs that registration hooks hand over: a name, a summary and a factory. Nothing heavy is
built or imported until a suite uses the component."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

if TYPE_CHECKING:
    from automl_bench._api.interfaces import Backend, Executor, Pruner, Reporter, Strategy
    from automl_bench._api.records import Dataset, ExecutionSettings, ReportSection, RunResults
    from automl_bench.space import SearchSpace


@dataclass(frozen=True)
class BackendSpec:
    """A training backend. ``factory()`` builds it inside a worker process."""

    name: str
    summary: str
    factory: Callable[[], "Backend"]
    families: tuple[str, ...] = ("mlp",)
    #: Distribution names of the framework, whose versions every result row records
    #: (read from package metadata: nothing is imported).
    packages: tuple[str, ...] = ()
    #: Replace a worker after it has served this many trials (None: never). For frameworks
    #: that keep memory across trials that nothing in Python can free.
    max_trials_per_worker: int | None = None
    #: Whether it runs transfer tasks: ``fit(..., pretrained=path)`` and ``save(model, path)``.
    transfer: bool = False
    #: The published weights it loads, by framework: ``("keras",)`` runs sources such as
    #: ``weights = "keras:VGG16"`` (`automl_bench._model.published`), through `Backend.published_weights`.
    weights: tuple[str, ...] = ()
    #: Problems this backend has with a task's search space (a knob value it cannot build, such as
    #: ``dropout`` on a framework without dropout), reported with file and line when a suite is
    #: validated; None: it builds every value of every knob of its families.
    check_space: Callable[["SearchSpace"], list[str]] | None = None
    #: Whether it replays tables (`Backend.replay`) instead of training: a task that names a
    #: ``table`` runs on such backends only, and they run nothing else.
    replays: bool = False
    #: The suffix of the files `Backend.export` writes (".pt"), with which `automl_bench.saved`
    #: finds the backend that reads one back; "" where it saves none.
    model_suffix: str = ""
    #: ``load_model(path, device)``: the model `Backend.export` saved at ``path``, ready to
    #: predict on ``device``; it imports its framework when called, not when registered.
    load_model: Callable[[Path, str], Any] | None = None
    #: ``model_input(x, family)``: an array laid out as the loaded model reads it (channels
    #: first, say); None: `automl_bench.backend.as_model_input`'s layout (channels last).
    model_input: Callable[[Any, str], Any] | None = None


@dataclass(frozen=True)
class StrategySpec:
    """A search strategy. ``factory(space=..., seed=..., **options)`` builds it."""

    name: str
    summary: str
    factory: Callable[..., "Strategy"]
    #: Option names with their defaults; a suite may set only these, with values of the same type.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Problems this strategy has with a search space (a parameter kind it cannot search),
    #: reported when a suite is validated; None: it handles every kind.
    check_space: Callable[["SearchSpace"], list[str]] | None = None
    #: The objectives it searches: "single" (the task's metric), "multi" (a suite's two or more
    #: ``objectives``: its factory is given ``directions``, one "maximize" or "minimize" each), or
    #: "any" (either: given ``directions`` in a multi-objective suite, and tell()'s trials carry ``values``).
    objectives: Literal["single", "multi", "any"] = "single"


@dataclass(frozen=True)
class PrunerSpec:
    """A pruner: stops unpromising trials early from their per-epoch reports.
    ``factory(**options)`` builds one per cell."""

    name: str
    summary: str
    factory: Callable[..., "Pruner"]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset. ``load()`` returns the whole labelled set; the host makes the splits."""

    name: str
    summary: str
    load: Callable[[], "Dataset"]
    #: The shape of one sample, when known without loading: lets validation reject a CNN on
    #: flat data, or an RNN on images with channels, before any training.
    input_shape: tuple[int, ...] | None = None
    #: What one sample is: "image", "sequence", "tokens" (integer ids, with ``Dataset.vocab_size``)
    #: or "features" (None: not declared). Augmentation knobs are accepted on images only, and
    #: token data needs an rnn with an ``embedding``.
    kind: str | None = None
    #: Samples of each class, label 0 first, when known without loading: lets validation reject
    #: ``classes`` the data lacks and ``shots`` its classes cannot give. `DatasetContract` checks it.
    class_counts: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ReporterSpec:
    """A reporter, called with the run's results when the run ends."""

    name: str
    summary: str
    factory: Callable[[], "Reporter"]
    #: Whether it runs when a suite names no ``reporters``. A reporter that writes somewhere other
    #: than the results directory, or costs time, says False: it runs only where a suite names it.
    default: bool = True


@dataclass(frozen=True)
class ReportSectionSpec:
    """A section of the report. ``build(results, directory)`` returns a `ReportSection` (or None
    when it has nothing to say about these results), writing any picture it shows into
    ``directory`` and linking it by file name. Sections appear in ``order``, then by name."""

    name: str
    summary: str
    build: Callable[["RunResults", Path], "ReportSection | None"]
    order: int = 100


@dataclass(frozen=True)
class ExecutorSpec:
    """An executor: runs a suite's trials somewhere (worker processes on this machine, a cluster)
    for the run's driver, which keeps the search, the store and resume. ``factory(settings)``
    builds it, with an `ExecutionSettings`, when a run starts."""

    name: str
    summary: str
    factory: Callable[["ExecutionSettings"], "Executor"]
    #: Keys of its own that a suite's ``[execution]`` table may set, with their defaults (a suite
    #: may set only these, with values of the same type); they reach it as ``settings.options``.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Distribution names it needs, whose versions every run records.
    packages: tuple[str, ...] = ()
