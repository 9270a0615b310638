"""Contract tests that every backend, strategy and pruner runs: ours, and any third-party plugin's.

Subclass in your plugin's tests and say how to build your component::

    from automl_bench.testing import BackendContract, ExecutorContract, PrunerContract, StrategyContract, TransferContract

    class TestMyBackend(BackendContract):
        families = ("mlp",)             # the families your BackendSpec declares
        def make_backend(self):
            return MyBackend()

    class TestMyStrategy(StrategyContract):
        def make_strategy(self, space, seed):
            return MyStrategy(space=space, seed=seed)

    class TestMyPruner(PrunerContract):
        def make_pruner(self):
            return MyPruner()

    class TestMyTransfer(TransferContract):  # a backend that runs transfer tasks
        def make_backend(self):
            return MyBackend()

    class TestMyExecutor(ExecutorContract):
        def make_executor(self, settings):
            return MyExecutor(settings)

pytest then runs every ``test_*`` method below against your component. What each checks is
exactly what the bases in `automl_bench._api.interfaces` promise; docs/how-to/plugins.md lists them.

Each contract lives in a module of its own (`automl_bench.testing.backend`, ``.transfer``,
``.strategy``, ``.pruner``, ``.executor``, ``.dataset``, ``.reporter``, ``.report_section``); this
module gathers them.
"""

from automl_bench.testing.backend import BackendContract
from automl_bench.testing.data import digit_classes, tiny_digits, tiny_tokens
from automl_bench.testing.dataset import DatasetContract
from automl_bench.testing.executor import ExecutorContract
from automl_bench.testing.pruner import PrunerContract
from automl_bench.testing.report_section import ReportSectionContract
from automl_bench.testing.reporter import ReporterContract
from automl_bench.testing.strategy import StrategyContract
from automl_bench.testing.transfer import TransferContract

__all__ = ["BackendContract", "DatasetContract", "ExecutorContract", "PrunerContract", "ReportSectionContract",
           "ReporterContract", "StrategyContract", "TransferContract", "digit_classes", "tiny_digits", "tiny_tokens"]
