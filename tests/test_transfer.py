"""Transfer tasks: suite expansion and validation, class and shot selection, augmentation, and
a real run in which the source model is pretrained once and then reused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_suite import load, problems, the_one

from automl_bench import leaderboard
from automl_bench._files.data import augment, make_dataset, make_splits, select_classes, take_shots
from automl_bench._manager import get_plugin_manager
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench.errors import DataError

HOST = get_plugin_manager()

TRANSFER = """
name = "tt"
seeds = [0]
[budget]
max_trials = 2
[matrix]
backends = ["torch"]
strategies = ["random"]
[[tasks]]
name = "d59"
dataset = "digits"
model = "cnn"
classes = [5, 6, 7, 8, 9]
shots = [5, 20]
modes = ["scratch", "frozen", "finetune"]
[tasks.source]
dataset = "digits"
classes = [0, 1, 2, 3, 4]
params = { conv_blocks = 2, filters = 4, epochs = 2 }
[tasks.space]
learning_rate = { type = "float", low = 1e-3, high = 1e-2, log = true }
epochs = 2
"""


def test_shots_and_modes_expand_into_one_task_each(tmp_path):
    suite = load(tmp_path, TRANSFER, HOST)
    assert [t.name for t in suite.tasks] == [
        "d59-k5-scratch", "d59-k5-frozen", "d59-k5-finetune", "d59-k20-scratch", "d59-k20-frozen", "d59-k20-finetune"]
    task = suite.tasks[4]
    assert task.shots == 20 and dict(task.variant) == {"shots": 20, "mode": "frozen"}
    assert {p.name: getattr(p, "value", None) for p in task.space}["mode"] == "frozen"


def test_a_fixed_number_of_shots_beside_a_modes_axis_is_named_in_the_mode_table(tmp_path):
    from automl_bench._results.collect import describe_suite

    suite = load(tmp_path, TRANSFER.replace("shots = [5, 20]", "shots = 20"), HOST)
    assert [t.name for t in suite.tasks] == ["d59-scratch", "d59-frozen", "d59-finetune"]
    variants = describe_suite(suite)["variants"]
    assert variants["d59-frozen"] == {"base": "d59", "shots": 20, "mode": "frozen"}
    import pandas as pd

    board = pd.DataFrame({"task": ["d59-scratch", "d59-frozen"], "backend": "torch", "strategy": "random",
                          "test_mean": [0.8, 0.9], "test_std": [0.01, 0.02]})
    table = leaderboard.mode_table(board, variants)
    assert "| d59    | torch     | random     | 20 " in table and "all" not in table


def test_the_mode_can_be_searched_instead(tmp_path):
    text = TRANSFER.replace('modes = ["scratch", "frozen", "finetune"]\n', "")
    text += 'mode = { type = "categorical", choices = ["frozen", "partial"] }\nunfreeze_blocks = 1\n'
    suite = load(tmp_path, text, HOST)
    assert [t.name for t in suite.tasks] == ["d59-k5", "d59-k20"]
    assert {p.name: getattr(p, "choices", None) for p in suite.tasks[0].space}["mode"] == ("frozen", "partial")


@pytest.mark.parametrize("old, new, expected", [
    ("epochs = 2\n\"\"\"", "epochs = 2\nfilters = 8", "filters shapes the pretrained trunk, so it is set in "
                                                      "tasks[0].source.params, not searched"),
    ("modes = [\"scratch\", \"frozen\", \"finetune\"]", "modes = [\"frozen\", \"frozen\"]", "modes must be distinct"),
    ("modes = [\"scratch\", \"frozen\", \"finetune\"]", "modes = [\"thawed\"]", "tasks[0].modes[0]: Input should be"),
    ("model = \"cnn\"", "model = \"rnn\"", "tasks[0].model: transfer tasks train mlp or cnn models, not 'rnn'"),
    ("epochs = 2 }", "epochs = 2, mode = \"frozen\" }", "mode is a knob of the target, not of the source"),
    ("backends = [\"torch\"]", "backends = [\"numpy\"]", "backend 'numpy' cannot run transfer tasks; these can: "
                                                        "keras, keras-torch, torch"),
    ("dataset = \"digits\"\nclasses = [0", "dataset = \"mnist-5k\"\nclasses = [0",
     "source samples have shape (28, 28), the target's (8, 8): one trunk cannot read both"),
    ("shots = [5, 20]", "shots = [5, 5]", "shots must be distinct"),
    ("params = { conv_blocks = 2,", "params = { conv_blocks = 4,", "conv_blocks up to 4 halve 8x8 images below 1x1"),
])
def test_transfer_mistakes_are_reported_where_they_are(tmp_path, old, new, expected):
    text = (TRANSFER + '"""').replace(old, new, 1).removesuffix('"""')
    assert text != TRANSFER
    found = problems(tmp_path, text, HOST)
    the_one(found, expected)
    assert found[0].startswith(str(tmp_path / "suite.toml") + ":")


def test_transfer_knobs_on_an_ordinary_task_are_rejected(tmp_path):
    text = TRANSFER.split("[tasks.source]")[0].replace('modes = ["scratch", "frozen", "finetune"]\n', "")
    found = problems(tmp_path, text + "[tasks.space]\nmode = \"frozen\"\n", HOST)
    the_one(found, "mode applies to transfer tasks only")


def test_select_classes_relabels_in_the_order_given():
    ds = make_dataset("ten", np.linspace(0, 1, 40).reshape(40, 1), np.arange(40) % 10, "test")
    sub = select_classes(ds, (7, 2))
    assert sub.name == "ten[7,2]" and sub.n_classes == 2 and len(sub.y) == 8
    assert np.all(sub.x[sub.y == 0] == ds.x[ds.y == 7])
    with pytest.raises(DataError, match="no class 10"):
        select_classes(ds, (3, 10))


def test_shots_are_per_class_nested_and_leave_val_and_test_whole():
    ds = HOST.dataset("digits").load()
    splits = make_splits(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    five, twenty = take_shots(splits, 5, seed=0), take_shots(splits, 20, seed=0)
    assert np.array_equal(np.bincount(five.y_train), [5] * 10)
    assert np.array_equal(np.bincount(twenty.y_train), [20] * 10)
    rows = {r.tobytes() for r in twenty.x_train}
    assert all(r.tobytes() in rows for r in five.x_train)  # k=5 is a subset of k=20
    assert five.x_val is splits.x_val and five.x_test is splits.x_test
    with pytest.raises(DataError, match="1000 training examples per class asked"):
        take_shots(splits, 1000, seed=0)


def test_augment_shifts_with_zero_fill_and_flips():
    x = np.zeros((400, 5, 5), np.float32)
    x[:, 2, 2] = 1.0  # one bright pixel in the middle
    x[:, 0, 0] = 0.5  # and one in the corner, which falls off when shifted up or left
    out = augment(x, np.random.default_rng(0), shift=1, flip=False)
    centre = np.array([np.argwhere(img == 1.0)[0] for img in out])
    assert set(map(tuple, centre - 2)) == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    assert out.sum() < x.sum()  # some corners fell off; nothing wrapped round
    assert np.array_equal(x[:, 0, 0], np.full(400, 0.5))  # the input is untouched
    flipped = augment(x, np.random.default_rng(0), shift=0, flip=True)
    mirrored = flipped[:, 0, 4] == 0.5
    assert 150 < mirrored.sum() < 250 and np.all(flipped[~mirrored, 0, 0] == 0.5)


def test_the_source_model_is_pretrained_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_DATA", str(tmp_path / "cache"))
    suite = load(tmp_path, TRANSFER, HOST)
    first = run_suite(suite, HOST, RunOptions(out=tmp_path / "a"))
    assert len(first.trials) == 12 and set(first.trials["status"]) == {"ok"}
    made = sorted((tmp_path / "cache" / "pretrained" / "torch").glob("*.weights"))
    assert len(made) == 1  # one source model for both k, every mode and every trial
    rows = first.trials.to_dict("records")
    sources = [json.loads(r) for r in _datasets(tmp_path / "a" / "tt" / "bench.sqlite")]
    transferred = [s["pretrained"] for s in sources if "pretrained" in s]
    assert len(transferred) == 8 and sum(not s["reused"] for s in transferred) == 1  # frozen + finetune trials
    assert {r["pretrained"] for r in rows if "scratch" not in r["task"]} == {made[0].stem}
    assert {r["pretrained"] for r in rows if "scratch" in r["task"]} == {""}
    assert {r["dataset"] for r in rows} == {"digits[5,6,7,8,9]"}
    assert {r["dataset_sizes"].split("/")[0] for r in rows} == {"25", "100"}  # k x 5 classes
    note = json.loads(made[0].with_suffix(".json").read_text())
    assert note["summary"]["name"] == "digits[0,1,2,3,4]" and note["recipe"]["config"]["filters"] == 4
    table = leaderboard.markdown(first).split("by mode")[1]
    header, rows = table.strip().splitlines()[0], table.strip().splitlines()[2:]
    assert header.index("scratch:") < header.index("frozen:") < header.index("finetune:")
    assert [r.split("|")[4].strip() for r in rows] == ["5", "20"] and all(r.count("**") == 2 for r in rows)
    # A later run (another results directory) loads the cached model instead of training it again.
    stamp = made[0].stat().st_mtime_ns
    run_suite(suite, HOST, RunOptions(out=tmp_path / "b"))
    again = [json.loads(r) for r in _datasets(tmp_path / "b" / "tt" / "bench.sqlite")]
    assert all(s["pretrained"]["reused"] for s in again if "pretrained" in s)
    assert all(s["source"].startswith("scikit-learn load_digits()") for s in again)
    assert made[0].stat().st_mtime_ns == stamp


def test_the_target_takes_the_trunk_from_the_source_and_max_epochs_caps_both():
    from automl_bench._api.records import DataRef, SourceRef, TaskRef, TrialRequest
    from automl_bench._run.transfer import source_config, target_config

    source = SourceRef(DataRef("digits", (0, 1)), {"conv_blocks": 1, "filters": 6, "epochs": 9, "learning_rate": 0.1})
    task = TaskRef("t", "digits", "cnn", 0.2, 0.2, 0, classes=(2, 3), source=source)
    request = TrialRequest("k", task, {"mode": "frozen", "epochs": 7, "learning_rate": 0.01}, seed=1, max_epochs=4)
    target = target_config(request)
    assert (target.conv_blocks, target.filters, target.mode, target.learning_rate) == (1, 6, "frozen", 0.01)
    assert target.epochs == 4 and source_config(request).epochs == 4 and source_config(request).learning_rate == 0.1


def _datasets(db):
    import sqlite3

    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT dataset FROM trials")]
