"""Every built-in backend and strategy runs the public contract suites."""

from __future__ import annotations

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

    def test_sgd_and_dropout_configs_train(self):
        model, reports = self.fit(optimizer="sgd", momentum=0.9, dropout=0.2, layers=2, activation="tanh",
                                  learning_rate=0.05)
        assert self.backend.evaluate(model, self.data.x_val, self.data.y_val)["accuracy"] > 0.5
        assert reports[-1].metrics["train_loss"] < reports[0].metrics["train_loss"]

    def test_cuda_request_without_a_gpu_is_an_error_not_a_silent_fallback(self):
        import pytest
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
