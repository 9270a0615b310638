"""Suite parsing and validation: a table of malformed inputs and the messages they give."""

from __future__ import annotations

import textwrap

import pytest
from conftest import FOREIGN_PLUGINS

from automl_bench._manager import get_plugin_manager
from automl_bench._suite import load_suite
from automl_bench.errors import SuiteError

#: The registry's names, read from the host the tests see (the toy plugin too, other distributions'
#: plugins blocked as conftest blocks them): adding a plugin changes no test.
_REGISTRY = get_plugin_manager(("automl_bench.testing.toy", *(f"no:{name}" for name in FOREIGN_PLUGINS)))


def choices(kind: str) -> str:
    """What an unknown name of ``kind`` is answered with: every registered name, sorted."""
    return ", ".join(sorted(getattr(_REGISTRY, {"strategy": "strategies"}.get(kind, kind + "s"))()))


GOOD = """\
name = "ok"
seeds = [0, 1]

[matrix]
backends = ["toy"]
strategies = ["random", "grid"]

[space]
learning_rate = { type = "float", low = 1e-4, high = 1.0, log = true }
units = { type = "int", low = 8, high = 64, step = 8 }
activation = { type = "categorical", choices = ["relu", "tanh"] }
epochs = 2

[strategy.grid]
points = 2

[[tasks]]
name = "a"
dataset = "toy"

[[tasks]]
name = "b"
dataset = "toy"
[tasks.space]
epochs = 3
"""


def load(tmp_path, text, host=None):
    path = tmp_path / "suite.toml"
    path.write_text(textwrap.dedent(text))
    return load_suite(path, host)


def problems(tmp_path, text, host=None):
    with pytest.raises(SuiteError) as info:
        load(tmp_path, text, host)
    return info.value.problems


def the_one(found, expected, *also):
    """A suite with one thing wrong gets exactly one problem, and it says ``expected`` (with
    ``also``: exactly these problems, in the file's order)."""
    assert len(found) == 1 + len(also) and all(e in p for e, p in zip((expected, *also), found)), found


def test_good_suite_loads_with_merged_spaces(tmp_path, host):
    suite = load(tmp_path, GOOD, host)
    assert suite.name == "ok"
    a, b = suite.tasks
    assert a.space.names == ("learning_rate", "units", "activation", "epochs")
    assert [p.value for p in a.space if p.name == "epochs"] == [2]
    assert [p.value for p in b.space if p.name == "epochs"] == [3]
    assert len(suite.sha256) == 64


