"""Training with Keras the way every backend trains: the optimizer from the config, the callback
that reports each epoch and applies the shared `EpochControl`, and scoring."""

from __future__ import annotations

from automl_bench import EpochReport

#: Examples scored at once.
EVAL_BATCH = 2048


def report_callback(keras):
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
