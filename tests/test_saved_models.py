"""Each cell's final model is saved in its framework's format, and the leaderboard names it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite

SUITE = """\
name = "saved"
seeds = [0, 1]

[budget]
max_trials = 2

[matrix]
backends = ["torch", "numpy", "toy"]
strategies = ["random"]

[space]
units = [32, 16]
learning_rate = { type = "float", low = 1e-3, high = 1e-2, log = true }
epochs = 2

[[tasks]]
name = "digits-mlp"
dataset = "digits"
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run shared by the tests below (the suite trains 12 small models)."""
    from automl_bench._manager import get_plugin_manager

    host = get_plugin_manager(["automl_bench.testing.toy"])
    out = tmp_path_factory.mktemp("saved")
    path = out / "saved.toml"
    path.write_text(SUITE)
    return run_suite(load_suite(path, host), host, RunOptions(out=out / "results"))


def test_every_final_model_is_saved_under_models(run):
    finals = run.finals.set_index(["backend", "seed"])
    for backend, suffix in (("torch", ".pt"), ("numpy", ".npz")):
        for seed in (0, 1):
            name = finals.loc[(backend, seed), "model"]
            assert name == f"models/digits-mlp/{backend}/random/seed{seed}{suffix}"
            assert (run.directory / name).is_file()
    assert (finals.loc["toy", "model"] == "").all()  # the toy backend saves no models: said, not faked


def test_the_leaderboard_names_the_best_seeds_model(run):
    board = pd.read_csv(run.directory / "leaderboard.csv", keep_default_na=False).set_index("backend")
    seeds = run.trials[run.trials["backend"] == "torch"].groupby("seed")["value"].max()
    assert board.loc["torch", "model"] == f"models/digits-mlp/torch/random/seed{seeds.idxmax()}.pt"
    assert board.loc["toy", "model"] == ""


def test_a_saved_torch_model_loads_with_torch_and_scores_its_recorded_test_accuracy(run, host):
    import torch

    from automl_bench._plugins.torch_backend import arrange_input, build_model
    from automl_bench.backend import config_from_dict

    final = run.finals[(run.finals["backend"] == "torch") & (run.finals["seed"] == 0)].iloc[0]
    saved = torch.load(run.directory / final["model"], weights_only=True)
    config = config_from_dict(saved["config"])
    assert config.hidden_units == (32, 16)
    model = build_model(torch, config, tuple(saved["input_shape"]), saved["n_classes"], saved["vocab_size"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    splits = _test_split(host, run)
    logits = model(arrange_input(splits.x_test.astype(np.float32), "mlp")).detach().numpy()
    assert (logits.argmax(1) == splits.y_test).mean() == pytest.approx(final["test_accuracy"])


def test_a_saved_numpy_model_loads_and_scores_its_recorded_test_accuracy(run, host):
    from automl_bench._files.data import as_model_input
    from automl_bench._plugins.numpy_backend import load_model

    final = run.finals[(run.finals["backend"] == "numpy") & (run.finals["seed"] == 1)].iloc[0]
    net = load_model(run.directory / final["model"])
    splits = _test_split(host, run)
    logits = net.forward(as_model_input(splits.x_test, "mlp"), training=False)
    assert (logits.argmax(1) == splits.y_test).mean() == pytest.approx(final["test_accuracy"])


@pytest.mark.parametrize("backend, seed", [("torch", 1), ("numpy", 0)])
def test_the_public_loader_reads_each_saved_model_by_its_suffix(run, host, backend, seed):
    from automl_bench.saved import load_model, model_input

    final = run.finals[(run.finals["backend"] == backend) & (run.finals["seed"] == seed)].iloc[0]
    model = load_model(run.directory / final["model"])
    x = model_input(_test_split(host, run).x_test.astype(np.float32), "mlp", backend)
    logits = model(x).detach().numpy() if backend == "torch" else model.forward(x, training=False)
    assert (logits.argmax(1) == _test_split(host, run).y_test).mean() == pytest.approx(final["test_accuracy"])


def test_the_public_loader_names_what_it_reads(tmp_path, host):
    from automl_bench.saved import load_model

    with pytest.raises(ValueError, match=r"not a saved model; the installed backends save "
                                         r"\.keras \(keras, keras-torch\), \.npz \(numpy\), \.pt \(torch\) files"):
        load_model(tmp_path / "model.h5", host=host)


def test_a_plugins_backend_loads_the_models_it_saved(tmp_path, monkeypatch):
    """load_model reads a third party's format through its BackendSpec, by suffix or by name."""
    from automl_bench._manager import get_plugin_manager
    from automl_bench.saved import load_model, model_input, suffixes

    monkeypatch.setenv("BENCH_PLUGINS", "saving_backend")
    (tmp_path / "net.tiny").write_text("3")
    assert suffixes(get_plugin_manager())[".tiny"] == ["tiny"]
    model = load_model(tmp_path / "net.tiny")  # the host of every installed plugin and BENCH_PLUGINS
    assert model(np.ones((2, 2))).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert load_model(tmp_path / "net.tiny", backend="tiny")(np.ones((1, 1))).tolist() == [[3.0]]
    assert model_input(np.ones((1, 2)), "mlp", "tiny").tolist() == [[1.0, 1.0], [1.0, 1.0]]


def _test_split(host, run):
    """The task's splits: the suite keeps the defaults (20% validation, 20% test, split seed 0)."""
    from automl_bench._files.data import make_splits

    return make_splits(host.dataset("digits").load(), val_fraction=0.2, test_fraction=0.2, seed=0)


def test_a_one_trial_search_is_its_own_final_and_is_trained_once(tmp_path, host, monkeypatch):
    """With one trial per cell there is nothing to choose: that trial is scored on the test split
    and its model saved, rather than the same configuration trained again from the same seed."""
    fits = tmp_path / "fits"
    fits.mkdir()
    monkeypatch.setenv("TOY_RECORD", str(fits))  # the toy backend writes one file per fit
    path = tmp_path / "one.toml"
    path.write_text(SUITE.replace("max_trials = 2", "max_trials = 1").replace('"torch", "numpy", "toy"',
                                                                              '"numpy", "toy"'))
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "out"))
    assert len(results.trials) == 4 and len(results.finals) == 4  # 2 backends x 2 seeds, one trial each
    merged = results.trials.merge(results.finals, on=["backend", "seed"], suffixes=("", "_final"))
    assert (merged["trial_final"] == 0).all()
    assert (merged["test_accuracy"] == merged["test_accuracy_final"]).all()  # the same training, not a second
    assert len(list(fits.glob("*.json"))) == 2  # the toy trained once per seed
    numpy = merged[merged["backend"] == "numpy"]
    assert list(numpy["model"]) == [f"models/digits-mlp/numpy/random/seed{s}.npz" for s in numpy["seed"]]
