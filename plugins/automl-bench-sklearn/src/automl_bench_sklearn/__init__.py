"""scikit-learn's `MLPClassifier` as an automl-bench backend (``sklearn``) for the mlp family.

It trains the network automl-bench's other backends build, within what scikit-learn's MLP has:

- dense layers of ``units``, activation ``relu``, ``tanh`` or ``sigmoid`` (scikit-learn's
  ``logistic``); kernels drawn by ``initializer`` (he or glorot, uniform), biases zero;
- ``adam`` (``beta1``, ``beta2``, ``epsilon``) or ``sgd`` (``momentum``, ``nesterov``) at
  ``learning_rate``, ``batch_size``, ``epochs``, one ``partial_fit`` per epoch;
- ``l2`` as scikit-learn's ``alpha = 2 * l2 * batch_size`` (its penalty is divided by the batch's
  size; exact for every batch but a smaller last one);
- early stopping and reduce-LR-on-plateau through automl-bench's `EpochControl`, and ``shift``
  and ``flip`` augmentation of image data through `augment`, as on every backend.

It has no dropout, batch normalisation or RMSprop, nor the elu and gelu activations: a suite
that searches them is rejected by ``bench validate`` with file and line, and a trial given one
fails with a ``ValueError`` saying so. Nothing is silently left out.
"""

from __future__ import annotations

from typing import Any, Mapping

from automl_bench import Backend, BackendSpec, BackendUnavailableError, EpochReport, hookimpl
from automl_bench.backend import EpochControl, augment
from automl_bench.space import CategoricalParam, FixedParam, SearchSpace

ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}
OPTIMIZERS = ("adam", "sgd")


def unsupported(knob: str, value: Any) -> str | None:
    """Why this backend cannot build ``knob = value``, or None if it can."""
    if knob == "activation" and value not in ACTIVATIONS:
        return f"activation {value!r} is not in scikit-learn's MLP (it has: {', '.join(ACTIVATIONS)})"
    if knob == "optimizer" and value not in OPTIMIZERS:
        return f"optimizer {value!r} is not in scikit-learn's MLP (it has: {', '.join(OPTIMIZERS)})"
    if knob == "dropout" and value != 0:
        return "scikit-learn's MLP has no dropout (dropout must be 0)"
    if knob == "batch_norm" and value:
        return "scikit-learn's MLP has no batch normalisation (batch_norm must be false)"
    return None


def check_space(space: SearchSpace) -> list[str]:
    """Every value the space can give a knob this backend cannot build, for `bench validate`."""
    problems = []
    for param in space:
        if isinstance(param, FixedParam):
            values: tuple[Any, ...] = (param.value,)
        elif isinstance(param, CategoricalParam):
            values = param.choices
        else:  # a numeric range: its bounds and explicit grid
            values = (param.low, param.high, *(param.grid or ()))
        problems += [f"backend 'sklearn': {why}" for v in dict.fromkeys(values) if (why := unsupported(param.name, v))]
    return list(dict.fromkeys(problems))


def _mlp_class() -> type:
    from sklearn.neural_network import MLPClassifier

    class MLP(MLPClassifier):
        """MLPClassifier with automl-bench's initialisation: uniform he or glorot kernels, zero biases
        (scikit-learn's own draws glorot-style biases too)."""

        initializer = "he"

        def _init_coef(self, fan_in, fan_out, dtype):
            import numpy as np

            bound = np.sqrt((6.0 / fan_in) if self.initializer == "he" else 6.0 / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
            return coef, np.zeros(fan_out, dtype=dtype)

    return MLP


class SklearnBackend(Backend):
    """Trains each trial's MLP with scikit-learn, one epoch per ``partial_fit``."""

    def setup(self, *, threads: int, device: str) -> None:
        from threadpoolctl import threadpool_limits

        if device == "cuda":
            raise BackendUnavailableError("backend 'sklearn' runs on the CPU only; use device = 'cpu' or 'auto'")
        self._limits = threadpool_limits(limits=threads)  # BLAS threads, kept for the worker's life
        self.threads = threads

    def environment(self) -> Mapping[str, str]:
        import sklearn

        return {"scikit-learn": sklearn.__version__, "device": f"cpu (threads={self.threads})"}

    def fit(self, *, data, config, seed, report, pretrained=None):
        import numpy as np

        problems = [why for knob in ("activation", "optimizer", "dropout", "batch_norm")
                    if (why := unsupported(knob, getattr(config, knob)))]
        if problems:
            raise ValueError("; ".join(problems))
        model = _mlp_class()(
            hidden_layer_sizes=config.hidden_units, activation=ACTIVATIONS[config.activation],
            solver=config.optimizer, alpha=2 * config.l2 * config.batch_size, batch_size=config.batch_size,
            learning_rate_init=config.learning_rate, beta_1=config.beta1, beta_2=config.beta2,
            epsilon=config.epsilon, momentum=config.momentum, nesterovs_momentum=config.nesterov,
            shuffle=True, random_state=seed,
        )
        model.initializer = config.initializer
        classes = np.arange(data.n_classes)
        augmenting = np.random.default_rng([seed, 3]) if config.shift or config.flip else None
        control = EpochControl(config)
        learning_rate = config.learning_rate
        best = None  # restore_best: the weights of the best epoch
        for epoch in range(1, config.epochs + 1):
            x = data.x_train if augmenting is None else augment(data.x_train, augmenting, config.shift, config.flip)
            model.partial_fit(_flat(x), data.y_train, classes=classes)
            val = self.evaluate(model, data.x_val, data.y_val)
            metrics = {"train_loss": float(model.loss_), "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                       "learning_rate": learning_rate}
            report(EpochReport(epoch, metrics))
            decision = control.after_epoch(metrics)
            if config.restore_best and decision.improved:
                best = ([c.copy() for c in model.coefs_], [b.copy() for b in model.intercepts_])
            if decision.stop:
                break
            learning_rate = decision.learning_rate
            # scikit-learn fixes the rate when its optimizer is created: set it on the optimizer
            # (Adam reads learning_rate_init each step, SGD learning_rate).
            model._optimizer.learning_rate_init = model._optimizer.learning_rate = learning_rate
        if best is not None:
            model.coefs_, model.intercepts_ = best
        return model

    def evaluate(self, model, x, y):
        import numpy as np

        proba = model.predict_proba(_flat(x))
        picked = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
        return {"accuracy": float((proba.argmax(axis=1) == y).mean()), "loss": float(-np.log(picked).mean())}


def _flat(x):
    return x.reshape(len(x), -1)


@hookimpl
def bench_backends(register):
    register(BackendSpec("sklearn", "scikit-learn's MLPClassifier (mlp; no dropout, batch norm or rmsprop)",
                         SklearnBackend, families=("mlp",), packages=("scikit-learn",), check_space=check_space))
