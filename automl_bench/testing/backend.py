"""The contract every training backend keeps, for each model family it declares: `BackendContract`.

Subclass it in your plugin's tests; docs/how-to/plugins.md lists what each test checks."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from automl_bench import Backend, EpochReport
from automl_bench.backend import build_config
from automl_bench.testing.data import tiny_digits, tiny_tokens


class BackendUnderTest:
    """Builds the backend once per test class, as a worker would: ``make_backend()``, then ``setup``."""

    def make_backend(self) -> Backend:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> Backend:
        backend = cls().make_backend()
        backend.setup(threads=1, device="cpu")
        return backend


class BackendContract(BackendUnderTest):
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
        parameters, the count is the one docs/reference/models.md's architecture gives."""
        if family == "rnn":
            pytest.skip("per-layer sizes are mlp and cnn knobs")
        from automl_bench._model.checks import trainable_parameters

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

    def test_counts_its_parameters(self, backend, family, trained):
        """Optional (`Backend.count_parameters`): the trainable count is `count_trainable`'s and,
        for mlp and cnn, the architecture's (docs/reference/models.md); the total holds at least those."""
        from automl_bench._model.checks import trainable_parameters

        model, _ = trained
        try:
            counted = backend.count_parameters(model)
        except NotImplementedError:
            pytest.skip("this backend does not count its parameters (Backend.count_parameters)")
        data = tiny_digits()
        config = build_config(family, {**self.params[family], **self.training})
        if family != "rnn":  # the architecture's count is worked out for mlp and cnn
            assert counted["trainable"] == trainable_parameters(config, data.input_shape, data.n_classes)
        assert counted["total"] >= counted["trainable"] > 0
        try:
            assert backend.count_trainable(model) == counted["trainable"]
        except NotImplementedError:
            pass

    def test_predicts_the_logits_it_scores_with(self, backend, family, trained):
        """Optional (`Backend.predict`, timed for the latency costs): a host array of logits, one
        row per example, whose argmax is `evaluate`'s accuracy; one example at a time works too."""
        import numpy as np

        model, _ = trained
        data = tiny_digits()
        try:
            logits = np.asarray(backend.predict(model, data.x_val))
        except NotImplementedError:
            pytest.skip("this backend does not predict (Backend.predict): no latency is measured")
        assert logits.shape == (len(data.y_val), data.n_classes)
        accuracy = float((logits.argmax(axis=1) == data.y_val).mean())
        assert accuracy == pytest.approx(backend.evaluate(model, data.x_val, data.y_val)["accuracy"])
        one = np.asarray(backend.predict(model, data.x_val[:1]))
        assert one.shape == (1, data.n_classes)
        np.testing.assert_allclose(one[0], logits[0], rtol=1e-4, atol=1e-5)

    def test_invalid_config_is_a_clear_error(self, backend, family):
        with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
            self.fit(backend, family, dropout=1.5)

    def test_calibration_workload_leaves_training_unchanged(self, backend, family, trained):
        """Optional: a backend without a calibration workload has nothing to check. One that has
        one runs it repeatedly in well under a second, and a fit afterwards gives the same
        numbers as before (the workload does not touch the framework's seeded state)."""

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
