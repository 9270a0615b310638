"""Every built-in backend and strategy runs the public contract suites."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from automl_bench.manager import get_plugin_manager
from automl_bench.testing import BackendContract, StrategyContract

HOST = get_plugin_manager()


class TestRandomStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        return HOST.strategy("random").factory(space=space, seed=seed)


class TestGridStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        return HOST.strategy("grid").factory(space=space, seed=seed, points=2, shuffle=True)

    def test_grid_is_exhausted_and_then_stops(self):
        strategy = self.make_strategy(self.space, 0)
        proposals = self.drive(strategy, range(10_000))
        assert len(proposals) == 2 * 2 * 2 * 2 * 3 * 1
        assert len({tuple(sorted(p.items())) for p in proposals}) == len(proposals)
        assert strategy.ask(len(proposals)) is None

    def test_unshuffled_grid_is_in_product_order(self):
        strategy = HOST.strategy("grid").factory(space=self.space, seed=0, points=2, shuffle=False)
        first, second = strategy.ask(0), strategy.ask(1)
        assert first["activation"] == "relu" and second["activation"] == "tanh"


class TestTorchBackend(BackendContract):
    def make_backend(self):
        return HOST.backend("torch").factory()

    def test_cuda_request_without_a_gpu_is_an_error_not_a_silent_fallback(self):
        import torch

        from automl_bench.errors import BackendUnavailableError

        backend = self.make_backend()
        if torch.cuda.is_available():
            backend.setup(threads=1, device="cuda")
            assert backend.environment()["device"].startswith("cuda")
        else:
            with pytest.raises(BackendUnavailableError, match="sees no GPU"):
                backend.setup(threads=1, device="cuda")
            backend.setup(threads=1, device="auto")  # auto falls back, and says so
            assert backend.environment()["device"].startswith("cpu")


class TestNumpyBackend(BackendContract):
    def make_backend(self):
        return HOST.backend("numpy").factory()


@pytest.mark.parametrize("engine", ["tensorflow", "torch"])
def test_keras_backends_pass_the_contract(engine):
    """Keras fixes its engine at import, so each engine's contract runs in its own pytest process."""
    env = {**os.environ, "KERAS_BACKEND": engine, "TF_CPP_MIN_LOG_LEVEL": "3"}
    here = Path(__file__).parent
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(here / "keras_contract.py")],
                          capture_output=True, text=True, env=env, cwd=here.parent, timeout=900)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    summary = re.search(r"^(\d+) passed(, \d+ warnings?)? in ", done.stdout, re.M)
    assert summary and int(summary.group(1)) >= 20, done.stdout[-2000:]
