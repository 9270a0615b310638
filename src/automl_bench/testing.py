"""Contract tests that every backend and strategy runs: ours, and any third-party plugin's.

Subclass in your plugin's tests and say how to build your component::

    from automl_bench.testing import BackendContract, StrategyContract

    class TestMyBackend(BackendContract):
        def make_backend(self):
            return MyBackend()

    class TestMyStrategy(StrategyContract):
        def make_strategy(self, space, seed):
            return MyStrategy(space=space, seed=seed)

pytest then runs every ``test_*`` method below against your component.
"""

from __future__ import annotations

import functools
from typing import Any

from automl_bench.interfaces import Backend, Strategy
from automl_bench.records import EpochReport, FinishedTrial, Splits
from automl_bench.space import CategoricalParam, FixedParam, FloatParam, IntParam, SearchSpace


class StrategyContract:
    """What every search strategy must do. Define `make_strategy`."""

    space = SearchSpace((
        IntParam("layers", 1, 4),
        IntParam("units", 8, 256, log=True),
        FloatParam("learning_rate", 1e-4, 1e-1, log=True),
        FloatParam("dropout", 0.0, 0.5),
        CategoricalParam("activation", ("relu", "tanh", "elu")),
        FixedParam("epochs", 3),
    ))
    trials = 12

    def make_strategy(self, space: SearchSpace, seed: int) -> Strategy:
        raise NotImplementedError

    @staticmethod
    def objective(params: Any) -> float:
        return -abs(params["learning_rate"] - 0.01) - 0.01 * params["layers"]

    def drive(self, strategy: Strategy, numbers: range, fail_every: int = 0) -> list[dict]:
        proposals = []
        for n in numbers:
            params = strategy.ask(n)
            if params is None:
                break
            proposals.append(dict(params))
            failed = fail_every and n % fail_every == 0
            strategy.tell(FinishedTrial(n, params, "failed" if failed else "ok",
                                        None if failed else self.objective(params)))
        return proposals

    def test_proposals_stay_inside_the_space(self):
        proposals = self.drive(self.make_strategy(self.space, 0), range(self.trials))
        assert proposals, "the strategy proposed nothing"
        for p in proposals:
            assert self.space.contains(p), p

    def test_same_seed_same_proposals(self):
        a = self.drive(self.make_strategy(self.space, 7), range(self.trials))
        b = self.drive(self.make_strategy(self.space, 7), range(self.trials))
        assert a == b

    def test_different_seeds_differ(self):
        a = self.drive(self.make_strategy(self.space, 1), range(self.trials))
        b = self.drive(self.make_strategy(self.space, 2), range(self.trials))
        assert a != b

    def test_failed_trials_do_not_break_the_search(self):
        proposals = self.drive(self.make_strategy(self.space, 3), range(self.trials), fail_every=2)
        assert proposals and all(self.space.contains(p) for p in proposals)

    def test_restore_continues_as_if_never_interrupted(self):
        straight = self.drive(self.make_strategy(self.space, 5), range(self.trials))
        half = self.trials // 2
        first = self.make_strategy(self.space, 5)
        done = self.drive(first, range(half))
        resumed = self.make_strategy(self.space, 5)
        resumed.restore([FinishedTrial(n, p, "ok", self.objective(p)) for n, p in enumerate(done)])
        rest = self.drive(resumed, range(half, self.trials))
        assert done + rest == straight


class BackendContract:
    """What every training backend must do, on a small slice of real data. Define `make_backend`."""

    family = "mlp"
    params: dict = {"layers": 1, "units": 32, "learning_rate": 0.01, "batch_size": 32, "epochs": 3}

    def make_backend(self) -> Backend:
        raise NotImplementedError

    @functools.cached_property
    def backend(self) -> Backend:
        backend = self.make_backend()
        backend.setup(threads=1, device="cpu")
        return backend

    @functools.cached_property
    def data(self) -> Splits:
        return tiny_digits()

    def fit(self, seed: int = 0, **overrides: Any) -> tuple[Any, list[EpochReport]]:
        from automl_bench.models import build_config

        reports: list[EpochReport] = []
        config = build_config(self.family, {**self.params, **overrides})
        model = self.backend.fit(data=self.data, config=config, seed=seed, report=reports.append)
        return model, reports

    def test_trains_and_beats_chance(self):
        model, _ = self.fit()
        scores = self.backend.evaluate(model, self.data.x_val, self.data.y_val)
        assert scores["accuracy"] > 0.5, scores  # chance is 0.1
        assert scores["loss"] > 0
        self.backend.release(model)

    def test_same_seed_same_numbers(self):
        (m1, r1), (m2, r2) = self.fit(seed=3), self.fit(seed=3)
        assert [r.metrics for r in r1] == [r.metrics for r in r2]
        assert self.backend.evaluate(m1, self.data.x_val, self.data.y_val) == \
            self.backend.evaluate(m2, self.data.x_val, self.data.y_val)

    def test_different_seeds_give_different_models(self):
        (_, r1), (_, r2) = self.fit(seed=1), self.fit(seed=2)
        assert [r.metrics for r in r1] != [r.metrics for r in r2]

    def test_reports_every_epoch(self):
        _, reports = self.fit(epochs=2)
        assert [r.epoch for r in reports] == [1, 2]
        for r in reports:
            assert {"train_loss", "val_loss", "val_accuracy"} <= set(r.metrics)

    def test_environment_names_the_device(self):
        assert "device" in self.backend.environment()


@functools.cache
def tiny_digits() -> Splits:
    """600 of scikit-learn's digits, split 60/20/20: seconds to train on, real enough to learn."""
    import numpy as np

    from automl_bench.data import make_dataset, make_splits
    from sklearn.datasets import load_digits

    bunch = load_digits()
    keep = np.random.default_rng(0).permutation(len(bunch.target))[:600]
    dataset = make_dataset("digits-600", bunch.images[keep] / 16.0, bunch.target[keep], "tests: digits subset")
    return make_splits(dataset, val_fraction=0.2, test_fraction=0.2, seed=0)
