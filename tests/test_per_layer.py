"""Per-layer architecture: ``units``/``filters`` lists and ``units_<i>`` searched per layer."""

from __future__ import annotations

import json
import textwrap

import pytest
from test_suite import the_one

from automl_bench._model.checks import trainable_parameters
from automl_bench._model.config import build_config, check_value
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import SuiteError

SUITE = """\
name = "layers"
seeds = [0]

[budget]
max_trials = 3

[matrix]
backends = ["numpy"]
strategies = ["random"]

[[tasks]]
name = "digits-mlp"
dataset = "digits"
[tasks.space]
{space}
epochs = 1
"""


def write(tmp_path, space: str):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(space=textwrap.dedent(space)))
    return path


def test_a_units_list_is_one_layer_per_value():
    config = build_config("mlp", {"units": [256, 128]})
    assert (config.layers, config.hidden_units) == (2, (256, 128))
    # 784-256-128-10: the network of the PyTorch tutorials
    assert trainable_parameters(config, (784,), 10) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10


def test_units_i_overrides_one_layer_and_filters_keep_doubling_elsewhere():
    assert build_config("mlp", {"layers": 3, "units": 64, "units_1": 32}).hidden_units == (64, 32, 64)
    assert build_config("mlp", {"layers": 1, "units_2": 32}).hidden_units == (128,)  # layer 2 is not built
    assert build_config("cnn", {"filters": 8, "filters_1": 4, "conv_blocks": 3}).block_filters == (8, 4, 32)
    assert build_config("cnn", {"filters": [8, 4, 2]}).block_filters == (8, 4, 2)


@pytest.mark.parametrize("family, params, message", [
    ("mlp", {"units": [256, 128], "layers": 3},
     "units lists 2 values [256, 128] but layers = 3: give one value per hidden layer, or leave layers out"),
    ("mlp", {"units": []}, "units lists no values; give one per hidden layer"),
    ("mlp", {"units": [3, 0]}, "units[1] must be >= 1, got 0"),
    ("mlp", {"units_0": 0}, "units_0 must be >= 1, got 0"),
    ("cnn", {"filters": [8, "x"]}, "filters[1] must be int or a list of them, one per layer, got 'x'"),
    ("rnn", {"units_0": 8}, "rnn has no knob 'units_0'"),
])
def test_bad_per_layer_values_say_what_is_wrong(family, params, message):
    with pytest.raises(ValueError) as info:
        build_config(family, params)
    assert message in str(info.value)


def test_check_value_accepts_lists_only_for_per_layer_knobs():
    assert check_value("mlp", "units", [4, 5]) is None
    assert check_value("rnn", "units", [4, 5]) == "units must be int, got [4, 5]"
    assert check_value("mlp", "dropout", [0.1]) == "dropout must be float, got [0.1]"


@pytest.mark.parametrize("space, expected", [
    ("layers = 3\nunits = [64, 32]",
     "suite.toml:14: tasks[0].space: task 'digits-mlp': units lists 2 values [64, 32] but layers may be 3"),
    ('layers = { type = "int", low = 1, high = 2 }\nunits = [64, 32]', "but layers may be 1"),
    ('layers = { type = "int", low = 1, high = 2 }\nunits_2 = { type = "int", low = 8, high = 64 }',
     "units_2 sets hidden layer 2 (counting from 0), but layers is at most 2: no trial would use it"),
    ("units = [64, 0]", "suite.toml:15: tasks[0].space.units: task 'digits-mlp': units[1] must be >= 1, got 0"),
])
def test_validate_places_per_layer_mistakes(tmp_path, host, space, expected):
    with pytest.raises(SuiteError) as info:
        load_suite(write(tmp_path, space), host)
    the_one(info.value.problems, expected)


def test_a_search_per_layer_runs_and_records_each_layers_units(tmp_path, host):
    """Keras Tuner's loop, ``for i in range(hp.Int("layers", 1, 3)): hp.Int(f"units_{i}", ...)``, as a suite."""
    path = write(tmp_path, """
        layers = { type = "int", low = 1, high = 3 }
        units_0 = { type = "int", low = 8, high = 64 }
        units_1 = { type = "int", low = 8, high = 64, when = { layers = { min = 2 } } }
        units_2 = { type = "int", low = 8, high = 64, when = { layers = { min = 3 } } }
    """)
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "out"))
    trials = results.trials
    assert (trials["status"] == "ok").all(), trials["error"].tolist()
    for params in trials["params"]:
        params = json.loads(params) if isinstance(params, str) else params
        assert {f"units_{i}" for i in range(params["layers"])} <= set(params)
        assert not {f"units_{i}" for i in range(params["layers"], 3)} & set(params)  # inactive: not sampled


def test_a_fixed_units_list_runs_on_a_suite(tmp_path, host):
    results = run_suite(load_suite(write(tmp_path, "units = [32, 16]"), host), host,
                        RunOptions(out=tmp_path / "out"))
    assert (results.trials["status"] == "ok").all(), results.trials["error"].tolist()


def test_a_transfer_source_takes_a_units_list_and_its_layers_are_not_searched(tmp_path, host):
    text = ('name = "t"\n[matrix]\nbackends = ["torch"]\nstrategies = ["random"]\n'
            '[[tasks]]\nname = "tr"\ndataset = "digits"\n[tasks.source]\ndataset = "digits"\n'
            '[tasks.source.params]\nunits = [32, 16]\n[tasks.space]\nmode = "frozen"\n{extra}\n')
    path = tmp_path / "suite.toml"
    path.write_text(text.format(extra=""))
    assert load_suite(path, host).tasks[0].definition.source.params["units"] == [32, 16]
    path.write_text(text.format(extra='units_1 = 8'))
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    the_one(info.value.problems, "units_1 shapes the pretrained trunk, so it is set in tasks[0].source.params")