@pytest.mark.parametrize(
    "change, expected",
    [
        # malformed TOML: file:line:col
        (("[matrix]", "[matrix"), "suite.toml:4:8: malformed TOML"),
        # unknown keys, at the top level and nested
        (('name = "ok"', 'name = "ok"\ncolour = "red"'), "suite.toml:2: colour: unknown key"),
        (("[strategy.grid]", "[budget]\nmax_trails = 3\n[strategy.grid]"), "budget.max_trails: unknown key"),
        # missing and mistyped values
        (('[[tasks]]\nname = "a"\ndataset = "toy"\n', '[[tasks]]\nname = "a"\n'), "tasks[0].dataset: required key is missing"),
        (("seeds = [0, 1]", 'seeds = ["zero"]'), "seeds[0]: Input should be a valid integer"),
        (('name = "ok"', 'name = "Not OK!"'), "name: String should match pattern"),
        (('name = "ok"', f'name = "{"a" * 300}"'), "suite.toml:1: name: String should have at most 100 characters"),
        (('[[tasks]]\nname = "a"', f'[[tasks]]\nname = "{"a" * 101}"'), "tasks[0].name: String should have at most 100"),
        # search-space definitions
        (("low = 8, high = 64", "low = 64, high = 8"), "space.units: Value error, low (64) must be <= high (8)"),
        (("low = 1e-4, high = 1.0, log = true", "low = 0.0, high = 1.0, log = true"), "log-scale float needs low > 0"),
        (('type = "categorical"', 'type = "choice"'), "space.activation: Input tag 'choice' found using 'type' does not match any of the expected tags: 'int', 'float', 'categorical'"),
        (('epochs = 2\n', 'epochs = 2\nwidth = 3\n'), "space.width: tasks 'a', 'b': mlp has no knob 'width'"),
        (('choices = ["relu", "tanh"]', 'choices = ["relu", "swish"]'), "activation must be one of: relu, tanh, sigmoid, elu, gelu"),
        (("epochs = 3", "epochs = 0"), "tasks[1].space.epochs: task 'b': epochs must be >= 1, got 0"),
        # duplicate names
        (('name = "b"', 'name = "a"'), "tasks[1].name: duplicate task name 'a'"),
        # found by trying bad input as a user would (issue 14)
        # every task keeps validation data (what early stopping, reduce_lr and restore_best read)
        (('name = "b"\ndataset = "toy"', 'name = "b"\ndataset = "toy"\nval_fraction = 0.0'),
         "tasks[1].val_fraction: Input should be greater than 0"),
        (('name = "b"\ndataset = "toy"', 'name = "b"\ndataset = "toy"\nval_fraction = 0.5\ntest_fraction = 0.5'),
         "tasks[1]: Value error, val_fraction + test_fraction must be < 1 (something must be left to train on)"),
        (("low = 1e-4, high = 1.0, log = true", "low = 1e-4, high = inf"), "space.learning_rate.high: Input should be a finite number"),
        (("low = 8, high = 64, step = 8", "low = 8, high = 64, step = 100"), "space.units: Value error, step (100) is larger than the range [8, 64]"),
        (("low = 8, high = 64, step = 8", "low = 8, high = 64, grid = [8, 128]"), "space.units: Value error, grid values [128] lie outside [low, high] = [8, 64]"),
        (("seeds = [0, 1]", "seeds = [0, 18446744073709551616]"), "seeds[1]: Input should be less than or equal to 9223372036854775807"),
        (("seeds = [0, 1]", "seeds = [0]\n[budget]\nmax_trials = 1e30"), "budget.max_trials: Input should be a valid integer"),
        (("seeds = [0, 1]", "seeds = [0]\n[budget]\nmax_trials = 1000000000"), "budget.max_trials: Input should be less than or equal to 100000"),
        (("seeds = [0, 1]", "seeds = [0]\n[budget]\ntrial_timeout = inf"), "budget.trial_timeout: Input should be a finite number"),
        (("epochs = 3", "epochs = 1000000000"), "tasks[1].space.epochs: task 'b': epochs must be at most 100,000, got 1000000000"),
        (("low = 8, high = 64, step = 8", "low = 8, high = 100000000000000000000000000000000"), "space.units.high: Input should be less than or equal to 9007199254740992"),
        (("low = 8, high = 64, step = 8", "low = 8, high = 10000000"), "space.units: tasks 'a', 'b': units must be at most 1,048,576, got 10000000"),
        (('name = "b"\ndataset = "toy"', 'name = "b"\ndataset = "toy"\nsplit_seed = -1'), "tasks[1].split_seed: Input should be greater than or equal to 0"),
        (('name = "ok"\n', ''), "suite.toml: name: required key is missing"),  # no line: it is nowhere
        # the [regression] table of `bench compare` (issue 10)
        (("seeds = [0, 1]", "seeds = [0]\n[regression]\nalpha = 0.7"), "suite.toml:4: regression.alpha: Input should be less than 0.5"),
        (("seeds = [0, 1]", 'seeds = [0]\n[regression]\ngate = ["best_val", "speed"]'),
         "suite.toml:4: regression.gate[1]: Input should be 'best_val', 'test', 'epoch_seconds', 'wall_seconds', 'latency_ms' or 'params'"),
        (("seeds = [0, 1]", "seeds = [0]\n[regression]\nmax_slowdown = 0.9"), "regression.max_slowdown: Input should be greater than or equal to 1"),
    ],
)
def test_malformed_suites(tmp_path, change, expected):
    old, new = change
    assert old in GOOD, old
    the_one(problems(tmp_path, GOOD.replace(old, new, 1)), expected)


def test_the_regression_table_does_not_change_the_suites_identity(tmp_path):
    """`bench compare` settings say how results are judged, not what they are: a suite with a
    [regression] table keeps the sha256 of the same suite without it; any other change does not."""
    plain = tmp_path / "plain.toml"
    plain.write_text(GOOD)
    judged = tmp_path / "judged.toml"
    judged.write_text(GOOD + "\n[regression]\nmax_score_drop = 0.05\n")
    changed = tmp_path / "changed.toml"
    changed.write_text(GOOD.replace("seeds = [0, 1]", "seeds = [0, 2]"))
    assert load_suite(judged).sha256 == load_suite(plain).sha256
    assert load_suite(judged).model.regression.max_score_drop == 0.05
    assert load_suite(changed).sha256 != load_suite(plain).sha256


