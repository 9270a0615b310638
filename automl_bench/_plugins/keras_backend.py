"""Keras 3 backends: `keras` runs on TensorFlow, `keras-torch` on PyTorch.

Keras fixes its backend when first imported, so each is its own backend name and the harness
gives each its own worker process. The model, initialisers and training rules follow the
shared config exactly (see `automl_bench._models`); early stopping and LR decay come from the
same `EpochControl` every backend uses, through a Keras callback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from automl_bench import Backend, BackendSpec, BackendUnavailableError, EpochReport, hookimpl
from automl_bench.backend import (
    BN_EPSILON,
    BN_MOMENTUM,
    CALIBRATION,
    EpochControl,
    as_model_input,
    augment,
    calibration_data,
)

INSTALL = {"tensorflow": "pip install 'automl-bench[keras]'", "torch": "pip install 'automl-bench[keras,torch]'"}
EVAL_BATCH = 2048


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
            trunk = _adapt_published(model, config, pretrained) if config.published else \
                _adapt(model, config, pretrained)
        model.compile(optimizer=make_optimizer(keras, config, trunk),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        callback = _report_callback(keras)(EpochControl(config), report, x_val, data.y_val, config.restore_best)
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

        arrays = {_saved_name(layer, i): w for layer in model.layers if layer.name.startswith("block")
                  for i, w in enumerate(layer.get_weights())}
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    def count_trainable(self, model) -> int:
        return sum(_size(w.shape) for w in model.trainable_weights)

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


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _saved_name(layer, index: int) -> str:
    """``block<b>/<layer name>:<index>``: trunk layers are named ``block<b>_<kind>``."""
    return f"{layer.name.split('_')[0]}/{layer.name}:{index}"


def _adapt(model, config, pretrained) -> set[str]:
    """Load the pretrained trunk and freeze the blocks this mode keeps fixed (their batch norm
    then runs in inference mode); return the names of pretrained layers that train."""
    import numpy as np

    trainable = config.trainable_blocks()
    training: set[str] = set()
    with np.load(pretrained) as saved:
        for layer in model.layers:
            if not layer.name.startswith("block"):
                continue
            own = layer.get_weights()
            weights = [saved.get(_saved_name(layer, i)) for i in range(len(own))]
            if any(w is None or w.shape != o.shape for w, o in zip(weights, own)):
                raise ValueError(f"the pretrained weights in {pretrained} do not fit layer {layer.name!r}")
            layer.set_weights(weights)
            if int(layer.name[5:].split("_")[0]) in trainable:
                training.add(layer.name)
            else:
                layer.trainable = False
    return training


def _adapt_published(model, config, path) -> set[str]:
    """Load published weights into the model's base and freeze the blocks this mode keeps
    fixed; return the names of the base's layers that train."""
    base = model.get_layer("published")
    base.load_weights(str(path))
    trainable = config.trainable_blocks()
    training: set[str] = set()
    for layer in base.layers:
        if not layer.name.startswith("block") or not layer.weights:
            continue
        if int(layer.name[5:].split("_")[0]) - 1 in trainable:  # Keras numbers blocks from 1
            training.add(layer.name)
        else:
            layer.trainable = False
    return training


def _published_trunk(keras, config, input_shape):
    """The input, a fixed layer that prepares images as the publisher did, and the published base
    (fresh weights: `_adapt_published` loads them). Images are resized to the base's size;
    the preparing 1x1 convolution maps [0, 1] grey or RGB to the 0-255 BGR values, ImageNet mean
    subtracted, that Keras' "caffe" preprocessing gives, and never trains."""
    import numpy as np

    from automl_bench.backend import PUBLISHED

    L = keras.layers
    spec = PUBLISHED[config.published]
    h, w, channels = input_shape
    size = spec.input_size(h, w, config.input_size or None)
    inputs = keras.Input(shape=tuple(input_shape))
    x = L.Resizing(size, size, interpolation="bilinear", name="resize")(inputs) if (h, w) != (size, size) else inputs
    prepare = L.Conv2D(3, 1, name="prepare", trainable=False)
    x = prepare(x)
    kernel = np.zeros((1, 1, channels, 3), np.float32)
    for out in range(3):  # BGR out, from RGB in (or the one grey channel)
        kernel[0, 0, 2 - out if channels == 3 else 0, out] = 255.0
    prepare.set_weights([kernel, -np.asarray(spec.bgr_mean, np.float32)])
    base = getattr(keras.applications, spec.constructor)(include_top=False, weights=None, input_shape=(size, size, 3),
                                                         name="published")
    return inputs, base(x)


