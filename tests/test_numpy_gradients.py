"""The NumPy backend's hand-written backward passes agree with central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from automl_bench._files.data import as_model_input as arrange
from automl_bench._model.config import build_config
from automl_bench._plugins.numpy_backend.network import Network, cross_entropy
from automl_bench._plugins.numpy_backend.optimizers import Optimizer

CASES = [
    ("mlp", {"layers": 2, "units": 5, "activation": "relu", "l2": 0.01}, (6,)),
    ("mlp", {"layers": 1, "units": 4, "activation": "tanh", "batch_norm": True}, (6,)),
    ("mlp", {"layers": 2, "units": 4, "activation": "sigmoid", "initializer": "glorot"}, (3, 2)),
    ("mlp", {"layers": 1, "units": 4, "activation": "elu"}, (6,)),
    ("mlp", {"layers": 1, "units": 4, "activation": "gelu", "batch_norm": True, "l2": 0.1}, (6,)),
    ("cnn", {"conv_blocks": 2, "filters": 2, "kernel_size": 3, "pooling": "max", "batch_norm": True,
             "dense_units": 4, "l2": 0.01}, (6, 6, 1)),
    ("cnn", {"conv_blocks": 1, "filters": 3, "kernel_size": 5, "pooling": "avg", "dense_units": 3,
             "activation": "tanh"}, (5, 5, 2)),
    ("rnn", {"cell": "lstm", "units": 3, "rnn_layers": 2, "bidirectional": True, "l2": 0.01}, (4, 3)),
    ("rnn", {"cell": "gru", "units": 3, "rnn_layers": 2, "bidirectional": True}, (4, 3)),
    ("rnn", {"cell": "gru", "units": 4, "rnn_layers": 1}, (5, 2)),
]


@pytest.mark.parametrize("family, params, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_gradients_match_finite_differences(family, params, shape):
    rng = np.random.default_rng(1)
    x, y = arrange(rng.normal(size=(5, *shape)), family), rng.integers(0, 3, size=5)
    net = Network(build_config(family, params), x.shape[1:], 3, seed=0, dtype=np.float64)

    def loss() -> float:
        return cross_entropy(net.forward(x, training=True), y)[0] + net.penalty()

    net.loss_and_grads(x, y)
    checked = 0
    for param in net.params:
        analytic = param.grad.copy()
        flat = param.value.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 6), replace=False):
            original = flat[i]
            flat[i] = original + 1e-6
            up = loss()
            flat[i] = original - 1e-6
            down = loss()
            flat[i] = original
            numeric = (up - down) / 2e-6
            assert analytic.reshape(-1)[i] == pytest.approx(numeric, rel=1e-4, abs=1e-7), (param.value.shape, i)
            checked += 1
    assert checked >= 6 * len(net.params) // 2


@pytest.mark.parametrize("optimizer, extra", [("adam", {}), ("sgd", {"momentum": 0.9, "nesterov": True}),
                                              ("sgd", {}), ("rmsprop", {"momentum": 0.5})])
def test_optimizers_match_pytorch(optimizer, extra):
    torch = pytest.importorskip("torch")
    from automl_bench._plugins.numpy_backend.layers import Param
    from automl_bench._plugins.torch_backend import make_optimizer

    config = build_config("mlp", {"optimizer": optimizer, "learning_rate": 0.05, **extra})
    start = np.random.default_rng(0).normal(size=(3, 4))
    grads = np.random.default_rng(1).normal(size=(5, 3, 4))
    ours = Param(start.copy())
    opt = Optimizer([ours], config)
    theirs = torch.nn.Parameter(torch.tensor(start))
    topt = make_optimizer(torch, config, [theirs])
    for g in grads:
        ours.grad[...] = g
        opt.step()
        theirs.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours.value, theirs.detach().numpy(), rtol=1e-6, atol=1e-9)


def test_embedding_gradients_match_finite_differences():
    """Token ids -> embedding -> LSTM: the embedding's scattered gradient, repeated ids included."""
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 6, size=(5, 4)), rng.integers(0, 3, size=5)
    x[0, :2] = 3  # one id twice in a row: its gradient must accumulate
    net = Network(build_config("rnn", {"cell": "lstm", "units": 3, "embedding": 4}), (4,), 3, seed=0,
                  dtype=np.float64, vocab_size=6)
    net.loss_and_grads(x, y)
    table = net.params[0]
    assert table.value.shape == (6, 4)
    analytic = table.grad.copy()
    for row, col in [(3, 0), (3, 2), (int(x[1, 3]), 1), (5 if 5 not in x else 0, 3)]:
        original = table.value[row, col]
        table.value[row, col] = original + 1e-6
        up = cross_entropy(net.forward(x, training=True), y)[0]
        table.value[row, col] = original - 1e-6
        down = cross_entropy(net.forward(x, training=True), y)[0]
        table.value[row, col] = original
        assert analytic[row, col] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-9)
