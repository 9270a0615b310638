"""The same hyperparameters mean the same model: backends agree on digits within their spread
(on an MLP with a different width per layer, so per-layer sizes are covered too)."""

from __future__ import annotations

import textwrap

import pytest

from automl_bench._manager import get_plugin_manager
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite

SUITE = """
name = "agreement"
seeds = [0, 1, 2, 3, 4]

[budget]
max_trials = 1

[matrix]
backends = ["torch", "keras", "keras-torch", "numpy"]
strategies = ["grid"]

[space]   # one fixed configuration: every seed trains it once per backend
units = [64, 32]          # per layer: 64-32-10
learning_rate = 0.003
batch_size = 32
epochs = 8

[[tasks]]
name = "digits-mlp"
dataset = "digits"
"""


@pytest.mark.slow
def test_backends_agree_on_digits_within_their_spread(tmp_path):
    path = tmp_path / "agreement.toml"
    path.write_text(textwrap.dedent(SUITE))
    host = get_plugin_manager()
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path))
    trials = results.trials
    assert (trials["status"] == "ok").all(), trials[["backend", "error"]]
    stats = trials.groupby("backend")["val_accuracy"].agg(["mean", "std"])
    print(stats)
    assert (stats["mean"] > 0.9).all()
    for a in stats.index:
        for b in stats.index:
            gap = abs(stats.loc[a, "mean"] - stats.loc[b, "mean"])
            spread = 2 * max(stats.loc[a, "std"], stats.loc[b, "std"])
            assert gap <= spread + 0.005, f"{a} vs {b}: means differ by {gap:.4f}, spread {spread:.4f}\n{stats}"
