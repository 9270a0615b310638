"""Contract tests that every backend, strategy and pruner runs: ours, and any third-party plugin's.

Subclass in your plugin's tests and say how to build your component::

    from automl_bench.testing import BackendContract, ExecutorContract, PrunerContract, StrategyContract, TransferContract

    class TestMyBackend(BackendContract):
        families = ("mlp",)             # the families your BackendSpec declares
        def make_backend(self):
            return MyBackend()

    class TestMyStrategy(StrategyContract):
        def make_strategy(self, space, seed):
            return MyStrategy(space=space, seed=seed)

    class TestMyPruner(PrunerContract):
        def make_pruner(self):
            return MyPruner()

    class TestMyTransfer(TransferContract):  # a backend that runs transfer tasks
        def make_backend(self):
            return MyBackend()

    class TestMyExecutor(ExecutorContract):
        def make_executor(self, settings):
            return MyExecutor(settings)

pytest then runs every ``test_*`` method below against your component. What each checks is
exactly what the bases in `automl_bench.interfaces` promise; docs/plugins.md lists them.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from automl_bench import (
    Backend,
    CategoricalParam,
    Condition,
    EpochReport,
    ExecutionSettings,
    Executor,
    FinishedTrial,
    FixedParam,
    FloatParam,
    IntParam,
    Job,
    Pruner,
    SearchSpace,
    Splits,
    Strategy,
    TrialRequest,
    build_config,
    make_dataset,
)


class StrategyContract:
    """What every search strategy must do. Define `make_strategy`."""

    space = SearchSpace((
        IntParam("layers", 1, 4),
        IntParam("units", 8, 256, log=True),
        FloatParam("learning_rate", 1e-4, 1e-1, log=True),
        FloatParam("dropout", 0.0, 0.5),
        CategoricalParam("activation", ("relu", "tanh", "elu")),
        FloatParam("momentum", 0.5, 0.99, when=Condition("activation", values=("tanh", "elu"))),
        FixedParam("epochs", 3),
    ))
    trials = 12

    def make_strategy(self, space: SearchSpace, seed: int) -> Strategy:
        raise NotImplementedError

    @staticmethod
    def objective(params: Any) -> float:
        return -abs(params["learning_rate"] - 0.01) - 0.01 * params["layers"]

    def drive(self, strategy: Strategy, numbers: range, mixed: bool = False) -> list[dict]:
        """Ask and tell in turn; with ``mixed``, every third trial fails and every third is pruned."""
        proposals = []
        for n in numbers:
            params = strategy.ask(n)
            if params is None:
                break
            proposals.append(dict(params))
            strategy.tell(self.outcome(n, params, mixed))
        return proposals

    def outcome(self, number: int, params: Any, mixed: bool = False) -> FinishedTrial:
        status = ("ok", "failed", "pruned")[number % 3] if mixed else "ok"
        return FinishedTrial(number, params, status, self.objective(params) if status == "ok" else None)

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

    def test_failed_and_pruned_trials_do_not_break_the_search(self):
        proposals = self.drive(self.make_strategy(self.space, 3), range(self.trials), mixed=True)
        assert len(proposals) == min(self.trials, self.capacity()) and all(self.space.contains(p) for p in proposals)

    def capacity(self) -> int:
        return 10**9

    def test_restore_continues_as_if_never_interrupted(self):
        straight = self.drive(self.make_strategy(self.space, 5), range(self.trials))
        half = self.trials // 2
        first = self.make_strategy(self.space, 5)
        done = self.drive(first, range(half))
        resumed = self.make_strategy(self.space, 5)
        resumed.restore([self.outcome(n, p) for n, p in enumerate(done)])
        rest = self.drive(resumed, range(half, self.trials))
        assert done + rest == straight

    def test_restore_accepts_trials_it_did_not_propose(self):
        """After a parallel run the recorded order can differ from what a replay proposes."""
        other = self.drive(self.make_strategy(self.space, 11), range(4))
        strategy = self.make_strategy(self.space, 12)
        strategy.restore([self.outcome(n, p, mixed=True) for n, p in enumerate(other)])
        assert all(self.space.contains(p) for p in self.drive(strategy, range(4, 8)))


class PrunerContract:
    """What every pruner must do. Define `make_pruner`.

    Trials are fed as learning curves (objective per epoch): good ones rise towards 0.9,
    bad ones stay at 0.1.
    """

    epochs = 6

    def make_pruner(self) -> Pruner:
        raise NotImplementedError

    def curves(self) -> list[list[float]]:
        good = [[0.5 + 0.05 * e + 0.01 * (i % 3) for e in range(self.epochs)] for i in range(6)]
        bad = [[0.1] * self.epochs]
        return good + bad + good[:3] + bad + good[3:]

    def feed(self, pruner: Pruner, curves: list[list[float]], start: int = 0) -> list[int]:
        """Report each curve epoch by epoch; returns the epoch each trial stopped at."""
        stopped = []
        for n, curve in enumerate(curves, start=start):
            reached = len(curve)
            for epoch, value in enumerate(curve, start=1):
                if pruner.should_prune(n, epoch, value):
                    reached = epoch
                    break
            status = "pruned" if reached < len(curve) else "ok"
            pruner.finish(FinishedTrial(n, {}, status, curve[reached - 1]))
            stopped.append(reached)
        return stopped

    def test_the_first_trial_runs_to_the_end(self):
        assert self.feed(self.make_pruner(), self.curves()[:1]) == [self.epochs]

    def test_a_clearly_bad_trial_is_stopped_early(self):
        stopped = self.feed(self.make_pruner(), self.curves())
        bad = [i for i, c in enumerate(self.curves()) if c[0] == 0.1]
        assert all(stopped[i] < self.epochs for i in bad), stopped
        assert max(stopped) == self.epochs, stopped  # and good trials still run to the end

    def test_same_reports_same_decisions(self):
        assert self.feed(self.make_pruner(), self.curves()) == self.feed(self.make_pruner(), self.curves())

    def test_restore_continues_as_if_never_interrupted(self):
        curves = self.curves()
        straight = self.feed(self.make_pruner(), curves)
        half = len(curves) // 2
        first = self.feed(self.make_pruner(), curves[:half])
        recorded = [FinishedTrial(n, {}, "pruned" if e < self.epochs else "ok", curves[n][e - 1])
                    for n, e in enumerate(first)]
        histories = {n: curves[n][:e] for n, e in enumerate(first)}
        resumed = self.make_pruner()
        resumed.restore(recorded, histories)
        assert first + self.feed(resumed, curves[half:], start=half) == straight

    def test_failed_trials_do_not_break_it(self):
        pruner = self.make_pruner()
        pruner.finish(FinishedTrial(0, {}, "failed", None))  # failed before any report
        pruner.should_prune(1, 1, 0.5)
        pruner.finish(FinishedTrial(1, {}, "timeout", None))  # failed after one
        assert len(self.feed(pruner, self.curves(), start=2)) == len(self.curves())


class _BackendUnderTest:
    """Builds the backend once per test class, as a worker would: ``make_backend()``, then ``setup``."""

    def make_backend(self) -> Backend:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> Backend:
        backend = cls().make_backend()
        backend.setup(threads=1, device="cpu")
        return backend


class BackendContract(_BackendUnderTest):
    """What every training backend must do, for each family it supports. Define `make_backend`.

    Every test runs once per family in ``families`` (a fixture), on 600 real digits.
    """

    families: tuple[str, ...] = ("mlp", "cnn", "rnn")
    params: dict[str, dict] = {
        "mlp": {"layers": 1, "units": 32},
        "cnn": {"conv_blocks": 1, "filters": 8, "dense_units": 32},
        "rnn": {"cell": "gru", "units": 32},
    }
    training: dict = {"learning_rate": 0.01, "batch_size": 32, "epochs": 3}
    #: Other knobs the reduce-LR test sets, to exercise them too. A backend that lacks one of these
    #: (and says so in its ``BackendSpec.check_space``) overrides this with knobs it has.
    reduce_lr_params: dict = {"optimizer": "rmsprop", "l2": 0.001, "initializer": "glorot"}

    @pytest.fixture(scope="class", params=["mlp", "cnn", "rnn"])
    @classmethod
    def family(cls, request) -> str:
        if request.param not in cls.families:
            pytest.skip(f"this backend does not train {request.param}")
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def trained(cls, backend, family):
        """One seed-0 fit per family, shared by the tests that only read it."""
        return cls().fit(backend, family, seed=0)

    def fit(self, backend: Backend, family: str, seed: int = 0, **overrides: Any) -> tuple[Any, list[EpochReport]]:
        reports: list[EpochReport] = []
        config = build_config(family, {**self.params[family], **self.training, **overrides})
        model = backend.fit(data=tiny_digits(), config=config, seed=seed, report=reports.append)
        return model, reports

    def test_trains_and_beats_chance(self, backend, trained):
        model, _ = trained
        data = tiny_digits()
        scores = backend.evaluate(model, data.x_val, data.y_val)
        assert scores["accuracy"] > 0.4, scores  # chance is 0.1
        assert 0 < scores["loss"] < 2.3

    def test_reports_every_epoch(self, trained):
        _, reports = trained
        assert [r.epoch for r in reports] == [1, 2, 3]
        for r in reports:
            assert {"train_loss", "val_loss", "val_accuracy", "learning_rate"} <= set(r.metrics)
            assert all(math.isfinite(v) for v in r.metrics.values())
        assert reports[-1].metrics["train_loss"] < reports[0].metrics["train_loss"]

    def test_same_seed_same_numbers(self, backend, family, trained):
        model, reports = self.fit(backend, family, seed=0)
        data = tiny_digits()
        assert [r.metrics for r in reports] == [r.metrics for r in trained[1]]
        assert backend.evaluate(model, data.x_val, data.y_val) == backend.evaluate(trained[0], data.x_val, data.y_val)

    def test_different_seeds_give_different_models(self, backend, family, trained):
        _, reports = self.fit(backend, family, seed=1)
        assert [r.metrics for r in reports] != [r.metrics for r in trained[1]]

    def test_early_stopping_stops(self, backend, family):
        # val_accuracy cannot improve by 1.0: epoch 1 sets the best, epoch 2 exhausts patience 1
        _, reports = self.fit(backend, family, epochs=10, early_stopping=True, es_monitor="val_accuracy",
                              es_patience=1, es_min_delta=1.0)
        assert [r.epoch for r in reports] == [1, 2]

    def test_restore_best_ends_with_the_best_epochs_weights(self, backend, family):
        """With ``restore_best``, the model ``fit`` returns scores on the validation data exactly as
        it did at its best epoch by ``es_monitor``. val_accuracy cannot improve by 1.0, so the best
        epoch is the first, and the two epochs trained after it must be undone."""
        model, reports = self.fit(backend, family, restore_best=True, es_monitor="val_accuracy", es_min_delta=1.0)
        assert [r.epoch for r in reports] == [1, 2, 3]  # no early stopping: restoring is not stopping
        assert reports[-1].metrics["val_loss"] != reports[0].metrics["val_loss"]
        data = tiny_digits()
        scores = backend.evaluate(model, data.x_val, data.y_val)
        assert scores["loss"] == pytest.approx(reports[0].metrics["val_loss"], rel=1e-5, abs=1e-6)
        assert scores["accuracy"] == pytest.approx(reports[0].metrics["val_accuracy"])

    def test_reduce_lr_on_plateau_lowers_the_rate(self, backend, family):
        # at lr 1e-7 val_loss cannot improve by 1e-4: epoch 2 is a plateau, so epoch 3 runs at half the rate
        _, reports = self.fit(backend, family, learning_rate=1e-7, reduce_lr=True, lr_patience=1, lr_factor=0.5,
                              **self.reduce_lr_params)
        rates = [r.metrics["learning_rate"] for r in reports]
        assert rates == pytest.approx([1e-7, 1e-7, 5e-8])

    def load_exported(self, path: Path) -> Callable[[Any], Any]:
        """Load a file `Backend.export` wrote, with the framework's own API, and return a function
        from samples (as `tiny_digits` holds them) to logits. Define it where the backend exports."""
        raise NotImplementedError

    def test_exported_model_loads_and_predicts_as_trained(self, backend, family, trained, tmp_path):
        """Optional (`Backend.export`): the saved final model, loaded back through
        `load_exported`, makes the predictions the trained model scored with."""
        import numpy as np

        model, _ = trained
        config = build_config(family, {**self.params[family], **self.training})
        try:
            file = Path(backend.export(model, config, tmp_path / "model"))
        except NotImplementedError:
            pytest.skip("this backend saves no models (Backend.export)")
        assert file.exists() and file.parent == tmp_path and file.name.startswith("model.")
        predict = self.load_exported(file)
        data = tiny_digits()
        logits = np.asarray(predict(data.x_val))
        assert logits.shape == (len(data.y_val), data.n_classes)
        accuracy = float((logits.argmax(axis=1) == data.y_val).mean())
        assert accuracy == pytest.approx(backend.evaluate(model, data.x_val, data.y_val)["accuracy"])

    def test_builds_per_layer_sizes(self, backend, family):
        """``units`` (mlp) and ``filters`` (cnn) lists give each layer its own size, and
        ``units_<i>`` overrides one layer: the model trains, and where the backend counts its
        parameters, the count is the one docs/models.md's architecture gives."""
        if family == "rnn":
            pytest.skip("per-layer sizes are mlp and cnn knobs")
        from automl_bench.models import trainable_parameters

        layered = {"mlp": {"units": [24, 12], "units_1": 8}, "cnn": {"filters": [8, 6]}}[family]
        base = {k: v for k, v in self.params[family].items() if k not in ("layers", "conv_blocks")}
        config = build_config(family, {**base, **self.training, **layered})
        assert (config.hidden_units if family == "mlp" else config.block_filters) == ((24, 8) if family == "mlp" else (8, 6))
        data = tiny_digits()
        model = backend.fit(data=data, config=config, seed=0, report=lambda r: None)
        assert backend.evaluate(model, data.x_val, data.y_val)["accuracy"] > 0.3  # chance is 0.1
        try:
            counted = backend.count_trainable(model)
        except NotImplementedError:
            pytest.skip("this backend does not count its parameters (Backend.count_trainable)")
        assert counted == trainable_parameters(config, data.input_shape, data.n_classes)

    def test_invalid_config_is_a_clear_error(self, backend, family):
        with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
            self.fit(backend, family, dropout=1.5)

    def test_calibration_workload_leaves_training_unchanged(self, backend, family, trained):
        """Optional: a backend without a calibration workload has nothing to check. One that has
        one runs it repeatedly in well under a second, and a fit afterwards gives the same
        numbers as before (the workload does not touch the framework's seeded state)."""
        import time

        workload = backend.calibration_workload()
        if workload is None:
            pytest.skip("this backend has no calibration workload (times are then compared raw only)")
        assert callable(workload)
        start = time.perf_counter()
        for _ in range(3):
            workload()
        assert time.perf_counter() - start < 30  # generous: "well under a second" is the aim, not a test
        _, reports = self.fit(backend, family, seed=0)
        assert [r.metrics for r in reports] == [r.metrics for r in trained[1]]

    def test_environment_names_the_device(self, backend):
        assert "device" in backend.environment()

    def test_augmentation_changes_training_and_keeps_the_epoch_rules(self, backend, family, trained):
        if family != "cnn":
            pytest.skip("augmentation is checked on the cnn")
        model, reports = self.fit(backend, family, seed=0, shift=1, flip=True)
        assert [r.epoch for r in reports] == [1, 2, 3]
        assert [r.metrics["train_loss"] for r in reports] != [r.metrics["train_loss"] for r in trained[1]]
        data = tiny_digits()
        assert backend.evaluate(model, data.x_val, data.y_val)["accuracy"] > 0.3  # chance is 0.1
        _, stopped = self.fit(backend, family, shift=1, epochs=10, early_stopping=True, es_monitor="val_accuracy",
                              es_patience=1, es_min_delta=1.0)
        assert [r.epoch for r in stopped] == [1, 2]

    def test_rnn_reads_token_ids_through_an_embedding(self, backend, family):
        if family != "rnn":
            pytest.skip("token data is read by rnn models")
        data = tiny_tokens()
        config = build_config("rnn", {**self.params["rnn"], **self.training, "embedding": 8})
        model = backend.fit(data=data, config=config, seed=0, report=lambda r: None)
        assert backend.evaluate(model, data.x_val, data.y_val)["accuracy"] > 0.6  # chance is 0.25


