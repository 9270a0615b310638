"""The sklearn backend passes automl-bench's BackendContract and runs a real suite on digits."""

from __future__ import annotations

import pytest
from automl_bench_sklearn import SklearnBackend

from automl_bench.testing import BackendContract, tiny_digits


class TestSklearnBackend(BackendContract):
    families = ("mlp",)
    reduce_lr_params = {"optimizer": "sgd", "momentum": 0.9, "l2": 0.001, "initializer": "glorot"}

    def make_backend(self):
        return SklearnBackend()

    @pytest.mark.parametrize("knob, value, message", [
        ("dropout", 0.2, "no dropout"),
        ("batch_norm", True, "no batch normalisation"),
        ("optimizer", "rmsprop", "optimizer 'rmsprop' is not in scikit-learn's MLP"),
        ("activation", "gelu", "activation 'gelu' is not in scikit-learn's MLP"),
    ])
    def test_a_knob_it_lacks_is_an_error_not_ignored(self, backend, family, knob, value, message):
        with pytest.raises(ValueError, match=message):
            self.fit(backend, family, **{knob: value})

    def test_he_and_glorot_draw_different_weights_and_zero_biases(self, backend, family):
        he, _ = self.fit(backend, family, epochs=1, learning_rate=1e-12, initializer="he")
        glorot, _ = self.fit(backend, family, epochs=1, learning_rate=1e-12, initializer="glorot")
        fan_in = tiny_digits().x_train[0].size
        assert abs(he.coefs_[0]).max() <= (6 / fan_in) ** 0.5 + 1e-6
        assert abs(he.coefs_[0]).max() > abs(glorot.coefs_[0]).max()
        assert abs(he.intercepts_[0]).max() < 1e-9


def test_the_suite_validator_names_what_the_backend_lacks(bench_host, tmp_path):
    from automl_bench.errors import SuiteError
    from automl_bench.testing import load_suite

    suite = tmp_path / "bad.toml"
    suite.write_text(
        'name = "bad"\nseeds = [0]\n[matrix]\nbackends = ["sklearn"]\nstrategies = ["random"]\n'
        '[space]\ndropout = { type = "float", low = 0.0, high = 0.5 }\n'
        'activation = { type = "categorical", choices = ["relu", "elu"] }\n'
        '[[tasks]]\nname = "digits-mlp"\ndataset = "digits"\n')
    with pytest.raises(SuiteError) as error:
        load_suite(suite, bench_host)
    assert error.value.problems == [
        f"{suite}:4: matrix.backends[0]: task 'digits-mlp': backend 'sklearn': scikit-learn's MLP has no dropout "
        "(dropout must be 0)",
        f"{suite}:4: matrix.backends[0]: task 'digits-mlp': backend 'sklearn': activation 'elu' is not in "
        "scikit-learn's MLP (it has: relu, tanh, sigmoid)",
    ]


def test_a_real_suite_on_digits(bench_run):
    results = bench_run(
        'name = "sklearn-digits"\nseeds = [0, 1]\n[budget]\nmax_trials = 3\n'
        '[matrix]\nbackends = ["sklearn"]\nstrategies = ["random"]\n'
        '[space]\nunits = { type = "int", low = 16, high = 64 }\n'
        'learning_rate = { type = "float", low = 1e-3, high = 1e-2, log = true }\nepochs = 8\n'
        '[[tasks]]\nname = "digits-mlp"\ndataset = "digits"\n')
    assert len(results.trials) == 6 and (results.trials["status"] == "ok").all()
    assert set(results.trials["backend"]) == {"sklearn"}
    assert results.trials["packages"].str.contains('"scikit-learn"').all()
    assert results.trials["value"].max() > 0.9  # 10 classes: chance is 0.1
    assert results.finals["test_accuracy"].min() > 0.85
