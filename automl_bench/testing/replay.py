"""The contract every backend that replays tables keeps (``BackendSpec(replays=True)``):
`ReplayBackendContract`.

A replay backend trains nothing, so `BackendContract`'s checks (fitting digits) do not apply to
it; these do. Subclass it in your plugin's tests and define ``make_backend``; the checks replay a
small table written here: three configurations of one parameter, two recorded seeds, four epochs
each (one configuration recorded as failed), with final validation and test scores.
"""

from __future__ import annotations

from typing import Any

import pytest

from automl_bench import Backend, EpochReport
from automl_bench.tables import PARAM, Table
from automl_bench.testing.backend import BackendUnderTest

#: The table's configurations: value of ``width`` -> status on every seed.
CONFIGS = {16: "ok", 32: "ok", 64: "failed"}
SEEDS = (0, 1)
EPOCHS = 4


def _accuracy(width: int, seed: int, epoch: int) -> float:
    return round(0.5 + width / 256 + seed / 100 + epoch / 20, 6)


def contract_table() -> Table:
    """The table every check replays (in memory: the backend is handed a `Table`)."""
    import pandas as pd

    rows = []
    for width, status in CONFIGS.items():
        for seed in SEEDS:
            for epoch in range(1, EPOCHS + 1):
                accuracy = _accuracy(width, seed, epoch)
                rows.append({PARAM + "width": width, "seed": seed, "trial_seed": 100 + seed, "epoch": epoch,
                             "seconds": 0.25 * epoch, "status": status, "val_accuracy": accuracy,
                             "val_loss": round(1 - accuracy, 6), "final_val_accuracy": _accuracy(width, seed, EPOCHS),
                             "final_val_loss": round(1 - _accuracy(width, seed, EPOCHS), 6),
                             "test_accuracy": _accuracy(width, seed, EPOCHS) - 0.01, "eval_seconds": 0.5})
    space = [{"name": "width", "type": "categorical", "values": list(CONFIGS), "log": False}]
    return Table(pd.DataFrame(rows), {"task": "contract", "model": "mlp", "dataset": {"name": "contract"},
                                      "space": space})


class ReplayBackendContract(BackendUnderTest):
    """What every backend that replays a table must do. Define `make_backend`."""

    @pytest.fixture(scope="class")
    @classmethod
    def table(cls) -> Table:
        return contract_table()

    def replay(self, backend: Backend, table: Table, width: int, seed: int, **options: Any
               ) -> tuple[dict[str, float], list[EpochReport]]:
        reports: list[EpochReport] = []
        final = backend.replay(table, {"width": width}, seed, reports.append, **options)
        return dict(final), reports

    def test_reports_exactly_the_tables_epochs_of_its_configuration_and_seed(self, backend, table):
        for seed in SEEDS:
            final, reports = self.replay(backend, table, 32, 12345, suite_seed=seed)
            assert [r.epoch for r in reports] == list(range(1, EPOCHS + 1))
            for r in reports:
                assert r.metrics["val_accuracy"] == _accuracy(32, seed, r.epoch)
                assert r.metrics["seconds"] == 0.25 * r.epoch  # the recorded seconds, as its own
            assert final["val_accuracy"] == _accuracy(32, seed, EPOCHS)

    def test_the_same_trial_seed_replays_the_same_recorded_run(self, backend, table):
        for seed in range(6):
            first, again = (self.replay(backend, table, 16, seed)[1] for _ in range(2))
            assert [r.metrics for r in first] == [r.metrics for r in again]
        curves = {tuple(r.metrics["val_accuracy"] for r in self.replay(backend, table, 16, seed)[1])
                  for seed in range(20)}
        assert len(curves) == len(SEEDS)  # trial seeds reach every recorded run: its real noise

    def test_max_epochs_cuts_the_curve_and_ends_with_its_last_epoch(self, backend, table):
        final, reports = self.replay(backend, table, 16, 0, suite_seed=0, max_epochs=2)
        assert [r.epoch for r in reports] == [1, 2]
        assert final["val_accuracy"] == _accuracy(16, 0, 2)

    def test_scores_the_test_split_only_when_asked_and_from_the_table(self, backend, table):
        final, _ = self.replay(backend, table, 32, 0, suite_seed=1)
        assert not any(k.startswith("test_") for k in final)
        final, _ = self.replay(backend, table, 32, 0, suite_seed=1, evaluate_test=True)
        assert final["test_accuracy"] == _accuracy(32, 1, EPOCHS) - 0.01

    def test_a_configuration_the_table_lacks_is_a_clear_error(self, backend, table):
        with pytest.raises(ValueError, match="width"):
            self.replay(backend, table, 48, 0)

    def test_a_configuration_recorded_as_failed_fails_again_saying_so(self, backend, table):
        with pytest.raises(Exception, match="failed"):
            self.replay(backend, table, 64, 0, suite_seed=0)

    def test_environment_names_the_device(self, backend):
        assert backend.environment().get("device")
