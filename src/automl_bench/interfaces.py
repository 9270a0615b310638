"""The small abstract bases that plugin objects implement.

A backend trains and evaluates; a strategy proposes and learns; a reporter writes results.
Each has one or two required methods; everything else has a working default.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:
    import numpy as np

    from automl_bench.models import ModelConfig
    from automl_bench.records import EpochReport, FinishedTrial, Splits
    from automl_bench.results import RunResults


class Backend(ABC):
    """Trains a model described by a `ModelConfig` on a task's data.

    One backend object lives in one worker process and serves many trials, so
    `setup` runs once, before the framework's first operation.
    """

    def setup(self, *, threads: int, device: str) -> None:
        """Apply the thread count and device (``"cpu"``, ``"cuda"`` or ``"auto"``) once per worker."""

    def environment(self) -> Mapping[str, str]:
        """Framework versions and the device in use, recorded with every result."""
        return {}

    @abstractmethod
    def fit(
        self,
        *,
        data: "Splits",
        config: "ModelConfig",
        seed: int,
        report: Callable[["EpochReport"], None],
    ) -> Any:
        """Train a model on ``data.x_train`` and return it.

        Call ``report`` after each epoch with at least ``train_loss``, ``val_loss`` and
        ``val_accuracy``. The same seed must give the same numbers on CPU.
        """

    @abstractmethod
    def evaluate(self, model: Any, x: "np.ndarray", y: "np.ndarray") -> Mapping[str, float]:
        """Score a trained model: at least ``accuracy`` and ``loss`` (mean cross-entropy)."""

    def release(self, model: Any) -> None:
        """Free what the model holds (GPU memory, graphs) before the next trial."""

    # -- transfer tasks: a backend whose spec says ``transfer=True`` implements these ----

    def save(self, model: Any, path: "Path") -> None:
        """Write the model's weights to ``path`` as an ``.npz`` archive. The arrays of trunk block
        ``b`` are named ``block<b>/...`` (any suffix); other arrays are named as the backend likes.

        ``fit`` then also takes ``pretrained=path``: it builds the trial's model, loads the trunk
        from that file and trains as the config's ``mode`` says (see `automl_bench.models`).
        """
        raise NotImplementedError(f"{type(self).__name__} does not run transfer tasks")

    def count_trainable(self, model: Any) -> int:
        """How many parameters the model trains (frozen ones not counted)."""
        raise NotImplementedError(f"{type(self).__name__} does not count trainable parameters")


class Strategy(ABC):
    """An ask/tell search strategy that maximises the objective.

    The runner numbers trials 0, 1, 2, ... and asks for each number once. A strategy that
    derives each proposal from its seed and the trial number resumes exactly.
    """

    @abstractmethod
    def ask(self, number: int) -> Mapping[str, Any] | None:
        """Return the parameters for trial ``number``, or None when the search is exhausted."""

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
