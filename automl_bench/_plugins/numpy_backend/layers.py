"""Feed-forward layers with hand-written forward and backward passes.

Every layer keeps what its backward pass needs from the last forward pass. ``params`` lists
``Param`` objects (value, gradient, and whether L2 applies). Images are NHWC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import erf

from automl_bench.backend import BN_EPSILON, BN_MOMENTUM


@dataclass(eq=False)
class Param:
    value: np.ndarray
    kernel: bool = False  # L2 applies to kernels only
    grad: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.grad = np.zeros_like(self.value)


class Layer:
    params: list[Param] = []

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def uniform_init(rng: np.random.Generator, shape, fan_in: int, fan_out: int, kind: str, dtype) -> np.ndarray:
    """he_uniform (limit sqrt(6 / fan_in)) or glorot_uniform (limit sqrt(6 / (fan_in + fan_out)))."""
    limit = np.sqrt(6.0 / fan_in) if kind == "he" else np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


class Dense(Layer):
    def __init__(self, rng, n_in: int, n_out: int, init: str, dtype):
        self.w = Param(uniform_init(rng, (n_in, n_out), n_in, n_out, init, dtype), kernel=True)
        self.b = Param(np.zeros(n_out, dtype))
        self.params = [self.w, self.b]

    def forward(self, x, training):
        self.x = x
        return x @ self.w.value + self.b.value

    def backward(self, grad):
        self.w.grad[...] = self.x.T @ grad
        self.b.grad[...] = grad.sum(axis=0)
        return grad @ self.w.value.T


class Activation(Layer):
    def __init__(self, name: str):
        self.name = name
        self.params = []

    def forward(self, x, training):
        self.x = x
        n = self.name
        if n == "relu":
            self.y = np.maximum(x, 0)
        elif n == "tanh":
            self.y = np.tanh(x)
        elif n == "sigmoid":
            self.y = 1 / (1 + np.exp(-x))
        elif n == "elu":
            self.y = np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
        else:  # exact gelu: x * Phi(x)
            self.cdf = 0.5 * (1 + erf(x / np.sqrt(2)))
            self.y = x * self.cdf
        return self.y

    def backward(self, grad):
        n, x, y = self.name, self.x, self.y
        if n == "relu":
            return grad * (x > 0)
        if n == "tanh":
            return grad * (1 - y * y)
        if n == "sigmoid":
            return grad * y * (1 - y)
        if n == "elu":
            return grad * np.where(x > 0, 1, y + 1)
        pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return grad * (self.cdf + x * pdf)


class Dropout(Layer):
    def __init__(self, rate: float, rng: np.random.Generator):
        self.rate, self.rng = rate, rng
        self.params = []

    def forward(self, x, training):
        if not training or self.rate == 0:
            self.mask = None
            return x
        self.mask = (self.rng.random(x.shape) >= self.rate).astype(x.dtype) / (1 - self.rate)
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask


class BatchNorm(Layer):
    """Normalises over every axis but the last (features or channels)."""

    def __init__(self, n: int, dtype):
        self.gamma, self.beta = Param(np.ones(n, dtype)), Param(np.zeros(n, dtype))
        self.mean, self.var = np.zeros(n, dtype), np.ones(n, dtype)
        self.params = [self.gamma, self.beta]

    def forward(self, x, training):
        axes = tuple(range(x.ndim - 1))
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            self.mean = BN_MOMENTUM * self.mean + (1 - BN_MOMENTUM) * mean
            self.var = BN_MOMENTUM * self.var + (1 - BN_MOMENTUM) * var
        else:
            mean, var = self.mean, self.var
        self.inv = 1 / np.sqrt(var + BN_EPSILON)
        self.xhat = (x - mean) * self.inv
        return self.gamma.value * self.xhat + self.beta.value

    def backward(self, grad):
        axes = tuple(range(grad.ndim - 1))
        m = grad.size // grad.shape[-1]
        self.gamma.grad[...] = (grad * self.xhat).sum(axis=axes)
        self.beta.grad[...] = grad.sum(axis=axes)
        g = grad * self.gamma.value
        return self.inv / m * (m * g - g.sum(axis=axes) - self.xhat * (g * self.xhat).sum(axis=axes))


class Conv2D(Layer):
    """'same' padding, stride 1, through im2col: one matrix product per batch."""

    def __init__(self, rng, c_in: int, filters: int, k: int, init: str, dtype):
        fan_in, fan_out = k * k * c_in, k * k * filters
        self.k = k
        self.w = Param(uniform_init(rng, (k, k, c_in, filters), fan_in, fan_out, init, dtype), kernel=True)
        self.b = Param(np.zeros(filters, dtype))
        self.params = [self.w, self.b]

    def forward(self, x, training):
        n, h, w, c = x.shape
        p = self.k // 2
        padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        windows = sliding_window_view(padded, (self.k, self.k), axis=(1, 2))  # n, h, w, c, k, k
        self.cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, self.k * self.k * c)
        self.shape = x.shape
        out = self.cols @ self.w.value.reshape(-1, self.w.value.shape[-1]) + self.b.value
        return out.reshape(n, h, w, -1)

    def backward(self, grad):
        n, h, w, c = self.shape
        k, p = self.k, self.k // 2
        g = grad.reshape(n * h * w, -1)
        self.w.grad[...] = (self.cols.T @ g).reshape(self.w.value.shape)
        self.b.grad[...] = g.sum(axis=0)
        dcols = (g @ self.w.value.reshape(-1, g.shape[1]).T).reshape(n, h, w, k, k, c)
        dpadded = np.zeros((n, h + 2 * p, w + 2 * p, c), grad.dtype)
        for i in range(k):  # col2im: k*k vectorised adds
            for j in range(k):
                dpadded[:, i:i + h, j:j + w, :] += dcols[:, :, :, i, j, :]
        return dpadded[:, p:p + h, p:p + w, :]


class Pool2(Layer):
    """2x2 max or average pooling, stride 2; odd trailing rows and columns are dropped (floor)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.params = []

    def forward(self, x, training):
        n, h, w, c = x.shape
        h2, w2 = h // 2, w // 2
        self.shape = x.shape
        blocks = x[:, :h2 * 2, :w2 * 2, :].reshape(n, h2, 2, w2, 2, c).transpose(0, 1, 3, 5, 2, 4)
        blocks = blocks.reshape(n, h2, w2, c, 4)
        if self.kind == "avg":
            return blocks.mean(axis=-1)
        self.arg = blocks.argmax(axis=-1)
        return np.take_along_axis(blocks, self.arg[..., None], axis=-1)[..., 0]

    def backward(self, grad):
        n, h, w, c = self.shape
        h2, w2 = h // 2, w // 2
        if self.kind == "avg":
            blocks = np.repeat(grad[..., None] / 4, 4, axis=-1)
        else:
            blocks = np.zeros(grad.shape + (4,), grad.dtype)
            np.put_along_axis(blocks, self.arg[..., None], grad[..., None], axis=-1)
        blocks = blocks.reshape(n, h2, w2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, h2 * 2, w2 * 2, c)
        out = np.zeros(self.shape, grad.dtype)
        out[:, :h2 * 2, :w2 * 2, :] = blocks
        return out


class Flatten(Layer):
    params: list[Param] = []

    def forward(self, x, training):
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Embedding(Layer):
    """Token ids (n, steps) -> learned vectors (n, steps, dim); the first layer, so no input gradient."""

    def __init__(self, rng, vocab_size: int, dim: int, dtype):
        self.w = Param(rng.uniform(-0.05, 0.05, size=(vocab_size, dim)).astype(dtype))
        self.params = [self.w]

    def forward(self, x, training):
        self.ids = x
        return self.w.value[x]

    def backward(self, grad):
        self.w.grad[...] = 0
        np.add.at(self.w.grad, self.ids, grad)
        return None