@pytest.mark.parametrize(
    "change, expected",
    [
        (('backends = ["toy"]', 'backends = ["tensorflw"]'), f"matrix.backends[0]: unknown backend 'tensorflw'; choose one of: {choices('backend')}"),
        (('"random", "grid"', '"random", "bayes"'), f"matrix.strategies[1]: unknown strategy 'bayes'; choose one of: {choices('strategy')}"),
        (('name = "b"\ndataset = "toy"', 'name = "b"\ndataset = "mnist-6k"'), f"tasks[1].dataset: unknown dataset 'mnist-6k'; choose one of: {choices('dataset')}"),
        (("points = 2", "pionts = 2"), "strategy.grid.pionts: unknown option for strategy 'grid'; valid options: points, shuffle"),
        (("points = 2", 'points = "two"'), "strategy.grid.points: expected int, got 'two'"),
        (('"random", "grid"', '"random+asap", "grid"'),
         f"matrix.strategies[0]: unknown pruner 'asap'; choose one of: {choices('pruner')}"),
        (("[strategy.grid]", "[pruner.asha]\nrungs = 3\n[strategy.grid]"),
         "pruner.asha.rungs: unknown option for pruner 'asha'; valid options: min_resource, reduction_factor"),
        (("[strategy.grid]", "[pruner.median]\nn_startup_trials = 1.5\n[strategy.grid]"),
         "pruner.median.n_startup_trials: expected int, got 1.5"),
        (("points = 2", "points = 0"), "suite.toml:14: strategy.grid: strategy 'grid' rejects these options: grid points "
                                       "must be >= 1, got 0"),
    ],
)
def test_unknown_components_name_the_valid_choices(tmp_path, host, change, expected):
    old, new = change
    the_one(problems(tmp_path, GOOD.replace(old, new, 1), host), expected)


def test_every_problem_is_reported_at_once_with_its_line(tmp_path, host):
    text = GOOD.replace('backends = ["toy"]', 'backends = ["nope"]').replace('dataset = "toy"', 'dataset = "nada"')
    found = problems(tmp_path, text, host)
    assert len(found) == 3, found  # one backend, two datasets, in the file's order
    assert found[0].startswith(f"{tmp_path / 'suite.toml'}:5: matrix.backends[0]"), found
    assert ":19: tasks[0].dataset" in found[1] and ":23: tasks[1].dataset" in found[2], found


def test_unreadable_file(tmp_path):
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "missing.toml")


SHAPED = """\
name = "shaped"
[matrix]
backends = ["torch"]
strategies = ["random"]
[[tasks]]
name = "a"
dataset = "{dataset}"
model = "{model}"
[tasks.space]
{extra}
"""


@pytest.mark.parametrize("dataset, model, extra, expected", [
    ("digits", "cnn", "conv_blocks = { type = \"int\", low = 1, high = 4 }",
     "suite.toml:8: tasks[0].model: task 'a' on 'digits': conv_blocks up to 4 halve 8x8 images below 1x1; "
     "at most 3 blocks fit"),
    ("digits", "cnn", "conv_blocks = 3", None),
    ("mnist-5k", "rnn", "units = 8", None),
    ("digits", "rnn", "embedding = 8",
     "suite.toml:8: tasks[0].model: task 'a' on 'digits': embedding reads token ids; this dataset's samples are "
     "image of shape (8, 8)"),
    ("languages", "rnn", "shift = 2",
     "suite.toml:8: tasks[0].model: task 'a' on 'languages': shift augment images; this dataset's samples are "
     "sequence of shape (12, 49)"),
    ("fortunes", "rnn", "embedding = 8", None),
])
def test_models_are_checked_against_the_dataset_shape(tmp_path, host, dataset, model, extra, expected):
    text = SHAPED.format(dataset=dataset, model=model, extra=extra)
    if expected is None:
        assert load(tmp_path, text, host).tasks[0].definition.model == model
    else:
        the_one(problems(tmp_path, text, host), expected)


def test_conditional_parameters_parse_and_check_their_parent(tmp_path, host):
    text = GOOD.replace('epochs = 2\n', 'epochs = 2\noptimizer = { type = "categorical", choices = ["adam", "sgd"] }\n'
                        'momentum = { type = "float", low = 0.5, high = 0.9, when = { optimizer = ["sgd"] } }\n'
                        'dropout = { type = "float", low = 0.0, high = 0.5, when = { units = { min = 32 } } }\n', 1)
    space = load(tmp_path, text, host).tasks[0].space
    momentum = next(p for p in space if p.name == "momentum")
    dropout = next(p for p in space if p.name == "dropout")
    assert str(momentum.when) == "optimizer in ['sgd']" and str(dropout.when) == "units >= 32.0"

    bad = text.replace('when = { optimizer = ["sgd"] }', 'when = { optimiser = ["sgd"] }')
    the_one(problems(tmp_path, bad, host),
            "space.momentum.when: condition on 'optimiser', which is not a parameter defined before this one")
    empty = text.replace("when = { units = { min = 32 } }", "when = { units = { } }")
    the_one(problems(tmp_path, empty, host), "give min, max or both")
    assert "space.dropout" in problems(tmp_path, empty, host)[0]


