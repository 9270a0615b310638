"""Early stopping and reduce-LR-on-plateau, decided in one place for every backend.

Each backend calls `EpochControl.after_epoch` with the epoch's validation metrics and applies
the returned learning rate and stop flag, so the same config stops at the same epoch and
decays the same way on every framework. The rules are Keras' ``EarlyStopping`` and
``ReduceLROnPlateau`` (min_delta 1e-4, no cooldown). ``improved`` says the epoch just trained
is the best so far by ``es_monitor`` (beyond ``es_min_delta``): a backend keeps a copy of its
weights then, and with ``restore_best`` ends training with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from automl_bench._model.config import ModelConfig

PLATEAU_MIN_DELTA = 1e-4


@dataclass(frozen=True)
class Decision:
    stop: bool
    learning_rate: float
    #: this epoch is the best so far by ``es_monitor``: with ``restore_best``, keep its weights
    improved: bool = False


class EpochControl:
    def __init__(self, config: ModelConfig):
        self.config = config
        self.learning_rate = config.learning_rate
        self._es_best = math.inf if config.es_monitor == "val_loss" else -math.inf
        self._es_wait = 0
        self._lr_best = math.inf
        self._lr_wait = 0

    def after_epoch(self, metrics: Mapping[str, float]) -> Decision:
        c = self.config
        stop = False
        value = metrics[c.es_monitor]
        better = (value < self._es_best - c.es_min_delta) if c.es_monitor == "val_loss" \
            else (value > self._es_best + c.es_min_delta)
        if better:
            self._es_best, self._es_wait = value, 0
        elif c.early_stopping:
            self._es_wait += 1
            stop = self._es_wait >= c.es_patience
        if c.reduce_lr:
            loss = metrics["val_loss"]
            if loss < self._lr_best - PLATEAU_MIN_DELTA:
                self._lr_best, self._lr_wait = loss, 0
            else:
                self._lr_wait += 1
                if self._lr_wait >= c.lr_patience and self.learning_rate > c.min_lr:
                    self.learning_rate = max(self.learning_rate * c.lr_factor, c.min_lr)
                    self._lr_wait = 0
        return Decision(stop, self.learning_rate, improved=better)
