"""Every built-in backend and strategy runs the public contract suites."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from automl_bench._manager import get_plugin_manager
from automl_bench.space import Condition, FixedParam, FloatParam, IntParam, SearchSpace
from automl_bench.testing import (
    BackendContract,
    PrunerContract,
    ReplayBackendContract,
    StrategyContract,
    TransferContract,
)

HOST = get_plugin_manager()


class TestRandomStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        return HOST.strategy("random").factory(space=space, seed=seed)


class TestGridStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        return HOST.strategy("grid").factory(space=space, seed=seed, points=2, shuffle=True)

    def capacity(self):
        return len(self.space.grid(2))

    def test_grid_is_exhausted_and_then_stops(self):
        strategy = self.make_strategy(self.space, 0)
        proposals = self.drive(strategy, range(10_000))
        # 2 x 2 x 2 x 2 x (relu, tanh x 2 momenta, elu x 2 momenta) x 1
        assert len(proposals) == 2 * 2 * 2 * 2 * 5 * 1
        assert len({tuple(sorted(p.items())) for p in proposals}) == len(proposals)
        assert strategy.ask(len(proposals)) is None

    def test_unshuffled_grid_is_in_product_order(self):
        strategy = HOST.strategy("grid").factory(space=self.space, seed=0, points=2, shuffle=False)
        first, second = strategy.ask(0), strategy.ask(1)
        assert first["activation"] == "relu" and second["activation"] == "tanh"


def learns_after_startup(contract) -> None:
    """Past its random start-up, a model-based strategy concentrates near the optimum.

    The contract objective peaks at learning_rate 0.01; random draws land within a quarter
    decade of it (in log space) 1/6 of the time.
    """
    import math

    proposals = contract.drive(contract.make_strategy(contract.space, 0), range(40))
    near = sum(abs(math.log10(p["learning_rate"]) + 2) < 0.25 for p in proposals[20:])
    assert near >= 8, f"{near} of the last 20 proposals near the optimum; random search expects 3.3"


class TestTpeStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        spec = HOST.strategy("tpe")
        return spec.factory(space=space, seed=seed, **{**spec.options, "n_startup_trials": 4})

    test_learns_after_startup = learns_after_startup


class TestGpStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        pytest.importorskip("torch")
        spec = HOST.strategy("gp")
        return spec.factory(space=space, seed=seed, **{**spec.options, "n_startup_trials": 4})

    test_learns_after_startup = learns_after_startup


class TestNGOptStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        spec = HOST.strategy("ngopt")
        return spec.factory(space=space, seed=seed, **{**spec.options, "budget": 40})

    test_learns_after_startup = learns_after_startup


def test_ngopt_proposes_the_same_in_any_process():
    """nevergrad, seeded, proposes the same sequence whatever the process's string hashing (a
    resumed run is a new process)."""
    import os
    import subprocess
    import sys

    script = """
