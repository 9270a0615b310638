"""Keras 3 backends: `keras` runs on TensorFlow, `keras-torch` on PyTorch.

Keras fixes its backend when first imported, so each is its own backend name and the harness
gives each its own worker process. The model, initialisers and training rules follow the
shared config exactly (see `automl_bench._model.config`); early stopping and LR decay come from the
same `EpochControl` every backend uses, through a Keras callback.

Its rooms: `networks` (the models), `training` (optimizer, epoch callback, scores), `weights`
(transfer trials' starting weights); this module holds the backend and its registration.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from automl_bench import Backend, BackendSpec, BackendUnavailableError, hookimpl
from automl_bench.backend import (
    CALIBRATION,
    EpochControl,
    as_model_input,
    augment,
    calibration_data,
)

from .networks import build_model, size
from .training import make_optimizer, report_callback, scores
from .weights import adapt, adapt_published, saved_name

INSTALL = {"tensorflow": "pip install 'automl-bench[keras]'", "torch": "pip install 'automl-bench[keras,torch]'"}


class KerasBackend(Backend):
    def __init__(self, engine: str):
        self.engine = engine  # "tensorflow" or "torch"
        self.keras: Any = None
        self.device = "cpu"

    def setup(self, *, threads: int, device: str) -> None:
        os.environ["KERAS_BACKEND"] = self.engine
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            gpus = self._configure_engine(threads, device)
            import keras
        except ImportError as exc:
            raise BackendUnavailableError(f"Keras on {self.engine} is not installed: {INSTALL[self.engine]}") from exc
        if keras.backend.backend() != self.engine:
            raise BackendUnavailableError(
                f"Keras was already imported with backend {keras.backend.backend()!r} in this process")
        if device == "cuda" and not gpus:
            raise BackendUnavailableError(f"device = 'cuda' but {self.engine} sees no GPU; use 'auto' or 'cpu'")
        self.device = "cuda" if gpus and device in ("cuda", "auto") else "cpu"
        self.keras = keras

    def _configure_engine(self, threads: int, device: str) -> list:
        """Apply threads (and hide GPUs on request) before the engine's first operation."""
        if self.engine == "tensorflow":
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
            tf.config.experimental.enable_op_determinism()
            gpus = tf.config.list_physical_devices("GPU")
            if device == "cpu" and gpus:
                tf.config.set_visible_devices([], "GPU")
            for gpu in gpus if device != "cpu" else []:  # TensorFlow takes a whole GPU by default: share it
                tf.config.experimental.set_memory_growth(gpu, True)
            return gpus if device != "cpu" else []
        import torch

        torch.set_num_threads(threads)
        if device == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
            return []
        return list(range(torch.cuda.device_count()))

    def device_memory(self) -> int | None:
        """Bytes the engine's allocator holds for tensors on the GPU (None on the CPU)."""
        if self.device != "cuda":
            return None
        if self.engine == "tensorflow":
            import tensorflow as tf

            return int(tf.config.experimental.get_memory_info("GPU:0")["current"])
        import torch

        return int(torch.cuda.memory_allocated())

    def peak_device_memory(self) -> int | None:
        """The engine's peak GPU memory since the last call (None on the CPU)."""
        if self.device != "cuda":
            return None
        if self.engine == "tensorflow":
            import tensorflow as tf

            peak = int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
            tf.config.experimental.reset_memory_stats("GPU:0")
            return peak
        import torch

        peak = int(torch.cuda.max_memory_allocated())
        torch.cuda.reset_peak_memory_stats()
        return peak

    def environment(self) -> Mapping[str, str]:
        env = {"keras": self.keras.__version__, "keras_backend": self.engine, "device": self.device}
        if self.engine == "tensorflow":
            import tensorflow as tf

            env["tensorflow"] = tf.__version__
        else:
            import torch

            env["torch"] = torch.__version__
        return env

    def fit(self, *, data, config, seed, report, pretrained=None):
        import numpy as np

        keras = self.keras
        keras.utils.set_random_seed(seed)
        x_train, x_val = as_model_input(data.x_train, config.family), as_model_input(data.x_val, config.family)
        model = build_model(keras, config, x_train.shape[1:], data.n_classes, data.dataset.vocab_size)
        trunk: set[str] = set()  # names of pretrained layers that train at trunk_lr_factor
        if pretrained is not None:
            trunk = adapt_published(model, config, pretrained) if config.published else \
                adapt(model, config, pretrained)
        model.compile(optimizer=make_optimizer(keras, config, trunk),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        callback = report_callback(keras)(EpochControl(config), report, x_val, data.y_val, config.restore_best)
        if not (config.shift or config.flip):
            model.fit(x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs, shuffle=True,
                      verbose=0, callbacks=[callback])
            return callback.restored(model)
        rng = np.random.default_rng([seed, 3])
        for epoch in range(config.epochs):  # a fresh augmented copy of the training data each epoch
            x_epoch = as_model_input(augment(data.x_train, rng, config.shift, config.flip), config.family)
            model.fit(x_epoch, data.y_train, batch_size=config.batch_size, initial_epoch=epoch, epochs=epoch + 1,
                      shuffle=True, verbose=0, callbacks=[callback])
            if model.stop_training:
                break
        return callback.restored(model)

    def save(self, model, path) -> None:
        import numpy as np

        arrays = {saved_name(layer, i): w for layer in model.layers if layer.name.startswith("block")
                  for i, w in enumerate(layer.get_weights())}
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    def count_trainable(self, model) -> int:
        return sum(size(w.shape) for w in model.trainable_weights)

    def count_parameters(self, model) -> dict[str, int]:
        """Keras' own ``count_params``: every weight, batch norm's moving statistics included."""
        return {"trainable": self.count_trainable(model), "total": int(model.count_params())}

    def predict(self, model, x):
        import numpy as np

        return np.asarray(model.predict_on_batch(as_model_input(x, model.family)))

    def published_weights(self, name, file):
        """Keras' checked download (``keras.utils.get_file`` with the md5 its applications use),
        cached under ``~/.keras/models``; or the given copy."""
        from automl_bench import DataError
        from automl_bench.backend import PUBLISHED, missing_weights_message, weights_sha256

        spec = PUBLISHED[name]
        if file is None:
            try:
                path = Path(self.keras.utils.get_file(spec.file, spec.origin, cache_subdir="models", file_hash=spec.md5))
            except Exception as exc:  # noqa: BLE001 - offline, Keras raises a plain Exception
                raise DataError(missing_weights_message(spec, f"{type(exc).__name__}: {exc}")) from None
        else:
            path = Path(file)
        return path, {"weights": name, "file": str(path) if file else spec.file, "file_sha256": weights_sha256(path)}

    def export(self, model, config, path):
        """A ``.keras`` file (Keras' own format: architecture, weights, no optimizer state), which
        ``keras.saving.load_model`` reads on either engine. It reads inputs channels-last
        (`automl_bench.backend.as_model_input`) and returns logits."""
        file = path.with_suffix(".keras")
        # The same layers and weights, uncompiled: a transfer trial's optimizer trains its trunk
        # at another rate through a function, which the format cannot hold, and no user needs it.
        self.keras.Model(model.inputs, model.outputs).save(file)
        return file

    def evaluate(self, model, x, y):
        return scores(model, as_model_input(x, model.family), y)

    def release(self, model) -> None:
        del model
        self.keras.backend.clear_session()  # drops graphs and layers; also runs gc

    def calibration_workload(self):
        """`CALIBRATION`'s MLP in plain Keras, built and compiled once; each call is one epoch of
        ``model.fit``, Keras' own training loop."""
        keras, c = self.keras, CALIBRATION
        x, y = calibration_data()
        init = keras.initializers.GlorotUniform(seed=0)
        model = keras.Sequential([keras.Input((c.inputs,))]
                                 + [keras.layers.Dense(c.hidden, activation="relu", kernel_initializer=init)
                                    for _ in range(c.layers)]
                                 + [keras.layers.Dense(c.classes, kernel_initializer=init)])
        model.compile(optimizer=keras.optimizers.SGD(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

        def workload() -> None:
            model.fit(x, y, batch_size=c.batch, epochs=1, shuffle=False, verbose=0)

        return workload


def load_model(path, device: str = "cpu"):
    """A model `KerasBackend.export` saved, through Keras' own loader (on whichever engine Keras
    runs: the file is the same for both). It reads channels-last inputs and returns logits."""
    import keras

    return keras.saving.load_model(path)


@hookimpl
def bench_backends(register):
    families = ("mlp", "cnn", "rnn")
    saved = {"model_suffix": ".keras", "load_model": load_model}
    # TensorFlow keeps about 7 MB per trained model that clear_session() and gc cannot free
    # (keras-team/keras#21090, tensorflow/tensorflow#61791): bound it by recycling the worker.
    register(BackendSpec("keras", "Keras 3 on TensorFlow: MLP, CNN, RNN", lambda: KerasBackend("tensorflow"),
                         families=families, packages=("keras", "tensorflow", "tensorflow-cpu"),
                         max_trials_per_worker=25, transfer=True, weights=("keras",), **saved))
    register(BackendSpec("keras-torch", "Keras 3 on PyTorch: MLP, CNN, RNN", lambda: KerasBackend("torch"),
                         families=families, packages=("keras", "torch"), transfer=True, weights=("keras",),
                         **saved))
