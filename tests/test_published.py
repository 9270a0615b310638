"""Published pretrained weights as a transfer source (``weights = "keras:VGG16"``), on both Keras
engines, exercised with a weights file the test writes (no download is possible here)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import pytest
from test_suite import the_one

from automl_bench._model.published import PUBLISHED, keras_cache
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import SuiteError

SUITE = """\
name = "published"
seeds = [0]

[budget]
max_trials = 1

[matrix]
backends = {backends}
strategies = ["grid"]

[[tasks]]
name = "digits-vgg"
dataset = "digits"
model = "cnn"
shots = 10
val_fraction = 0.05
test_fraction = 0.05
modes = {modes}
[tasks.source]
{source}
[tasks.space]
epochs = 1
batch_size = 32
dense_units = 16
optimizer = "sgd"           # a published model loaded, fine-tuned with SGD, and saved
momentum = 0.9
learning_rate = 0.01
"""


def write(tmp_path, source, backends='["keras", "keras-torch"]', modes='["scratch", "frozen", "partial", "finetune"]'):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(source=textwrap.dedent(source), backends=backends, modes=modes))
    return path


def problems(path, host):
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    return info.value.problems


@pytest.mark.parametrize("source, backends, expected", [
    ('weights = "keras:VGG61"', None,
     "suite.toml:20: tasks[0].source.weights: unknown published weights 'keras:VGG61'; choose one of: "
     + ", ".join(PUBLISHED)),
    ('weights = "keras:VGG16"', '["keras", "torch"]',
     "suite.toml:8: matrix.backends[1]: backend 'torch' cannot load keras:VGG16 (task 'digits-vgg'); these can: "
     "keras, keras-torch"),
    ('weights = "keras:VGG16"\nweights_file = "missing.weights.h5"', None,
     "suite.toml:21: tasks[0].source.weights_file: no such file: "),
    ('weights = "keras:VGG16"\ndataset = "digits"', None,
     "a source names a dataset to pretrain on, or published weights (weights = \"keras:VGG16\"): one of the two"),
    ('weights = "keras:VGG16"\nparams = { filters = 8 }', None,
     "tasks[0].source.params: params describe a source the harness pretrains; keras:VGG16 comes pretrained"),
    ('weights = "keras:VGG16"\ninput_size = 16', None, "keras:VGG16 needs images of at least 32x32; input_size = 16"),
])
def test_bad_published_sources_are_placed_with_the_choices(tmp_path, host, source, backends, expected):
    path = write(tmp_path, source, **({"backends": backends} if backends else {}))
    the_one(problems(path, host), expected)


def test_data_that_is_not_images_cannot_feed_published_weights(tmp_path, host):
    path = write(tmp_path, 'weights = "keras:VGG16"')
    path.write_text(path.read_text().replace('dataset = "digits"\nmodel', 'dataset = "languages"\nmodel'))
    the_one(problems(path, host), "keras:VGG16 reads images (height, width[, 1 or 3 channels]); this dataset's "
            "samples are sequence of shape (12, 49), which cannot be resized to them")


def test_partial_must_leave_a_published_block_frozen(tmp_path, host):
    path = write(tmp_path, 'weights = "keras:VGG16"', modes='["partial"]')
    path.write_text(path.read_text() + "unfreeze_blocks = 5\n")
    the_one(problems(path, host), "partial mode trains the top unfreeze_blocks of the source's 5 trunk blocks, "
            "so unfreeze_blocks must be 1..4, got 5")


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """VGG16's base with random weights, saved as Keras saves weights: the stand-in for ImageNet's."""
    path = tmp_path_factory.mktemp("weights") / "vgg16-random.weights.h5"
    code = ("import keras, sys; keras.utils.set_random_seed(7); keras.applications.VGG16(include_top=False, "
            "weights=None, input_shape=(32, 32, 3)).save_weights(sys.argv[1])")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=env, capture_output=True)
    return path


@pytest.mark.slow
def test_every_mode_runs_on_both_keras_engines_from_a_weights_file(tmp_path, host, weights_file):
    """Each mode, fine-tuning with SGD: the saved model holds the file's weights exactly where
    its mode keeps them, and every row names the weights it started from."""
    import numpy as np

    results = run_suite(load_suite(write(tmp_path, f'weights = "keras:VGG16"\nweights_file = "{weights_file}"'),
                                   host), host, RunOptions(out=tmp_path / "out"))
    trials = results.trials
    assert (trials["status"] == "ok").all(), trials["error"].tolist()
    assert len(trials) == 8  # 4 modes x 2 engines
    sha = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    loaded = trials[~trials["task"].str.endswith("scratch")]
    assert (loaded["pretrained"] == "keras:VGG16").all() and (loaded["pretrained_file_sha256"] == sha).all()
    assert (trials[trials["task"].str.endswith("scratch")]["pretrained"] == "").all()

    # Each saved model holds the file's weights exactly in the blocks its mode keeps frozen.
    code = textwrap.dedent("""
        import json, sys, keras, numpy as np
        base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
        base.load_weights(sys.argv[1])
        out = {}
        for path in sys.argv[2:]:
            trained = keras.saving.load_model(path).get_layer("published")
            out[path] = [int(l.name[5]) for l in base.layers if l.weights and not all(
                np.array_equal(a, b) for a, b in zip(l.get_weights(), trained.get_layer(l.name).get_weights()))]
        print(json.dumps(out))
    """)
    finals = results.finals.set_index(["task", "backend"])
    models = {mode: str(results.directory / finals.loc[(f"digits-vgg-{mode}", "keras"), "model"])
              for mode in ("scratch", "frozen", "partial", "finetune")}
    done = subprocess.run([sys.executable, "-c", code, str(weights_file), *models.values()], check=True,
                          capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "torch"})
    changed = {mode: set(json_blocks) for mode, json_blocks in
               zip(models, __import__("json").loads(done.stdout.strip().splitlines()[-1]).values())}
    assert changed["frozen"] == set()
    assert changed["partial"] == {5}  # unfreeze_blocks = 1: the top block trained
    assert changed["finetune"] == changed["scratch"] == {1, 2, 3, 4, 5}
    assert np.isfinite(results.finals["test_accuracy"]).all()


def test_without_the_file_and_offline_the_run_says_which_file_to_put_where(tmp_path, host, monkeypatch):
    """Keras' download fails (an unreachable proxy stands in for no internet): the cell is not
    run, and the message names the file, where it is published and where to put it."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    path = write(tmp_path, 'weights = "keras:VGG16"', backends='["keras-torch"]', modes='["frozen"]')
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "out", keep_going=True))
    spec = PUBLISHED["keras:VGG16"]
    message = next(iter(results.not_run.values()))
    assert spec.file in message and spec.origin in message
    assert str(keras_cache() / spec.file) in message and "weights_file" in message
    assert results.trials.empty  # nothing recorded: the next run tries again