from automl_bench._manager import get_plugin_manager
from automl_bench.testing import StrategyContract
contract = StrategyContract()
strategy = get_plugin_manager().strategy("ngopt").factory(space=contract.space, seed=3, budget=30)
print(contract.drive(strategy, range(30)))
"""
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2)]
    assert runs[0] == runs[1] and runs[0].count("learning_rate") == 30


class TestGeneticStrategy(StrategyContract):
    trials = 16  # past the first generation of 6

    def make_strategy(self, space, seed):
        spec = HOST.strategy("genetic")
        return spec.factory(space=space, seed=seed, **{**spec.options, "population_size": 6})


class TestNsga2Strategy(StrategyContract):
    trials = 24  # past its first generation of 10
    directions = ("maximize", "minimize")

    def make_strategy(self, space, seed):
        spec = HOST.strategy("nsga2")
        return spec.factory(space=space, seed=seed, directions=self.directions, **spec.options)


class TestNsga3Strategy(TestNsga2Strategy):
    directions = ("maximize", "minimize", "minimize")

    def make_strategy(self, space, seed):
        spec = HOST.strategy("nsga3")
        return spec.factory(space=space, seed=seed, directions=self.directions, **spec.options)


class TestMotpeStrategy(StrategyContract):
    trials = 16  # past its 10 random start-up trials
    directions = ("maximize", "minimize")

    def make_strategy(self, space, seed):
        spec = HOST.strategy("motpe")
        return spec.factory(space=space, seed=seed, directions=self.directions, **spec.options)


class TestRandomStrategyWithSeveralObjectives(TestRandomStrategy):
    directions = ("maximize", "minimize")

    def make_strategy(self, space, seed):
        return HOST.strategy("random").factory(space=space, seed=seed, directions=self.directions)


class TestHyperoptStrategy(StrategyContract):
    def make_strategy(self, space, seed):
        spec = HOST.strategy("tpe-hyperopt")
        return spec.factory(space=space, seed=seed, **{**spec.options, "n_startup_trials": 4})

    def test_conditions_on_numeric_parents_are_rejected_at_validation(self):
        space = SearchSpace((IntParam("layers", 1, 3),
                             IntParam("units", 8, 64, when=Condition("layers", minimum=2))))
        assert HOST.strategy("tpe-hyperopt").check_space(space) == [
            "strategy 'tpe-hyperopt' cannot search 'units': hyperopt expresses conditions only on a categorical "
            "parent's values, not 'layers >= 2'; use tpe or genetic"]
        assert HOST.strategy("tpe-hyperopt").check_space(self.space) == []

    test_learns_after_startup = learns_after_startup


class TestCmaesStrategy(StrategyContract):
    space = SearchSpace((
        IntParam("layers", 1, 4),
        IntParam("units", 8, 256, log=True),
        FloatParam("learning_rate", 1e-4, 1e-1, log=True),
        FloatParam("dropout", 0.0, 0.5),
        FixedParam("epochs", 3),
    ))

    def make_strategy(self, space, seed):
        spec = HOST.strategy("cmaes")
        return spec.factory(space=space, seed=seed, **spec.options)

    def test_categorical_and_conditional_parameters_are_rejected_at_validation(self):
        problems = HOST.strategy("cmaes").check_space(StrategyContract.space)
        assert problems == [
            "strategy 'cmaes' cannot search categorical parameter 'activation' (CMA-ES needs numeric ranges); "
            "fix it to one value or use tpe or genetic",
            "strategy 'cmaes' cannot search conditional parameter 'momentum' (CMA-ES needs a fixed set of "
            "dimensions); use tpe or genetic",
        ]


class TestMedianPruner(PrunerContract):
    def make_pruner(self):
        spec = HOST.pruner("median")
        return spec.factory(**spec.options)


class TestAshaPruner(PrunerContract):
    def make_pruner(self):
        spec = HOST.pruner("asha")
        return spec.factory(**spec.options)


class TestHyperbandPruner(PrunerContract):
    def make_pruner(self):
        spec = HOST.pruner("hyperband")
        return spec.factory(**{**spec.options, "max_resource": self.epochs})


class TestTorchBackend(BackendContract):
    def make_backend(self):
        return HOST.backend("torch").factory()

    def load_exported(self, path):
        """PyTorch's own loader and ``load_state_dict``; the module comes from the saved config."""
        import torch

        from automl_bench._plugins.torch_backend import arrange_input, build_model
        from automl_bench.backend import config_from_dict

        saved = torch.load(path, weights_only=True)  # tensors, numbers and strings only: no code runs
        config = config_from_dict(saved["config"])
        model = build_model(torch, config, tuple(saved["input_shape"]), saved["n_classes"], saved["vocab_size"])
        model.load_state_dict(saved["state_dict"])
        model.eval()
        return lambda x: model(arrange_input(x, config.family)).detach().numpy()

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

    def load_exported(self, path):
        from automl_bench._files.data import as_model_input
        from automl_bench._plugins.numpy_backend import load_model

        net = load_model(path)  # numpy.load, no pickle
        return lambda x: net.forward(as_model_input(x, net.config.family), training=False)


@pytest.mark.slow  # the whole contract on real Keras, a subprocess per engine: a minute and a half
@pytest.mark.parametrize("engine", ["tensorflow", "torch"])
def test_keras_backends_pass_the_contract(engine):
    """Keras fixes its engine at import, so each engine's contract runs in its own pytest process."""
    env = {**os.environ, "KERAS_BACKEND": engine, "TF_CPP_MIN_LOG_LEVEL": "3"}
    here = Path(__file__).parent
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(here / "keras_contract.py")],
                          capture_output=True, text=True, env=env, cwd=here.parent, timeout=900)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    summary = re.search(r"^(\d+) passed(, \d+ skipped)?(, \d+ warnings?)? in ", done.stdout, re.M)
    assert summary and int(summary.group(1)) >= 40, done.stdout[-2000:]  # backend, transfer and size checks


class TestTorchTransfer(TransferContract):
    def make_backend(self):
        return HOST.backend("torch").factory()


class TestReplayBackend(ReplayBackendContract):
    def make_backend(self):
        from automl_bench._plugins.replay_backend import ReplayBackend

        return ReplayBackend()
