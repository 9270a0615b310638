"""LSTM and GRU layers with backpropagation through time, in Keras' gate layout.

LSTM gates (i, f, c, o), forget bias 1. GRU gates (z, r, h) with the reset gate applied after
the recurrent matmul (``reset_after``): one input bias and one recurrent bias. Input kernels
use the config's initialiser, recurrent kernels are orthogonal, as Keras and our torch
backend do.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer, Param, uniform_init


def orthogonal(rng: np.random.Generator, rows: int, cols: int, dtype) -> np.ndarray:
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    return np.ascontiguousarray((q.T if rows < cols else q), dtype=dtype)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Recurrent(Layer):
    """One direction over (n, steps, features): all states if ``sequences``, else the final one."""

    def __init__(self, rng, cell: str, n_in: int, units: int, init: str, sequences: bool, reverse: bool, dtype):
        self.cell, self.u, self.sequences, self.reverse = cell, units, sequences, reverse
        gates = 4 if cell == "lstm" else 3
        self.w = Param(uniform_init(rng, (n_in, gates * units), n_in, gates * units, init, dtype), kernel=True)
        self.r = Param(orthogonal(rng, units, gates * units, dtype))
        if cell == "lstm":
            bias = np.zeros(4 * units, dtype)
            bias[units:2 * units] = 1.0
        else:
            bias = np.zeros((2, 3 * units), dtype)  # input bias, recurrent bias
        self.b = Param(bias)
        self.params = [self.w, self.r, self.b]

    def forward(self, x, training):
        if self.reverse:
            x = x[:, ::-1]
        self.x = x
        n, steps, _ = x.shape
        u = self.u
        in_bias = self.b.value if self.cell == "lstm" else self.b.value[0]
        xw = x @ self.w.value + in_bias
        h = np.zeros((n, u), x.dtype)
        c = np.zeros((n, u), x.dtype)
        hs = np.empty((n, steps, u), x.dtype)
        self.cache = []
        for t in range(steps):
            if self.cell == "lstm":
                z = xw[:, t] + h @ self.r.value
                i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u])
                g, o = np.tanh(z[:, 2 * u:3 * u]), _sigmoid(z[:, 3 * u:])
                c_prev, c = c, f * c + i * g
                tc = np.tanh(c)
                self.cache.append((h, c_prev, i, f, g, o, tc))
                h = o * tc
            else:
                hu = h @ self.r.value + self.b.value[1]
                z = _sigmoid(xw[:, t, :u] + hu[:, :u])
                r = _sigmoid(xw[:, t, u:2 * u] + hu[:, u:2 * u])
                hh = np.tanh(xw[:, t, 2 * u:] + r * hu[:, 2 * u:])
                self.cache.append((h, z, r, hh, hu[:, 2 * u:]))
                h = z * h + (1 - z) * hh
            hs[:, t] = h
        if not self.sequences:
            return h
        return hs[:, ::-1] if self.reverse else hs

    def backward(self, grad):
        x = self.x
        n, steps, features = x.shape
        u = self.u
        if self.sequences:
            dhs = grad[:, ::-1] if self.reverse else grad
        else:
            dhs = np.zeros((n, steps, u), grad.dtype)
            dhs[:, -1] = grad
        gates = 4 if self.cell == "lstm" else 3
        dxw = np.empty((n, steps, gates * u), grad.dtype)
        dr = np.zeros_like(self.r.value)
        db_rec = np.zeros(3 * u, grad.dtype)
        dh_next = np.zeros((n, u), grad.dtype)
        dc_next = np.zeros((n, u), grad.dtype)
        rt = self.r.value.T
        for t in reversed(range(steps)):
            dh = dhs[:, t] + dh_next
            if self.cell == "lstm":
                h_prev, c_prev, i, f, g, o, tc = self.cache[t]
                dc = dh * o * (1 - tc * tc) + dc_next
                dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                     dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
                dc_next = dc * f
                dr += h_prev.T @ dz
                dh_next = dz @ rt
                dxw[:, t] = dz
            else:
                h_prev, z, r, hh, hu_h = self.cache[t]
                da_h = dh * (1 - z) * (1 - hh * hh)
                da_z = dh * (h_prev - hh) * z * (1 - z)
                da_r = da_h * hu_h * r * (1 - r)
                dxw[:, t] = np.concatenate([da_z, da_r, da_h], axis=1)
                dhu = np.concatenate([da_z, da_r, da_h * r], axis=1)
                dr += h_prev.T @ dhu
                db_rec += dhu.sum(axis=0)
                dh_next = dh * z + dhu @ rt
        flat = dxw.reshape(-1, gates * u)
        self.w.grad[...] = x.reshape(-1, features).T @ flat
        self.r.grad[...] = dr
        if self.cell == "lstm":
            self.b.grad[...] = flat.sum(axis=0)
        else:
            self.b.grad[0] = flat.sum(axis=0)
            self.b.grad[1] = db_rec
        dx = dxw @ self.w.value.T
        return dx[:, ::-1] if self.reverse else dx


class Bidirectional(Layer):
    """A forward and a reversed layer, outputs concatenated on the last axis."""

    def __init__(self, forward: Recurrent, backward: Recurrent):
        self.fw, self.bw = forward, backward
        self.params = forward.params + backward.params

    def forward(self, x, training):
        return np.concatenate([self.fw.forward(x, training), self.bw.forward(x, training)], axis=-1)

    def backward(self, grad):
        u = self.fw.u
        return self.fw.backward(grad[..., :u]) + self.bw.backward(grad[..., u:])
