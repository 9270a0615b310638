"""A network of hand-written layers built from the shared model config."""

from __future__ import annotations

import numpy as np

from .layers import Activation, BatchNorm, Conv2D, Dense, Dropout, Embedding, Flatten, Layer, Param, Pool2
from .recurrent import Bidirectional, Recurrent


class Network:
    def __init__(self, config, input_shape: tuple[int, ...], n_classes: int, seed: int, dtype=np.float32,
                 vocab_size: int | None = None):
        init_rng = np.random.default_rng([seed, 0])
        self.dropout_rng = np.random.default_rng([seed, 1])
        self.config, self.dtype, self.vocab_size = config, dtype, vocab_size
        self.input_shape, self.n_classes = tuple(input_shape), n_classes
        self.layers: list[Layer] = []
        width = self._body(config, input_shape, init_rng)
        self.layers.append(Dense(init_rng, width, n_classes, config.initializer, dtype))
        self.params: list[Param] = [p for layer in self.layers for p in layer.params]
        self.kernels = [p for p in self.params if p.kernel]

    def _dense_block(self, rng, n_in: int, n_out: int) -> None:
        c = self.config
        self.layers.append(Dense(rng, n_in, n_out, c.initializer, self.dtype))
        if c.batch_norm:
            self.layers.append(BatchNorm(n_out, self.dtype))
        self.layers.append(Activation(c.activation))
        if c.dropout > 0:
            self.layers.append(Dropout(c.dropout, self.dropout_rng))

    def _body(self, c, input_shape, rng) -> int:
        if c.family == "mlp":
            width = int(np.prod(input_shape))
            for units in c.hidden_units:
                self._dense_block(rng, width, units)
                width = units
            return width
        if c.family == "cnn":
            h, w, channels = input_shape
            for filters in c.block_filters:
                self.layers.append(Conv2D(rng, channels, filters, c.kernel_size, c.initializer, self.dtype))
                if c.batch_norm:
                    self.layers.append(BatchNorm(filters, self.dtype))
                self.layers += [Activation(c.activation), Pool2(c.pooling)]
                channels, h, w = filters, h // 2, w // 2
            self.layers.append(Flatten())
            self._dense_block(rng, channels * h * w, c.dense_units)
            return c.dense_units
        width = input_shape[-1]
        if c.embedding:
            self.layers.append(Embedding(rng, self.vocab_size, c.embedding, self.dtype))
            width = c.embedding
        for i in range(c.rnn_layers):
            sequences = i < c.rnn_layers - 1
            make = lambda reverse: Recurrent(rng, c.cell, width, c.units, c.initializer, sequences, reverse, self.dtype)  # noqa: E731
            self.layers.append(Bidirectional(make(False), make(True)) if c.bidirectional else make(False))
            width = c.units * (2 if c.bidirectional else 1)
        if c.dropout > 0:
            self.layers.append(Dropout(c.dropout, self.dropout_rng))
        return width

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)  # None after the embedding: token ids have no gradient

    def penalty(self) -> float:
        return self.config.l2 * sum(float((p.value * p.value).sum()) for p in self.kernels) if self.config.l2 else 0.0

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> float:
        """Training loss (mean cross-entropy plus L2) of one batch; fills every parameter's grad."""
        logits = self.forward(x, training=True)
        loss, dlogits = cross_entropy(logits, y)
        self.backward(dlogits)
        if self.config.l2:
            for p in self.kernels:
                p.grad += 2 * self.config.l2 * p.value
        return loss + self.penalty()


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs = exp / exp.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(probs[np.arange(n), y] + 1e-30).mean())
    probs[np.arange(n), y] -= 1
    return loss, probs / n