def _report_callback(keras):
    """The callback class, defined once keras is imported (in the worker, never at plugin load)."""
    class Report(keras.callbacks.Callback):
        def __init__(self, control, report, x_val, y_val, restore_best=False):
            super().__init__()
            self.control, self.report, self.x_val, self.y_val = control, report, x_val, y_val
            self.restore_best, self.best_weights = restore_best, None

        def restored(self, model):
            """The model, with the best epoch's weights (batch-norm statistics too) under restore_best."""
            if self.best_weights is not None:
                model.set_weights(self.best_weights)
            return model

        def on_epoch_end(self, epoch, logs=None):
            val = scores(self.model, self.x_val, self.y_val)
            rates = self.model.optimizer.bench_rates  # [(optimizer, scale)]; the head's first
            lr = float(keras.ops.convert_to_numpy(rates[0][0].learning_rate))
            metrics = {"train_loss": float(logs["loss"]), "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                       "learning_rate": lr}
            self.report(EpochReport(epoch + 1, metrics))
            decision = self.control.after_epoch(metrics)
            if self.restore_best and decision.improved:
                self.best_weights = self.model.get_weights()  # copies, as numpy arrays
            if decision.learning_rate != lr:
                for optimizer, scale in rates:
                    optimizer.learning_rate.assign(decision.learning_rate * scale)
            if decision.stop:
                self.model.stop_training = True

    return Report


def scores(model, x, y) -> dict[str, float]:
    """Mean cross-entropy and accuracy from the model's logits (no regularisation term)."""
    import numpy as np

    # predict_on_batch per chunk: model.predict() builds a data pipeline per call (~100 ms each)
    chunks = [model.predict_on_batch(x[i:i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)]
    logits = np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    y = np.asarray(y)
    return {"loss": float(-log_probs[np.arange(len(y)), y].mean()),
            "accuracy": float((logits.argmax(axis=1) == y).mean())}


def make_optimizer(keras, config, trunk: set[str] = frozenset()):
    """The config's optimizer; with ``trunk`` layer names, a MultiOptimizer that trains those
    layers at ``trunk_lr_factor`` times the rate. ``bench_rates`` lists (optimizer, scale)."""
    head = _optimizer(keras, config, config.learning_rate)
    if not trunk:
        head.bench_rates = [(head, 1.0)]
        return head
    slow = _optimizer(keras, config, config.learning_rate * config.trunk_lr_factor)
    multi = keras.optimizers.MultiOptimizer(lambda variable: slow if variable.path.split("/")[0] in trunk else head)
    multi.bench_rates = [(head, 1.0), (slow, config.trunk_lr_factor)]
    return multi


def _optimizer(keras, config, learning_rate: float):
    o = keras.optimizers
    if config.optimizer == "adam":
        return o.Adam(learning_rate=learning_rate, beta_1=config.beta1, beta_2=config.beta2, epsilon=config.epsilon)
    if config.optimizer == "sgd":
        return o.SGD(learning_rate=learning_rate, momentum=config.momentum,
                     nesterov=config.nesterov and config.momentum > 0)
    return o.RMSprop(learning_rate=learning_rate, rho=config.rho, momentum=config.momentum, epsilon=config.epsilon)


def build_model(keras, config, input_shape, n_classes: int, vocab_size: int | None = None):
    L = keras.layers
    init = "he_uniform" if config.initializer == "he" else "glorot_uniform"
    reg = keras.regularizers.L2(config.l2) if config.l2 > 0 else None

    def dense_block(x, units, block=None):
        # Trunk blocks are named block<b>_<layer>: transfer tasks find their weights by these names.
        name = (lambda layer: f"block{block}_{layer}") if block is not None else (lambda layer: None)
        x = L.Dense(units, kernel_initializer=init, kernel_regularizer=reg, name=name("dense"))(x)
        if config.batch_norm:
            x = L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name("bn"))(x)
        x = L.Activation(config.activation)(x)
        return L.Dropout(config.dropout)(x) if config.dropout > 0 else x

    if config.published:  # a published network's base is the trunk; the head is as below
        inputs, x = _published_trunk(keras, config, input_shape)
        x = dense_block(L.Flatten()(x), config.dense_units)
        model = keras.Model(inputs, L.Dense(n_classes, kernel_initializer=init, kernel_regularizer=reg)(x))
        model.family = config.family
        return model
    inputs = keras.Input(shape=tuple(input_shape), dtype="int32" if config.embedding else None)
    x = inputs
    if config.embedding:
        x = L.Embedding(vocab_size, config.embedding,
                        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05))(x)
    if config.family == "mlp":
        for block, units in enumerate(config.hidden_units):
            x = dense_block(x, units, block)
    elif config.family == "cnn":
        pool = L.MaxPooling2D if config.pooling == "max" else L.AveragePooling2D
        for block, filters in enumerate(config.block_filters):
            x = L.Conv2D(filters, config.kernel_size, padding="same", kernel_initializer=init,
                         kernel_regularizer=reg, name=f"block{block}_conv")(x)
            if config.batch_norm:
                x = L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"block{block}_bn")(x)
            x = pool(2)(L.Activation(config.activation)(x))
        x = dense_block(L.Flatten()(x), config.dense_units)
    else:
        cell = L.LSTM if config.cell == "lstm" else L.GRU
        for i in range(config.rnn_layers):
            layer = cell(config.units, return_sequences=i < config.rnn_layers - 1, kernel_initializer=init,
                         kernel_regularizer=reg)
            x = (L.Bidirectional(layer) if config.bidirectional else layer)(x)
        if config.dropout > 0:
            x = L.Dropout(config.dropout)(x)
    outputs = L.Dense(n_classes, kernel_initializer=init, kernel_regularizer=reg)(x)
    model = keras.Model(inputs, outputs)
    model.family = config.family
    return model


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
