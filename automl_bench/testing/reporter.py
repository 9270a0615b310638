"""The contract every reporter keeps: `ReporterContract`.

Subclass it in your plugin's tests and say how to build your reporter::

    class TestMyReporter(ReporterContract):
        def make_reporter(self):
            return MyReporter()

pytest runs a small toy suite once per class (two strategies, three seeds, the toy backend) and
checks what `Reporter.write` promises (docs/how-to/plugins.md)."""

from __future__ import annotations

from pathlib import Path

from automl_bench import Reporter
from automl_bench.testing._runs import OnAToyRun


class ReporterContract(OnAToyRun):
    """What every reporter must do with a finished run's results. Define `make_reporter`."""

    def make_reporter(self) -> Reporter:
        raise NotImplementedError

    def test_returns_the_files_it_wrote(self, results, tmp_path):
        written = [Path(p) for p in self.make_reporter().write(results, tmp_path)]
        assert all(p.exists() for p in written), written

    def test_writing_twice_leaves_the_same_files(self, results, tmp_path):
        reporter = self.make_reporter()
        first = sorted(Path(p).name for p in reporter.write(results, tmp_path))
        assert sorted(Path(p).name for p in reporter.write(results, tmp_path)) == first

    def test_it_leaves_the_results_as_they_were(self, results, tmp_path):
        trials, board = results.trials.copy(), results.leaderboard.copy()
        self.make_reporter().write(results, tmp_path)
        assert results.trials.equals(trials) and results.leaderboard.equals(board)
