"""Adam, SGD (momentum, Nesterov) and RMSprop, in PyTorch's formulation."""

from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, params, config):
        self.params, self.c = params, config
        self.lr = config.learning_rate
        self.t = 0
        self.state = [tuple(np.zeros_like(p.value) for _ in range(2)) for p in params]

    def step(self) -> None:
        self.t += 1
        c, lr = self.c, self.lr
        for p, (s1, s2) in zip(self.params, self.state):
            g = p.grad
            if c.optimizer == "adam":
                s1 *= c.beta1
                s1 += (1 - c.beta1) * g
                s2 *= c.beta2
                s2 += (1 - c.beta2) * g * g
                m_hat = s1 / (1 - c.beta1 ** self.t)
                v_hat = s2 / (1 - c.beta2 ** self.t)
                p.value -= lr * m_hat / (np.sqrt(v_hat) + c.epsilon)
            elif c.optimizer == "sgd":
                if c.momentum > 0:
                    s1 *= c.momentum
                    s1 += g
                    p.value -= lr * (g + c.momentum * s1 if c.nesterov else s1)
                else:
                    p.value -= lr * g
            else:  # rmsprop
                s2 *= c.rho
                s2 += (1 - c.rho) * g * g
                update = g / (np.sqrt(s2) + c.epsilon)
                if c.momentum > 0:
                    s1 *= c.momentum
                    s1 += update
                    update = s1
                p.value -= lr * update
