"""The small abstract bases that plugin objects implement.

A backend trains and evaluates; a strategy proposes and learns; a reporter writes results; an
executor runs trials somewhere. Each has few required methods; everything else has a working
default.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:
    import numpy as np

    from automl_bench._api.records import (
        EpochReport,
        Finished,
        FinishedTrial,
        Job,
        Progressed,
        Proposal,
        RunResults,
        Splits,
    )
    from automl_bench._model.config import ModelConfig


class Backend(ABC):
    """Trains a model described by a `ModelConfig` on a task's data.

    One backend object lives in one worker process and serves many trials, so `setup` runs
    once, before the framework's first operation. `automl_bench.testing.BackendContract` checks
    every promise below, for each model family the backend's `BackendSpec` declares:

    - ``fit`` builds the model ``config`` describes (docs/reference/models.md) and trains it for
      ``config.epochs`` epochs on ``data.x_train``/``data.y_train``, calling ``report`` after
      each epoch with an `EpochReport` holding at least ``train_loss``, ``val_loss``,
      ``val_accuracy`` and ``learning_rate`` (the rate the epoch trained at), all finite.
    - Early stopping and reduce-LR-on-plateau follow ``config``: create one `EpochControl`
      per fit, call ``after_epoch`` with the epoch's metrics, train the next epoch at the
      learning rate it returns and stop when it says so. With ``config.restore_best``, copy
      the weights whenever it says ``improved`` and return the model with the last copy.
    - The same seed gives the same numbers on CPU, and another seed another model.
    - On image data, ``config.shift`` and ``config.flip`` augment the training data afresh each
      epoch (`augment` does it); on token data an rnn starts with ``config.embedding``.
    - ``evaluate`` returns at least ``accuracy`` and ``loss`` (mean cross-entropy).
    - ``environment`` names the ``device`` the backend trains on.
    - A config the backend cannot build raises ``ValueError`` saying why. A knob value it does
      not support (a layer type the framework lacks) is a ``ValueError`` too, never silently
      ignored; its `BackendSpec.check_space` reports it when a suite is validated.
    """

    def setup(self, *, threads: int, device: str) -> None:
        """Apply the thread count and device (``"cpu"``, ``"cuda"`` or ``"auto"``) once per worker.

        ``"cuda"`` without a GPU raises `BackendUnavailableError`; ``"auto"`` uses a GPU if there
        is one and the CPU otherwise, and `environment` says which.
        """

    @abstractmethod
    def environment(self) -> Mapping[str, str]:
        """What every result row records about this backend: at least ``device`` (for example
        ``"cpu (threads=1)"`` or ``"cuda:0 (NVIDIA H100)"``), and framework versions."""

    @abstractmethod
    def fit(
        self,
        *,
        data: "Splits",
        config: "ModelConfig",
        seed: int,
        report: Callable[["EpochReport"], None],
        pretrained: "Path | None" = None,
    ) -> Any:
        """Train a model on ``data.x_train`` and return it (see the class docstring).

        ``pretrained`` is given only to a backend whose spec says ``transfer=True``, for a
        transfer task whose ``config.mode`` is not ``scratch``: a file written by `save`. Build
        the trial's model, load its trunk from that file and train as ``config.mode`` says.
        """

    @abstractmethod
    def evaluate(self, model: Any, x: "np.ndarray", y: "np.ndarray") -> Mapping[str, float]:
        """Score a trained model: at least ``accuracy`` and ``loss`` (mean cross-entropy)."""

    def release(self, model: Any) -> None:
        """Free what the model holds (GPU memory, graphs) before the next trial."""

    def device_memory(self) -> int | None:
        """Bytes of GPU memory the framework holds for its tensors in this process now, or None
        (on the CPU, or where the framework cannot say). Read before and after each trial (after
        `release`): a trial that leaves memory held gets its process replaced, as a trial that
        runs out of GPU memory does."""
        return None

    def peak_device_memory(self) -> int | None:
        """Bytes of GPU memory the framework held at most since the last call, which starts a new
        count; or None (on the CPU, or where the framework cannot say). The harness calls it when
        training starts and after evaluation: the ``peak_gpu_mib`` cost of a trial."""
        return None

    # -- what a trained model costs (docs/explanation/cost.md) ---------------------------------

    def count_parameters(self, model: Any) -> Mapping[str, int]:
        """``{"trainable": n, "total": m}``: the weights the model trains, and every weight it
        holds (frozen ones and batch norm's running statistics included; a counter such as
        PyTorch's ``num_batches_tracked`` is not a weight). The same network counts the same on
        every backend. The default: not counted (`count_trainable` gives the trainable ones)."""
        raise NotImplementedError(f"{type(self).__name__} does not count parameters")

    def predict(self, model: Any, x: "np.ndarray") -> "np.ndarray":
        """The model's logits for ``x`` (examples as `evaluate` takes them) as a host array,
        computed on the device it trained on, in inference mode. The harness times it at batch
        size 1 and at the training batch size (the ``latency_ms_*`` costs), so it does only what
        a user's prediction would: no caching of earlier inputs. The default: latency is not
        measured for this backend."""
        raise NotImplementedError(f"{type(self).__name__} does not predict")

    def calibration_workload(self) -> Callable[[], None] | None:
        """A fixed small training workload written directly in the backend's framework, not
        through ``fit``, so that a change to the backend's own code does not change it.

        The harness calls it once to warm up, then times it a few times when a run starts and
        records the fastest (`bench compare` divides trial times by it to compare runs made on
        different machines). Every call must do the same work, on the device ``setup`` chose,
        and take well under a second. None (the default): no calibration figure, and
        `bench compare` says so and compares this backend's times raw.
        """
        return None

    def export(self, model: Any, config: "ModelConfig", path: "Path") -> "Path":
        """Save a trained model in the framework's own format, to ``path`` with the format's
        suffix added, and return the file written; a user loads it with the framework alone, or
        with the backend's model builder and the config saved beside the weights
        (docs/how-to/results.md, "Saved models"). The harness saves each cell's final model (the best configuration, retrained
        and scored on the test split) under ``results/<suite>/models/``. The default: this
        backend saves no models, and the leaderboard's ``model`` column stays empty for it."""
        raise NotImplementedError(f"{type(self).__name__} does not save models")

    # -- transfer tasks: a backend whose spec says ``transfer=True`` implements these ----

    def save(self, model: Any, path: "Path") -> None:
        """Write the model's weights to ``path`` as an ``.npz`` archive. The arrays of trunk block
        ``b`` are named ``block<b>/...`` (any suffix); other arrays are named as the backend likes.
        `automl_bench.testing.TransferContract` checks this and ``fit(..., pretrained=path)``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not run transfer tasks")

    def published_weights(self, name: str, file: "Path | None") -> "tuple[Path, Mapping[str, Any]]":
        """For a backend whose spec lists the framework in ``weights``: the file of published
        weights ``name`` (``keras:VGG16``), fetched once through the framework's own checked
        download, or ``file`` when the suite gives a copy; and what every row records of them
        (at least ``weights`` and the file's ``file_sha256``). Weights that cannot be had raise
        `DataError` saying which file to put where. ``fit`` then gets the file as ``pretrained``
        and ``config.published`` names the network to build."""
        raise NotImplementedError(f"{type(self).__name__} does not load published weights")

    # -- replay: a backend whose spec says ``replays=True`` implements this instead of training --

    def replay(self, table: Any, params: Mapping[str, Any], seed: int, report: Callable[["EpochReport"], None],
               *, max_epochs: int | None = None, evaluate_test: bool = False,
               suite_seed: int | None = None) -> Mapping[str, float]:
        """Replay the configuration ``params`` from ``table`` (an `automl_bench.tables.Table`):
        report its recorded epochs one by one, each with its recorded ``seconds``, as training
        would (a pruner may stop it: ``report`` raises then), at most ``max_epochs`` of them; and
        return what training would have ended with: ``val_*`` metrics, ``test_*`` ones when
        ``evaluate_test``, and ``eval_seconds``. Which of the table's seeds: ``suite_seed`` (the
        trial's cell's) where the table has it, else one picked by the trial ``seed``. A
        configuration the table records as failed raises."""
        raise NotImplementedError(f"{type(self).__name__} does not replay tables")

    def count_trainable(self, model: Any) -> int:
        """How many parameters the model trains (frozen ones not counted)."""
        raise NotImplementedError(f"{type(self).__name__} does not count trainable parameters")


class Strategy(ABC):
    """An ask/tell search strategy that maximises the objective.

    The runner numbers trials 0, 1, 2, ... and asks for each number once. A strategy that
    derives each proposal from its seed and the trial number resumes exactly.
    """

    @abstractmethod
    def ask(self, number: int) -> Mapping[str, Any] | Proposal | None:
        """Return the parameters for trial ``number``, or None when the search is exhausted.

        A multi-fidelity strategy (Hyperband, BOHB, SMAC's multi-fidelity facade) returns a
        `Proposal`: the parameters and the epochs to train them for. Its trials come back to
        `tell` with that ``budget``."""

    def tell(self, trial: "FinishedTrial") -> None:
        """Learn the outcome of a trial (``value`` is None unless its status is ``ok``)."""

    def restore(self, trials: Sequence["FinishedTrial"]) -> None:
        """Rebuild state from trials recorded by an interrupted run, in trial-number order.

        The default replays the run: ask for each recorded number, then tell its outcome. A
        seeded strategy then draws exactly what it drew before, so it continues as if never
        interrupted. (With parallel workers the original order of asks and tells is not
        recorded; a strategy should then accept a told trial whose parameters differ from
        what it proposed.)
        """
        for trial in trials:
            self.ask(trial.number)
            self.tell(trial)


class Pruner(ABC):
    """Decides after each epoch whether a trial should stop early (multi-fidelity search)."""

    @abstractmethod
    def should_prune(self, number: int, epoch: int, value: float) -> bool:
        """Trial ``number`` reached ``epoch`` (1-based) with objective ``value``: stop it?"""

    def finish(self, trial: "FinishedTrial") -> None:
        """Learn how a trial ended."""

    def restore(self, trials: Sequence["FinishedTrial"], histories: Mapping[int, Sequence[float]]) -> None:
        """Rebuild state from recorded trials and their per-epoch objective values (by trial
        number); the default replays every report and ending in trial order."""
        for trial in trials:
            for epoch, value in enumerate(histories.get(trial.number, ()), start=1):
                self.should_prune(trial.number, epoch, value)
            self.finish(trial)


class Reporter(ABC):
    """Writes a run's results somewhere once the run ends."""

    @abstractmethod
    def write(self, results: "RunResults", out_dir: Path) -> Sequence[Path]:
        """Write the results under ``out_dir``; return the paths written."""


class Executor(ABC):
    """Runs trials for a run's driver, which keeps the search, the store and resume.

    The driver hands over `Job`s with `submit` while `has_capacity` says so, and collects
    `Finished` and `Progressed` events with `poll`. An executor promises:

    - every submitted job ends in exactly one `Finished`, whatever happens to the process or
      machine running it: an exception, a crash or a timeout becomes a failed or timed-out
      `TrialOutcome` (build the process side with `TrialRunner`, which turns exceptions into
      outcomes);
    - a trial runs at most ``job.timeout`` seconds after it starts, and is then stopped hard;
    - after a `Progressed` whose request says ``prune``, the trial waits for `answer`;
    - a backend's processes are reused from trial to trial, and replaced when an outcome says
      ``replace_worker`` or after ``settings.max_trials_per_worker`` trials;
    - `terminate` leaves nothing running.

    `automl_bench.testing.ExecutorContract` checks these promises; the built-in ``local`` and
    ``ray`` executors pass it.
    """

    #: backend -> what its `Backend.environment` reported, filled as processes start
    environments: dict[str, Mapping[str, str]]
    #: backend -> its calibration figure (`TrialRunner.calibration`), when settings ask for one
    calibrations: dict[str, Mapping[str, Any]]

    @abstractmethod
    def warm_up(self, backend: str) -> str | None:
        """Start a process for ``backend`` and wait until its framework is set up. Returns why it
        cannot start (the framework is missing, no GPU), or None. Called before the first trial."""

    def start(self, backend: str) -> None:
        """Optionally begin setting up a process for ``backend`` without waiting for it: the driver
        calls this before its own checks (loading datasets), so that both go on at once, then
        `warm_up`, which waits. By default nothing happens here and `warm_up` does it all."""

    @property
    @abstractmethod
    def busy(self) -> int:
        """Jobs submitted and not yet finished."""

    @abstractmethod
    def has_capacity(self) -> bool:
        """Whether `submit` may be called now."""

    @abstractmethod
    def submit(self, job: "Job") -> "Finished | None":
        """Start ``job``; or return its `Finished` at once when it cannot run (its backend
        cannot start here)."""

    @abstractmethod
    def poll(self, timeout: float | None) -> "Sequence[Finished | Progressed]":
        """Wait up to ``timeout`` seconds for events, enforcing timeouts; return them (``0``: those
        ready now, without waiting)."""

    @abstractmethod
    def answer(self, job: "Job", prune: bool) -> None:
        """Tell the trial of ``job`` whether to stop after the epoch it just reported."""

    def describe(self) -> Mapping[str, Any]:
        """What the run records about where its trials ran (executor, GPUs, cluster nodes)."""
        return {}

    @abstractmethod
    def close(self) -> None:
        """Stop every process, letting each finish what it was told. Called when a run ends."""

    @abstractmethod
    def terminate(self) -> None:
        """Stop everything at once (an interrupted run): a hanging trial is not waited for."""
