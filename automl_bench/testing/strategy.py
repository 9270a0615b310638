"""The contract every search strategy keeps: `StrategyContract`.

Subclass it in your plugin's tests; docs/how-to/plugins.md lists what each test checks."""

from __future__ import annotations

from typing import Any

from automl_bench import FinishedTrial, Proposal, Strategy
from automl_bench.space import CategoricalParam, Condition, FixedParam, FloatParam, IntParam, SearchSpace


class StrategyContract:
    """What every search strategy must do. Define `make_strategy`."""

    space = SearchSpace((
        IntParam("layers", 1, 4),
        IntParam("units", 8, 256, log=True),
        FloatParam("learning_rate", 1e-4, 1e-1, log=True),
        FloatParam("dropout", 0.0, 0.5),
        CategoricalParam("activation", ("relu", "tanh", "elu")),
        FloatParam("momentum", 0.5, 0.99, when=Condition("activation", values=("tanh", "elu"))),
        FixedParam("epochs", 3),
    ))
    trials = 12
    #: A multi-objective strategy's test sets the directions its factory is given (for example
    #: ``("maximize", "minimize")``): its trials are then told `values` as well, one per direction.
    directions: tuple[str, ...] | None = None

    def make_strategy(self, space: SearchSpace, seed: int) -> Strategy:
        """Build the strategy; a multi-objective one with ``directions=self.directions``."""
        raise NotImplementedError

    @staticmethod
    def objective(params: Any) -> float:
        return -abs(params["learning_rate"] - 0.01) - 0.01 * params["layers"]

    def values(self, params: Any) -> tuple[float, ...]:
        """A multi-objective trial's values: the objective, then a size to keep small, then the
        dropout, for as many directions as the test gives."""
        every = (self.objective(params), float(params["layers"] * params["units"]), params["dropout"])
        return every[:len(self.directions or ())]

    def drive(self, strategy: Strategy, numbers: range, mixed: bool = False,
              told: list[FinishedTrial] | None = None) -> list[dict]:
        """Ask and tell in turn; with ``mixed``, every third trial fails and every third is pruned.
        A `Proposal`'s parameters are returned and its budget told back (and checked: whole
        epochs, at least 1); ``told`` collects the trials told."""
        proposals = []
        for n in numbers:
            asked = strategy.ask(n)
            if asked is None:
                break
            budget = None
            if isinstance(asked, Proposal):
                asked, budget = asked.params, asked.epochs
                assert isinstance(budget, int) and budget >= 1, budget
            proposals.append(dict(asked))
            trial = self.outcome(n, asked, mixed, budget)
            strategy.tell(trial)
            if told is not None:
                told.append(trial)
        return proposals

    def outcome(self, number: int, params: Any, mixed: bool = False, budget: int | None = None) -> FinishedTrial:
        status = ("ok", "failed", "pruned")[number % 3] if mixed else "ok"
        ok = status == "ok"
        return FinishedTrial(number, params, status, self.objective(params) if ok else None,
                             self.values(params) if ok and self.directions else None, budget)

    def test_proposals_stay_inside_the_space(self):
        proposals = self.drive(self.make_strategy(self.space, 0), range(self.trials))
        assert proposals, "the strategy proposed nothing"
        for p in proposals:
            assert self.space.contains(p), p

    def test_same_seed_same_proposals(self):
        a = self.drive(self.make_strategy(self.space, 7), range(self.trials))
        b = self.drive(self.make_strategy(self.space, 7), range(self.trials))
        assert a == b

    def test_different_seeds_differ(self):
        a = self.drive(self.make_strategy(self.space, 1), range(self.trials))
        b = self.drive(self.make_strategy(self.space, 2), range(self.trials))
        assert a != b

    def test_failed_and_pruned_trials_do_not_break_the_search(self):
        proposals = self.drive(self.make_strategy(self.space, 3), range(self.trials), mixed=True)
        assert len(proposals) == min(self.trials, self.capacity()) and all(self.space.contains(p) for p in proposals)

    def capacity(self) -> int:
        return 10**9

    def test_restore_continues_as_if_never_interrupted(self):
        straight = self.drive(self.make_strategy(self.space, 5), range(self.trials))
        half = self.trials // 2
        first, told = self.make_strategy(self.space, 5), []
        done = self.drive(first, range(half), told=told)
        resumed = self.make_strategy(self.space, 5)
        resumed.restore(told)
        rest = self.drive(resumed, range(half, self.trials))
        assert done + rest == straight

    def test_restore_accepts_trials_it_did_not_propose(self):
        """After a parallel run the recorded order can differ from what a replay proposes."""
        told: list[FinishedTrial] = []
        self.drive(self.make_strategy(self.space, 11), range(4), mixed=True, told=told)
        strategy = self.make_strategy(self.space, 12)
        strategy.restore(told)
        assert all(self.space.contains(p) for p in self.drive(strategy, range(4, 8)))
