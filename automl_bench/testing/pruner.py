"""The contract every pruner keeps: `PrunerContract`.

Subclass it in your plugin's tests; docs/how-to/plugins.md lists what each test checks."""

from __future__ import annotations

from automl_bench import FinishedTrial, Pruner


class PrunerContract:
    """What every pruner must do. Define `make_pruner`.

    Trials are fed as learning curves (objective per epoch): good ones rise towards 0.9,
    bad ones stay at 0.1.
    """

    epochs = 6

    def make_pruner(self) -> Pruner:
        raise NotImplementedError

    def curves(self) -> list[list[float]]:
        good = [[0.5 + 0.05 * e + 0.01 * (i % 3) for e in range(self.epochs)] for i in range(6)]
        bad = [[0.1] * self.epochs]
        return good + bad + good[:3] + bad + good[3:]

    def feed(self, pruner: Pruner, curves: list[list[float]], start: int = 0) -> list[int]:
        """Report each curve epoch by epoch; returns the epoch each trial stopped at."""
        stopped = []
        for n, curve in enumerate(curves, start=start):
            reached = len(curve)
            for epoch, value in enumerate(curve, start=1):
                if pruner.should_prune(n, epoch, value):
                    reached = epoch
                    break
            status = "pruned" if reached < len(curve) else "ok"
            pruner.finish(FinishedTrial(n, {}, status, curve[reached - 1]))
            stopped.append(reached)
        return stopped

    def test_the_first_trial_runs_to_the_end(self):
        assert self.feed(self.make_pruner(), self.curves()[:1]) == [self.epochs]

    def test_a_clearly_bad_trial_is_stopped_early(self):
        stopped = self.feed(self.make_pruner(), self.curves())
        bad = [i for i, c in enumerate(self.curves()) if c[0] == 0.1]
        assert all(stopped[i] < self.epochs for i in bad), stopped
        assert max(stopped) == self.epochs, stopped  # and good trials still run to the end

    def test_same_reports_same_decisions(self):
        assert self.feed(self.make_pruner(), self.curves()) == self.feed(self.make_pruner(), self.curves())

    def test_restore_continues_as_if_never_interrupted(self):
        curves = self.curves()
        straight = self.feed(self.make_pruner(), curves)
        half = len(curves) // 2
        first = self.feed(self.make_pruner(), curves[:half])
        recorded = [FinishedTrial(n, {}, "pruned" if e < self.epochs else "ok", curves[n][e - 1])
                    for n, e in enumerate(first)]
        histories = {n: curves[n][:e] for n, e in enumerate(first)}
        resumed = self.make_pruner()
        resumed.restore(recorded, histories)
        assert first + self.feed(resumed, curves[half:], start=half) == straight

    def test_failed_trials_do_not_break_it(self):
        pruner = self.make_pruner()
        pruner.finish(FinishedTrial(0, {}, "failed", None))  # failed before any report
        pruner.should_prune(1, 1, 0.5)
        pruner.finish(FinishedTrial(1, {}, "timeout", None))  # failed after one
        assert len(self.feed(pruner, self.curves(), start=2)) == len(self.curves())