class TransferContract(_BackendUnderTest):
    """What a backend that runs transfer tasks (``BackendSpec(transfer=True)``) must do.
    Define `make_backend`.

    A source model is pretrained on digits 0-4 and adapted to digits 5-9 in every mode, for
    each family in ``families``, with batch norm: a frozen block must keep its statistics too.
    """

    families: tuple[str, ...] = ("mlp", "cnn")
    params: dict[str, dict] = {
        "mlp": {"layers": 2, "units": 16, "batch_norm": True},
        "cnn": {"conv_blocks": 2, "filters": 4, "dense_units": 16, "batch_norm": True},
    }
    training: dict = {"learning_rate": 0.01, "batch_size": 32, "epochs": 2}

    @pytest.fixture(scope="class", params=["mlp", "cnn"])
    @classmethod
    def family(cls, request) -> str:
        if request.param not in cls.families:
            pytest.skip(f"this backend does not transfer {request.param}")
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def pretrained(cls, backend, family, tmp_path_factory):
        config = build_config(family, {**cls.params[family], **cls.training})
        model = backend.fit(data=digit_classes((0, 1, 2, 3, 4)), config=config, seed=0, report=lambda r: None)
        path = tmp_path_factory.mktemp("pretrained") / f"{family}.npz"
        backend.save(model, path)
        return path

    def adapt(self, backend, family, mode, pretrained, **overrides):
        config = build_config(family, {**self.params[family], **self.training, "mode": mode, **overrides})
        model = backend.fit(data=digit_classes((5, 6, 7, 8, 9)), config=config, seed=1, report=lambda r: None,
                            **({} if mode == "scratch" else {"pretrained": pretrained}))
        return model, config

    def test_saved_weights_name_every_trunk_block(self, backend, family, pretrained):
        assert sorted(self._read(pretrained)) == list(range(build_config(family, self.params[family]).trunk_blocks))

    @staticmethod
    def _read(path) -> dict[int, dict]:
        """The arrays of each trunk block in a saved file: {block: {name: array}}."""
        import numpy as np

        blocks: dict[int, dict] = {}
        with np.load(path) as arrays:
            for name in arrays.files:
                if name.startswith("block"):
                    blocks.setdefault(int(name[5:].split("/")[0]), {})[name] = arrays[name]
        return blocks

    @pytest.mark.parametrize("mode", ["frozen", "partial"])
    def test_an_adapted_model_can_be_exported(self, backend, family, pretrained, mode, tmp_path):
        """Optional (`Backend.export`): a transfer trial's final model saves like any other, its
        optimizer's per-block rates notwithstanding."""
        model, config = self.adapt(backend, family, mode, pretrained)
        try:
            file = Path(backend.export(model, config, tmp_path / "adapted"))
        except NotImplementedError:
            pytest.skip("this backend saves no models (Backend.export)")
        assert file.is_file() and file.stat().st_size > 0

    @pytest.mark.parametrize("mode", ["scratch", "frozen", "partial", "finetune"])
    def test_each_mode_trains_exactly_its_parameters(self, backend, family, pretrained, mode):
        from automl_bench.models import trainable_parameters

        model, config = self.adapt(backend, family, mode, pretrained)
        expected = trainable_parameters(config, digit_classes((5,)).input_shape, 5, transfer=True)
        assert backend.count_trainable(model) == expected

    @pytest.mark.parametrize("mode", ["frozen", "partial", "finetune"])
    def test_frozen_blocks_keep_the_source_weights_and_trained_ones_move(self, backend, family, pretrained, mode,
                                                                        tmp_path):
        import numpy as np

        model, config = self.adapt(backend, family, mode, pretrained)
        backend.save(model, tmp_path / "adapted.npz")
        before, after = self._read(pretrained), self._read(tmp_path / "adapted.npz")
        trains = config.trainable_blocks()
        for block in before:
            same = all(np.array_equal(before[block][k], after[block][k]) for k in before[block])
            assert same == (block not in trains), (mode, block)

    def test_trunk_learning_rate_factor_slows_the_trunk(self, backend, family, pretrained, tmp_path):
        import numpy as np

        source = self._read(pretrained)
        moved = {}
        for factor in (1.0, 0.01):
            model, _ = self.adapt(backend, family, "finetune", pretrained, trunk_lr_factor=factor)
            backend.save(model, tmp_path / f"{factor}.npz")
            after = self._read(tmp_path / f"{factor}.npz")
            # kernels only (torch: "<module>.weight", Keras: "<layer>:0"), not batch-norm statistics
            moved[factor] = sum(float(np.abs(after[b][k] - source[b][k]).sum()) for b in source
                                for k in source[b] if k.endswith((".weight", ":0")))
        assert 0 < moved[0.01] < 0.1 * moved[1.0], moved

    def test_weights_of_another_architecture_are_a_clear_error(self, backend, family, pretrained):
        wider = {"mlp": {"units": 24}, "cnn": {"filters": 6}}[family]
        with pytest.raises(ValueError, match="do not fit"):
            self.adapt(backend, family, "frozen", pretrained, **wider)


