"""The backend contract for Keras on the engine named by KERAS_BACKEND.

Not collected by the main test run (Keras can hold only one engine per process);
tests/test_contracts.py runs this file in a subprocess once per engine.
"""

from __future__ import annotations

import os

from automl_bench._manager import get_plugin_manager
from automl_bench.testing import BackendContract, TransferContract

NAME = {"tensorflow": "keras", "torch": "keras-torch"}[os.environ.get("KERAS_BACKEND", "tensorflow")]


class TestKerasBackend(BackendContract):
    def make_backend(self):
        return get_plugin_manager().backend(NAME).factory()

    def load_exported(self, path):
        import keras

        from automl_bench._files.data import as_model_input

        model = keras.saving.load_model(path)  # Keras' own loader: no automl-bench code involved
        return lambda x: keras.ops.convert_to_numpy(model(as_model_input(x, _family(model)), training=False))

    def test_the_engine_is_the_one_asked_for(self, backend):
        assert backend.environment()["keras_backend"] == os.environ.get("KERAS_BACKEND", "tensorflow")


def _family(model) -> str:
    """The family a loaded Keras model reads: cnn takes images (rank 4), rnn sequences (rank 3)."""
    return {2: "mlp", 4: "cnn"}.get(len(model.inputs[0].shape), "rnn")


SAME_MODEL_CASES = [
    ("mlp", {"layers": 2, "units": 16, "batch_norm": True}),
    ("mlp", {"units": [16, 7, 5], "units_1": 9, "batch_norm": True}),
    ("cnn", {"conv_blocks": 2, "filters": 4, "kernel_size": 5, "batch_norm": True, "dense_units": 8}),
    ("cnn", {"filters": [5, 3], "kernel_size": 3, "dense_units": 8}),
    ("rnn", {"cell": "lstm", "units": 6, "rnn_layers": 2, "bidirectional": True}),
    ("rnn", {"cell": "gru", "units": 5, "rnn_layers": 2}),
]


def test_same_config_builds_models_of_the_same_size_on_every_backend():
    """Trainable parameter counts agree between Keras, PyTorch and NumPy for each family."""
    import keras
    import numpy as np
    import torch

    from automl_bench._files.data import as_model_input as arrange
    from automl_bench._model.config import build_config
    from automl_bench._plugins.keras_backend import build_model as keras_model
    from automl_bench._plugins.numpy_backend.network import Network
    from automl_bench._plugins.torch_backend import build_model as torch_model
    from automl_bench._plugins.torch_backend.networks import arrange as torch_arrange

    sample = np.zeros((1, 8, 8), np.float32)  # one digits image
    for family, params in SAME_MODEL_CASES:
        config = build_config(family, params)
        k = keras_model(keras, config, arrange(sample, family).shape[1:], 10)
        t = torch_model(torch, config, tuple(torch_arrange(torch.as_tensor(sample), family).shape[1:]), 10)
        n = Network(config, arrange(sample, family).shape[1:], 10, seed=0)
        counts = {
            "keras": sum(int(np.prod(w.shape)) for w in k.trainable_weights),
            "torch": sum(p.numel() for p in t.parameters() if p.requires_grad),
            "numpy": sum(p.value.size for p in n.params),
        }
        assert len(set(counts.values())) == 1, (family, params, counts)


class TestKerasTransfer(TransferContract):
    def make_backend(self):
        return get_plugin_manager().backend(NAME).factory()


def test_an_embedding_rnn_has_the_same_size_on_every_backend():
    import keras
    import numpy as np
    import torch

    from automl_bench._model.config import build_config
    from automl_bench._plugins.keras_backend import build_model as keras_model
    from automl_bench._plugins.numpy_backend.network import Network
    from automl_bench._plugins.torch_backend import build_model as torch_model

    config = build_config("rnn", {"cell": "lstm", "units": 5, "embedding": 4, "bidirectional": True})
    k = keras_model(keras, config, (9,), 3, vocab_size=30)
    t = torch_model(torch, config, (9,), 3, vocab_size=30)
    n = Network(config, (9,), 3, seed=0, vocab_size=30)
    counts = {"keras": sum(int(np.prod(w.shape)) for w in k.trainable_weights),
              "torch": sum(p.numel() for p in t.parameters() if p.requires_grad),
              "numpy": sum(p.value.size for p in n.params)}
    assert len(set(counts.values())) == 1 and counts["numpy"] > 30 * 4, counts
    assert k.predict_on_batch(np.zeros((2, 9), np.int32)).shape == (2, 3)