def test_a_missing_top_level_key_is_not_placed_at_a_tasks_line(tmp_path):
    found = problems(tmp_path, GOOD.replace('name = "ok"\n', ""))
    assert f"{tmp_path / 'suite.toml'}: name: required key is missing" in found


def test_thousands_of_problems_are_reported_in_linear_time(tmp_path):
    """Each problem's line comes from one index of the file, not a scan per problem."""
    import time

    def timed(n):
        extra = "".join(f"unknown_{i} = {i}\n" for i in range(n))
        start = time.perf_counter()
        found = problems(tmp_path, GOOD.replace('seeds = [0, 1]', 'seeds = [0, 1]\n' + extra))
        assert len(found) == n and found[-1].endswith(f"unknown_{n - 1}: unknown key")
        return time.perf_counter() - start

    small, large = timed(1_000), timed(20_000)
    assert large < 60 * small + 1.0, (small, large)  # quadratic would be 400 times the small run


def test_deep_nesting_is_a_clear_error(tmp_path):
    found = problems(tmp_path, GOOD + "deep = " + "[" * 5000 + "]" * 5000 + "\n")
    assert found == [f"{tmp_path / 'suite.toml'}: malformed suite: tables or arrays nested too deeply to read "
                     "(a suite needs three levels)"]


@pytest.mark.parametrize("space, expected", [
    ('mode = "partial"\nunfreeze_blocks = 3', "partial mode trains the top unfreeze_blocks of the source's 2 trunk "
                                              "blocks, so unfreeze_blocks must be 1..1, got 3"),
    ('mode = { type = "categorical", choices = ["frozen", "partial"] }\n'
     'unfreeze_blocks = { type = "int", low = 1, high = 2 }', "unfreeze_blocks must be 1..1, got 2"),
])
def test_unfreeze_blocks_must_fit_the_source_trunk(tmp_path, host, space, expected):
    text = ('name = "t"\n[matrix]\nbackends = ["torch"]\nstrategies = ["random"]\n'
            '[[tasks]]\nname = "tr"\ndataset = "digits"\n[tasks.source]\ndataset = "digits"\n'
            '[tasks.source.params]\nlayers = 2\n[tasks.space]\n' + space + "\n")
    the_one(problems(tmp_path, text, host), expected)


def test_the_list_of_problems_is_capped_and_counts_the_rest(tmp_path):
    unknown = "".join(f"unknown_{i} = {i}\n" for i in range(120))
    with pytest.raises(SuiteError) as info:
        load(tmp_path, unknown + GOOD)
    assert len(info.value.problems) == 120  # all kept for a caller; the message lists the first 50
    lines = str(info.value).splitlines()
    assert lines[0].endswith("suite.toml: 120 problems:") and len(lines) == 1 + SuiteError.SHOWN + 1
    assert lines[-1] == "  and 70 more (fix these and validate again)"


def test_a_suite_that_is_not_utf8_is_refused_at_its_line(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_bytes(GOOD.encode().replace(b'name = "b"', b'name = "b\xe9"', 1))
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    line = GOOD.splitlines().index('name = "b"') + 1
    assert info.value.problems == [f"{path}:{line}:10: not UTF-8 (byte 0xe9); a suite is TOML, which is UTF-8: save "
                                   "the file as UTF-8"]


@pytest.mark.parametrize("change, expected", [
    ('dataset = "digits"\nclasses = [0, 12]', "tasks[0].classes: dataset 'digits' has classes 0..9; no class 12"),
    ('dataset = "digits"\nshots = [5, 200]', "tasks[0].shots: shots = 200 training examples per class, but class 8 of "
     "'digits' has 174 samples, at most 105 of them in its training split (60%: 1 - val_fraction - test_fraction)"),
    ('dataset = "digits"\nclasses = [3, 8]\nval_fraction = 0.1\nshots = 100', None),  # 174 x 70% = 122: fits
])
def test_validation_knows_each_datasets_classes_and_their_sizes_without_loading(tmp_path, host, change, expected):
    text = GOOD.replace('dataset = "toy"', change, 1)
    if expected is None:
        assert load(tmp_path, text, host).tasks[0].definition.dataset == "digits"
    else:
        the_one(problems(tmp_path, text, host), expected)