@functools.cache
def digit_classes(classes: tuple[int, ...]) -> Splits:
    """scikit-learn's digits of some classes (relabelled 0..n-1), split 60/20/20."""
    from sklearn.datasets import load_digits

    from automl_bench.data import make_splits, select_classes

    bunch = load_digits()
    dataset = select_classes(make_dataset("digits", bunch.images / 16.0, bunch.target, "tests: digits"), classes)
    return make_splits(dataset, val_fraction=0.2, test_fraction=0.2, seed=0)


@functools.cache
def tiny_tokens() -> Splits:
    """600 sequences of 10 token ids (vocabulary 24, 0 = padding): the class (0-3) is which of
    the ids 2-5 appears among random filler ids 8-23. Learnable only by reading the ids."""
    import numpy as np

    from automl_bench.data import make_splits

    rng = np.random.default_rng(0)
    y = np.arange(600) % 4
    x = rng.integers(8, 24, size=(600, 10))
    x[:, :2] = 0  # left padding
    for i, label in enumerate(y):
        x[i, rng.choice(np.arange(2, 10), size=2, replace=False)] = 2 + label
    return make_splits(make_dataset("tokens", x, y, "tests: synthetic tokens", vocab_size=24),
                       val_fraction=0.2, test_fraction=0.2, seed=0)


