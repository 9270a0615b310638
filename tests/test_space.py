from __future__ import annotations

import math
import random

import pytest

from automl_bench.space import CategoricalParam, Condition, FixedParam, FloatParam, IntParam, SearchSpace

SPACE = SearchSpace((
    IntParam("layers", 1, 4),
    IntParam("units", 8, 512, log=True),
    IntParam("batch", 16, 128, step=16),
    FloatParam("lr", 1e-5, 1e-1, log=True),
    FloatParam("dropout", 0.0, 0.5, step=0.1),
    CategoricalParam("act", ("relu", "tanh")),
    FixedParam("epochs", 5),
))


def test_samples_stay_inside_the_space_and_cover_it():
    rng = random.Random(0)
    samples = [SPACE.sample(rng) for _ in range(2000)]
    assert all(SPACE.contains(s) for s in samples)
    assert {s["layers"] for s in samples} == {1, 2, 3, 4}
    assert {s["act"] for s in samples} == {"relu", "tanh"}
    # log scale: about half the draws fall below the geometric midpoint
    below = sum(s["lr"] < math.sqrt(1e-5 * 1e-1) for s in samples) / len(samples)
    assert 0.45 < below < 0.55
    assert min(s["units"] for s in samples) == 8 and max(s["units"] for s in samples) == 512


def test_same_seed_same_samples():
    assert [SPACE.sample(random.Random(3)) for _ in range(5)] == [SPACE.sample(random.Random(3)) for _ in range(5)]


def test_grid_discretises_ranges():
    grid = SPACE.grid(3)
    assert len(grid) == 3 * 3 * 3 * 3 * 3 * 2 * 1
    assert all(SPACE.contains(g) for g in grid)
    lrs = sorted({g["lr"] for g in grid})
    assert lrs == pytest.approx([1e-5, 1e-3, 1e-1])  # log-spaced
    batches = sorted({g["batch"] for g in grid})  # snapped to the step, both ends kept
    assert len(batches) == 3 and batches[0] == 16 and batches[-1] == 128
    assert all((b - 16) % 16 == 0 for b in batches)


def test_explicit_grid_and_small_int_ranges():
    space = SearchSpace((IntParam("layers", 1, 2), FloatParam("lr", 0.0, 1.0, grid=(0.1, 0.2))))
    assert space.grid(5) == [{"layers": 1, "lr": 0.1}, {"layers": 1, "lr": 0.2},
                             {"layers": 2, "lr": 0.1}, {"layers": 2, "lr": 0.2}]


def test_contains_rejects_outsiders():
    good = SPACE.sample(random.Random(1))
    assert not SPACE.contains({**good, "layers": 9})
    assert not SPACE.contains({**good, "batch": 17})
    assert not SPACE.contains({**good, "extra": 1})


COND = SearchSpace((
    CategoricalParam("optimizer", ("adam", "sgd")),
    FloatParam("momentum", 0.5, 0.99, when=Condition("optimizer", values=("sgd",))),
    IntParam("layers", 1, 3),
    IntParam("units", 8, 64, when=Condition("layers", minimum=2)),
))


def test_conditional_parameters_appear_only_when_their_condition_holds():
    samples = [COND.sample(random.Random(i)) for i in range(300)]
    for s in samples:
        assert ("momentum" in s) == (s["optimizer"] == "sgd")
        assert ("units" in s) == (s["layers"] >= 2)
        assert COND.contains(s)
    assert any("momentum" in s for s in samples) and any("momentum" not in s for s in samples)


def test_conditional_grid_has_no_duplicates():
    grid = COND.grid(2)
    # optimizer: adam, or sgd with 2 momenta (3); layers {1, 3}: 1 has no units, 3 has 2 -> 3 * (1 + 2)
    assert len(grid) == 9
    assert len({tuple(g.items()) for g in grid}) == 9
    assert all(COND.contains(g) for g in grid)


def test_contains_rejects_inactive_or_missing_conditionals():
    assert not COND.contains({"optimizer": "adam", "momentum": 0.9, "layers": 1})
    assert not COND.contains({"optimizer": "sgd", "layers": 1})


def test_a_parameter_can_set_its_own_grid_points():
    space = SearchSpace((FloatParam("lr", 1e-4, 1e-1, log=True, points=4), IntParam("layers", 1, 5)))
    grid = space.grid(2)
    assert sorted({g["lr"] for g in grid}) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    assert sorted({g["layers"] for g in grid}) == [1, 5]


def test_a_finite_parameter_of_a_suite_takes_only_its_grid_values(bench_host, tmp_path):
    import json

    from automl_bench._run.driver import RunOptions, run_suite
    from automl_bench._suite import load_suite
    from automl_bench.errors import SuiteError
    from automl_bench.testing import toy_suite

    grid = [0.001, 0.01, 0.1]
    text = toy_suite(max_trials=8, strategies=("random", "tpe")).replace(
        'learning_rate = { type = "float", low = 1e-4, high = 1.0, log = true }',
        f'learning_rate = {{ type = "float", low = 1e-4, high = 1.0, log = true, finite = true, grid = {grid} }}')
    (tmp_path / "finite.toml").write_text(text)
    results = run_suite(load_suite(tmp_path / "finite.toml", bench_host), bench_host, RunOptions(out=tmp_path / "out"))
    assert {json.loads(p)["learning_rate"] for p in results.trials["params"]} <= set(grid)
    (tmp_path / "bad.toml").write_text(text.replace(f", grid = {grid}", ""))
    with pytest.raises(SuiteError, match="finite = true needs grid"):
        load_suite(tmp_path / "bad.toml", bench_host)
