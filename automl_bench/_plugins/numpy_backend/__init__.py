"""The NumPy backend: hand-written forward and backward passes, no framework.

Dense layers, convolution through im2col, 2x2 pooling, batch norm, dropout, and LSTM/GRU
through backpropagation through time, with Adam, SGD and RMSprop. It is the dependency-free
reference the other backends are compared with; its gradients are checked against finite
differences in the tests.
"""

from __future__ import annotations

import copy
from typing import Mapping

from automl_bench import Backend, BackendSpec, EpochReport, hookimpl
from automl_bench.backend import (
    CALIBRATION,
    EpochControl,
    as_model_input,
    augment,
    calibration_data,
    config_dict,
    config_from_dict,
)

EVAL_CHUNK = 1024


class NumpyBackend(Backend):
    def setup(self, *, threads: int, device: str) -> None:
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=threads)  # BLAS threads, kept for the worker's life
        self.threads = threads
        if device == "cuda":
            from automl_bench import BackendUnavailableError

            raise BackendUnavailableError("backend 'numpy' runs on the CPU only; use device = 'cpu' or 'auto'")

    def environment(self) -> Mapping[str, str]:
        import numpy as np

        return {"numpy": np.__version__, "device": f"cpu (threads={self.threads})"}

    def fit(self, *, data, config, seed, report):
        import numpy as np

        from .network import Network
        from .optimizers import Optimizer

        x_train, x_val = as_model_input(data.x_train, config.family), as_model_input(data.x_val, config.family)
        net = Network(config, x_train.shape[1:], data.n_classes, seed, vocab_size=data.dataset.vocab_size)
        opt = Optimizer(net.params, config)
        control = EpochControl(config)
        shuffle = np.random.default_rng([seed, 2])
        augmenting = np.random.default_rng([seed, 3]) if config.shift or config.flip else None
        n, bs = len(x_train), config.batch_size
        best = None  # restore_best: a copy of the network at its best epoch (batch-norm statistics too)
        for epoch in range(1, config.epochs + 1):
            if augmenting is not None:
                x_train = as_model_input(augment(data.x_train, augmenting, config.shift, config.flip), config.family)
            order = shuffle.permutation(n)
            total = 0.0
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                total += net.loss_and_grads(x_train[idx], data.y_train[idx]) * len(idx)
                opt.step()
            val = scores(net, x_val, data.y_val)
            metrics = {"train_loss": total / n, "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                       "learning_rate": opt.lr}
            report(EpochReport(epoch, metrics))
            decision = control.after_epoch(metrics)
            if config.restore_best and decision.improved:
                best = copy.deepcopy(net)
            opt.lr = decision.learning_rate
            if decision.stop:
                break
        return best if best is not None else net

    def evaluate(self, model, x, y):
        return scores(model, as_model_input(x, model.config.family), y)

    def count_trainable(self, model):
        return sum(p.value.size for p in model.params)

    def count_parameters(self, model):
        """The trained parameters, and batch norm's running mean and variance in the total."""
        from .layers import BatchNorm

        stats = sum(layer.mean.size + layer.var.size for layer in model.layers if isinstance(layer, BatchNorm))
        trainable = self.count_trainable(model)
        return {"trainable": trainable, "total": trainable + stats}

    def predict(self, model, x):
        return model.forward(as_model_input(x, model.config.family), training=False)

    def export(self, model, config, path):
        """An ``.npz`` archive (``numpy.load`` reads it, no pickle): ``param<i>`` for the network's
        parameters in order, ``bn<j>_mean``/``bn<j>_var`` for batch norm's statistics, and
        ``config`` (JSON), ``input_shape``, ``n_classes``, ``vocab_size``; `load_model` rebuilds it."""
        import json

        import numpy as np

        from .layers import BatchNorm

        arrays = {f"param{i}": p.value for i, p in enumerate(model.params)}
        for j, layer in enumerate(l for l in model.layers if isinstance(l, BatchNorm)):
            arrays[f"bn{j}_mean"], arrays[f"bn{j}_var"] = layer.mean, layer.var
        file = path.with_suffix(".npz")
        with open(file, "wb") as f:
            np.savez(f, **arrays, config=np.array(json.dumps(config_dict(config))),
                     input_shape=np.array(model.input_shape), n_classes=np.array(model.n_classes),
                     vocab_size=np.array(model.vocab_size or 0))
        return file

    def calibration_workload(self):
        """`CALIBRATION`'s MLP in plain NumPy (matrix products, not this backend's layers);
        each call trains it one pass."""
        import numpy as np

        c = CALIBRATION
        x, y = calibration_data()
        rng = np.random.default_rng(0)
        widths = [c.inputs] + [c.hidden] * c.layers + [c.classes]
        weights = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(widths, widths[1:])]
        onehot = np.eye(c.classes, dtype=np.float32)[y]

        def workload() -> None:
            for start in range(0, c.steps * c.batch, c.batch):
                acts = [x[start:start + c.batch]]
                for w in weights[:-1]:
                    acts.append(np.maximum(acts[-1] @ w, 0))
                logits = acts[-1] @ weights[-1]
                p = np.exp(logits - logits.max(axis=1, keepdims=True))
                grad = (p / p.sum(axis=1, keepdims=True) - onehot[start:start + c.batch]) / c.batch
                for i in range(len(weights) - 1, -1, -1):
                    step = acts[i].T @ grad
                    if i:
                        grad = (grad @ weights[i].T) * (acts[i] > 0)
                    weights[i] -= 0.01 * step

        return workload


def load_model(path, device: str = "cpu"):
    """A network `NumpyBackend.export` saved (``device`` is always the CPU's): ``load_model(path).forward(x, training=False)``
    gives logits for samples laid out by `automl_bench.backend.as_model_input`."""
    import json

    import numpy as np

    from .layers import BatchNorm
    from .network import Network

    with np.load(path, allow_pickle=False) as saved:
        config = config_from_dict(json.loads(str(saved["config"])))
        net = Network(config, tuple(int(d) for d in saved["input_shape"]), int(saved["n_classes"]), seed=0,
                      vocab_size=int(saved["vocab_size"]) or None)
        for i, p in enumerate(net.params):
            p.value = saved[f"param{i}"]
        for j, layer in enumerate(l for l in net.layers if isinstance(l, BatchNorm)):
            layer.mean, layer.var = saved[f"bn{j}_mean"], saved[f"bn{j}_var"]
    return net


def scores(net, x, y) -> dict[str, float]:
    from .network import cross_entropy

    loss, correct = 0.0, 0
    for start in range(0, len(x), EVAL_CHUNK):
        logits = net.forward(x[start:start + EVAL_CHUNK], training=False)
        target = y[start:start + EVAL_CHUNK]
        loss += cross_entropy(logits, target)[0] * len(target)
        correct += int((logits.argmax(axis=1) == target).sum())
    n = max(len(x), 1)
    return {"loss": loss / n, "accuracy": correct / n}


@hookimpl
def bench_backends(register):
    register(BackendSpec("numpy", "hand-written NumPy reference: MLP, CNN (im2col), LSTM/GRU (BPTT)", NumpyBackend,
                         families=("mlp", "cnn", "rnn"), packages=("numpy",), model_suffix=".npz",
                         load_model=load_model))