@functools.cache
def tiny_digits() -> Splits:
    """600 of scikit-learn's digits, split 60/20/20: seconds to train on, real enough to learn."""
    import numpy as np
    from sklearn.datasets import load_digits

    from automl_bench.data import make_splits

    bunch = load_digits()
    keep = np.random.default_rng(0).permutation(len(bunch.target))[:600]
    dataset = make_dataset("digits-600", bunch.images[keep] / 16.0, bunch.target[keep], "tests: digits subset")
    return make_splits(dataset, val_fraction=0.2, test_fraction=0.2, seed=0)


# --------------------------------------------------------------------------- executors


class ExecutorContract:
    """What every executor must do, checked through the `Executor` protocol alone with the toy
    backend (``automl_bench.testing.toy``). Define `make_executor`::

        class TestMyExecutor(ExecutorContract):
            def make_executor(self, settings):
                return MyExecutor(settings)

    Settings come with ``plugin_modules`` naming the toy plugin; environment variables the toy
    reads (``TOY_EPOCH_SECONDS``, ``TOY_RECORD``, ``TOY_OOM``) are set before `make_executor`, so
    processes it starts inherit them.
    """

    def make_executor(self, settings: ExecutionSettings) -> Executor:
        raise NotImplementedError

    @pytest.fixture
    def toy_env(self, monkeypatch, tmp_path):
        record = tmp_path / "fits"
        record.mkdir()
        monkeypatch.setenv("TOY_EPOCH_SECONDS", "0.05")
        monkeypatch.setenv("TOY_RECORD", str(record))
        return record

    def run_jobs(self, jobs: list[Job], *, prune_at: int | None = None, **settings: Any) -> list[Any]:
        """Run ``jobs`` to the end on a fresh executor; every event, in order."""
        from automl_bench import Finished as FinishedEvent

        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",), **settings))
        events: list[Any] = []
        try:
            assert executor.warm_up("toy") is None
            waiting, finished = list(jobs), 0
            deadline = time.monotonic() + 120
            while finished < len(jobs):
                assert time.monotonic() < deadline, f"jobs still running after 120 s: {events}"
                while waiting and executor.has_capacity():
                    immediate = executor.submit(waiting.pop(0))
                    if immediate is not None:
                        events.append(immediate)
                        finished += 1
                for event in executor.poll(timeout=1.0):
                    events.append(event)
                    if isinstance(event, FinishedEvent):
                        finished += 1
                    elif event.job.request.prune:
                        executor.answer(event.job, prune_at is not None and event.report.epoch >= prune_at)
            executor.close()
        finally:
            executor.terminate()
        return events

    @staticmethod
    def job(activation: str = "relu", *, number: int = 0, timeout: float = 30.0, prune: bool = False,
            epochs: int = 2) -> Job:
        from automl_bench.records import TaskRef

        task = TaskRef("toy-task", "toy", "mlp", 0.25, 0.25, 0)
        params = {"activation": activation, "learning_rate": 0.01, "epochs": epochs}
        return Job("toy", TrialRequest(f"toy#{activation}-{number}", task, params, seed=1000 + number, max_epochs=None,
                                       prune=prune), timeout, context=number)

    @staticmethod
    def finished(events: list[Any]) -> dict[Any, Any]:
        from automl_bench import Finished as FinishedEvent

        done = [e for e in events if isinstance(e, FinishedEvent)]
        keys = [e.job.request.key for e in done]
        assert len(keys) == len(set(keys)), f"a job finished twice: {keys}"
        return {e.job.request.key: e for e in done}

    def test_every_failure_kind_ends_in_exactly_one_finished(self, toy_env):
        from automl_bench.testing.toy import toy_score

        kinds = ["relu", "tanh", "sigmoid", "elu", "gelu"]
        jobs = [self.job(kind, number=i, timeout=3) for i, kind in enumerate(kinds)]
        done = self.finished(self.run_jobs(jobs, workers=2))
        assert len(done) == 5
        out = {key.split("#")[1].split("-")[0]: f.outcome for key, f in done.items()}
        assert out["relu"].status == "ok" and out["relu"].metrics["val_accuracy"] == pytest.approx(toy_score(0.01))
        assert out["tanh"].status == "failed" and out["tanh"].error.startswith("RuntimeError: toy backend was told")
        assert out["sigmoid"].status == "ok" and out["sigmoid"].non_finite()  # the driver turns NaN into a failure
        assert out["elu"].status == "timeout" and "exceeded its timeout of 3 s" in out["elu"].error
        assert out["gelu"].status == "failed" and "died" in out["gelu"].error
        assert not any(o.infrastructure for o in out.values())
        assert all(f.placement.get("executor") for f in done.values())  # every row says where it ran

    def test_a_pruned_trial_stops_where_the_driver_said(self, toy_env):
        jobs = [self.job(number=0, prune=True, epochs=4), self.job(number=1, prune=False, epochs=4)]
        events = self.run_jobs(jobs, prune_at=2)
        done = self.finished(events)
        pruned, kept = done["toy#relu-0"].outcome, done["toy#relu-1"].outcome
        assert pruned.status == "pruned" and pruned.epochs == 2
        assert kept.status == "ok" and kept.epochs == 4
        epochs = [e.report.epoch for e in events if not hasattr(e, "outcome") and e.job.request.key == "toy#relu-0"]
        assert epochs == [1, 2]

    def test_a_backend_that_cannot_start_is_reported_not_run(self, toy_env):
        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",)))
        try:
            reason = executor.warm_up("no-such-backend")
            assert reason is not None and "no-such-backend" in reason
            job = self.job()
            job.backend = "no-such-backend"
            immediate = executor.submit(job)
            assert immediate is not None and immediate.outcome.infrastructure and immediate.outcome.status == "failed"
        finally:
            executor.terminate()

    def test_its_process_is_replaced_after_a_gpu_out_of_memory(self, toy_env, monkeypatch):
        monkeypatch.setenv("TOY_OOM", "1")
        jobs = [self.job("tanh", number=0), self.job("relu", number=1)]
        done = self.finished(self.run_jobs(jobs, workers=1))
        oom = done["toy#tanh-0"].outcome
        assert oom.status == "failed" and oom.error.startswith("GPU out of memory: OutOfMemoryError: CUDA out of")
        assert "replaced" in oom.error and done["toy#relu-1"].outcome.status == "ok"
        pids = [json.loads(p.read_text())["pid"] for p in sorted(toy_env.glob("*.json"))]
        assert len(pids) == 2 and pids[0] != pids[1]

    def test_processes_are_reused_until_their_limit(self, toy_env):
        jobs = [self.job(number=i) for i in range(4)]
        done = self.finished(self.run_jobs(jobs, workers=1, max_trials_per_worker={"toy": 2}))
        assert all(f.outcome.status == "ok" for f in done.values())
        fits = sorted((json.loads(p.read_text()) for p in toy_env.glob("*.json")), key=lambda r: r["start"])
        pids = [r["pid"] for r in fits]
        assert pids[0] == pids[1] != pids[2] == pids[3]

    def test_terminate_stops_a_hanging_trial_at_once(self, toy_env):
        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",)))
        try:
            assert executor.warm_up("toy") is None
            assert executor.submit(self.job("elu", timeout=600)) is None
            deadline = time.monotonic() + 60
            while not list(toy_env.glob("*.json")) and time.monotonic() < deadline:  # the fit started
                executor.poll(timeout=0.2)
            pid = json.loads(next(toy_env.glob("*.json")).read_text())["pid"]
        finally:
            t0 = time.monotonic()
            executor.terminate()
            took = time.monotonic() - t0
        assert took < 15
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), f"process {pid} still runs after terminate"

    def test_environment_and_calibration_are_reported(self, toy_env):
        executor = self.make_executor(ExecutionSettings(plugin_modules=("automl_bench.testing.toy",), calibrate=True))
        try:
            assert executor.warm_up("toy") is None
            assert executor.environments["toy"]["toy"] == "1.0"
            assert executor.calibrations["toy"]["seconds"] > 0
            assert executor.describe()  # what the run records about where its trials ran
        finally:
            executor.terminate()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not running
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
