"""A task's own files as its dataset (`automl_bench._files`): each kind built in a temporary
folder and read, their digests and cache, every bad input named before any trial, and a capped
run on torch over every kind, with transfer onto an image folder."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_suite import problems, the_one

from automl_bench import _files
from automl_bench._files import frames
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import DataError, ResultsError

SUITE = """
name = "own"
seeds = [0]
[budget]
max_trials = 1
[matrix]
backends = ["{backend}"]
strategies = ["random"]
[space]
epochs = 1
{tasks}
"""


def suite_text(tasks: str, backend: str = "toy") -> str:
    return SUITE.format(backend=backend, tasks=textwrap.dedent(tasks))


def task(name: str, dataset: str, model: str = "mlp", extra: str = "") -> str:
    return f'[[tasks]]\nname = "{name}"\ndataset = {dataset}\nmodel = "{model}"\n{extra}\n'


def write(tmp_path, text: str):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def dataset_of(tmp_path, dataset: str, host, model: str = "mlp", extra: str = ""):
    """The dataset a one-task suite naming ``dataset`` reads, loaded."""
    suite = load_suite(write(tmp_path, suite_text(task("t", dataset, model, extra))), host)
    return host.dataset(suite.model.tasks[0].dataset).load()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_DATA", str(tmp_path / "cache"))
    _files.scan.cache_clear()
    _files.digest.cache_clear()


def png_folder(root, classes=("cat", "dog"), per_class=6, size=(8, 8), mode="L", suffix=".png", seed=0):
    rng = np.random.default_rng(seed)
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape = size if mode == "L" else (*size, 3)
            pixels = (rng.random(shape) * 100 + 120 * label).astype(np.uint8)
            Image.fromarray(pixels, mode=mode).save(root / name / f"{i:02d}{suffix}")
    return root


def text_folder(root, per_class=6, encoding="utf-8"):
    words = {"sport": "ball goal team match win", "food": "bread cheese soup salt café"}
    for name, vocabulary in words.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / name / f"{i}.txt").write_text(f"{vocabulary} number {i}", encoding=encoding)
    return root


# ---------------------------------------------------------------------------- each kind, read


def test_an_npz_of_x_and_y_is_read_with_classes_in_sorted_order(tmp_path, host):
    x = np.arange(40 * 3, dtype=np.float64).reshape(40, 3)
    np.savez(tmp_path / "d.npz", x=x, y=np.array(["b", "a"] * 20))
    data = dataset_of(tmp_path, '{ path = "d.npz" }', host)
    assert data.name == "d.npz" and data.n_classes == 2 and data.input_shape == (3,)
    assert data.y.tolist()[:2] == [1, 0]  # "a" is class 0, "b" class 1
    assert data.x.min() == 0 and data.x.max() == 1  # min-max scaled, per column
    assert np.allclose(data.x[:, 0], np.arange(40) / 39)
    assert data.files["kind"] == "arrays" and data.files["classes"] == ["a", "b"] and data.files["files"] == 1
    assert "min-max" in data.source and data.split is None


def test_uint8_arrays_are_pixels_and_given_splits_replace_the_random_ones(tmp_path, host):
    rng = np.random.default_rng(0)
    arrays = {f"x_{s}": rng.integers(0, 256, (n, 6, 6), dtype=np.uint8) for s, n in (("train", 30), ("test", 10))}
    np.savez(tmp_path / "d.npz", **arrays, y_train=np.arange(30) % 3, y_test=np.arange(10) % 3)
    data = dataset_of(tmp_path, '{ path = "d.npz" }', host, model="cnn")
    assert np.allclose(data.x[:30], arrays["x_train"] / 255) and data.input_shape == (6, 6)
    assert data.split.tolist() == [0] * 30 + [2] * 10
    from automl_bench._files.data import split_indices

    train, val, test = split_indices(data.y, val_fraction=0.2, test_fraction=0.2, seed=0, fixed=data.split)
    assert sorted(test) == list(range(30, 40))  # the file's test split, whole
    assert len(val) == 6 and len(train) == 24 and set(train) | set(val) == set(range(30))  # val: 20% of train


def test_a_pair_of_npy_files_is_memory_mapped(tmp_path, host):
    np.save(tmp_path / "x.npy", np.linspace(0, 1, 60, dtype=np.float32).reshape(20, 3))
    np.save(tmp_path / "y.npy", np.arange(20) % 2)
    name = load_suite(write(tmp_path, suite_text(task("t", '{ path = "x.npy", labels = "y.npy" }'))),
                      host).model.tasks[0].dataset
    from automl_bench._files import arrays

    options = _files.options_of(name)
    assert isinstance(arrays._read(options, "x", mmap=True), np.memmap)
    data = host.dataset(name).load()
    assert data.x.shape == (20, 3) and data.n_classes == 2


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_names_its_label_column_and_keeps_numeric_features(tmp_path, host, suffix):
    frame = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30) % 5, "note": ["x"] * 30,
                          "kind": ["spam", "ham", "eggs"] * 10})
    getattr(frame, "to_csv" if suffix == ".csv" else "to_parquet")(tmp_path / f"t{suffix}", index=False)
    data = dataset_of(tmp_path, f'{{ path = "t{suffix}", label = "kind" }}', host)
    assert data.input_shape == (2,) and data.files["classes"] == ["eggs", "ham", "spam"]
    assert data.y.tolist()[:3] == [2, 1, 0]
    assert data.files["options"] == {"label": "kind", "features": ["a", "b"]}  # the columns as resolved
    chosen = dataset_of(tmp_path, f'{{ path = "t{suffix}", label = "kind", features = ["b"] }}', host)
    assert chosen.input_shape == (1,) and np.allclose(chosen.x[:5, 0], [0, 0.25, 0.5, 0.75, 1])


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_an_image_folder_has_one_class_per_subfolder(tmp_path, host, suffix):
    png_folder(tmp_path / "photos", suffix=suffix)
    data = dataset_of(tmp_path, '{ path = "photos" }', host, model="cnn")  # kind inferred: images
    assert data.input_shape == (8, 8) and data.n_classes == 2 and len(data.y) == 12
    assert data.files["kind"] == "images" and data.files["files"] == 12
    assert data.files["options"] == {"image_size": [8, 8], "color_mode": "grayscale"}
    assert data.x[data.y == 1].mean() > data.x[data.y == 0].mean()  # the dog pixels are brighter


def test_images_are_resized_and_made_rgb_as_asked(tmp_path, host):
    png_folder(tmp_path / "photos", mode="RGB", size=(10, 12))
    data = dataset_of(tmp_path, '{ path = "photos", image_size = [6, 5] }', host, model="cnn")
    assert data.input_shape == (6, 5, 3) and "resized" in data.source
    gray = dataset_of(tmp_path, '{ path = "photos", image_size = [6, 5], color_mode = "grayscale" }', host,
                      model="cnn")
    assert gray.input_shape == (6, 5)


def test_an_image_folder_with_train_and_test_subfolders_fixes_those_splits(tmp_path, host):
    png_folder(tmp_path / "photos" / "train", per_class=8)
    png_folder(tmp_path / "photos" / "test", per_class=2, seed=1)
    data = dataset_of(tmp_path, '{ path = "photos" }', host, model="cnn")
    assert sorted(data.split.tolist()) == [0] * 16 + [2] * 4


def test_a_text_folder_becomes_word_ids_or_stays_text(tmp_path, host):
    text_folder(tmp_path / "notes")
    data = dataset_of(tmp_path, '{ path = "notes", sequence_length = 8, vocab_size = 50 }', host, model="rnn",
                      extra="[tasks.space]\nembedding = 4\n")
    assert data.vocab_size == 50 and data.input_shape == (8,) and data.files["classes"] == ["food", "sport"]
    assert data.x.dtype == np.int64 and data.x.max() < 50 and (data.x[:, 0] == 0).all()  # padded at the front
    options = _files.resolve({"path": "notes"}, tmp_path, as_text=True)
    texts = _files.load(options.name)
    assert texts.x[0] == "bread cheese soup salt café number 0" and texts.vocab_size is None


# ---------------------------------------------------------------------------- digests and the cache


def test_the_digest_is_cached_by_size_and_time_and_sees_a_change(tmp_path, monkeypatch):
    png_folder(tmp_path / "photos")
    name = _files.resolve({"path": "photos"}, tmp_path).name
    first = _files.digest(name)
    from automl_bench._files import digests

    reads = []
    monkeypatch.setattr(digests, "file_sha256", lambda path: reads.append(path) or "x")
    _files.digest.cache_clear()
    assert _files.digest(name) == first and reads == []  # nothing read again
    changed = tmp_path / "photos" / "cat" / "00.png"
    changed.write_bytes(changed.read_bytes() + b"\0")
    _files.digest.cache_clear()
    assert _files.digest(name) != first and reads == [changed]


def test_a_folder_is_decoded_once_then_memory_mapped_with_its_headers_kept(tmp_path, monkeypatch):
    png_folder(tmp_path / "photos")
    name = _files.resolve({"path": "photos"}, tmp_path).name
    first = _files.load(name)
    from automl_bench._files import folders

    monkeypatch.setattr(folders, "_load_images", lambda *a: pytest.fail("decoded again"))
    monkeypatch.setattr(folders, "_header", lambda *a: pytest.fail("a header read again"))
    _files.scan.cache_clear()  # as in a new process: the headers come from the cache too
    _files.digest.cache_clear()
    again = _files.load(name)
    assert isinstance(again.x.base, np.memmap) and again.sha256 == first.sha256  # a view of the cached file


def test_changed_files_stop_a_resumed_run_until_fresh(tmp_path, host):
    png_folder(tmp_path / "photos")
    path = write(tmp_path, suite_text(task("t", '{ path = "photos" }', "cnn")))
    options = RunOptions(out=tmp_path / "results")
    run_suite(load_suite(path, host), host, options)
    extra = tmp_path / "photos" / "dog" / "new.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(extra)
    _files.scan.cache_clear()
    _files.digest.cache_clear()
    with pytest.raises(ResultsError, match=r"the files of task 't' changed .* --fresh"):
        run_suite(load_suite(path, host), host, options)
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "results", fresh=True))
    assert pd.read_csv(results.directory / "trials.csv")["dataset_files"].tolist() == [13]


# ---------------------------------------------------------------------------- bad input, named


@pytest.mark.parametrize(("make", "dataset", "expected"), [
    (lambda p: None, '{ path = "nowhere" }', "no such file or folder: "),
    (lambda p: (p / "empty").mkdir(), '{ path = "empty", kind = "images" }', "empty: no class subfolders"),
    (lambda p: png_folder(p / "one", classes=("cat",)), '{ path = "one" }', "one class subfolder only ('cat')"),
    (lambda p: np.savez(p / "d.npz", x=np.zeros((5, 2)), y=np.zeros(4, dtype=int)), '{ path = "d.npz" }',
     "holds 5 samples but"),
    (lambda p: np.savez(p / "d.npz", x=np.zeros((4, 2)), y=np.array([0.5, 1, 0, 1])), '{ path = "d.npz" }',
     "key 'y': labels must be integers or strings, found float64"),
    (lambda p: np.savez(p / "d.npz", x=np.zeros((4, 2, 2, 2, 2)), y=np.array([0, 1, 0, 1])), '{ path = "d.npz" }',
     "shape (4, 2, 2, 2, 2) is not samples of a shape a model family reads"),
    (lambda p: np.savez(p / "d.npz", a=np.zeros(3)), '{ path = "d.npz" }', "holds keys x and y, or x_train"),
    (lambda p: pd.DataFrame({"a": [1, 2], "y": [0, 1]}).to_csv(p / "t.csv", index=False), '{ path = "t.csv" }',
     "no label column 'label'; its columns: a, y"),
    (lambda p: pd.DataFrame({"a": ["x", "y"], "label": [0, 1]}).to_csv(p / "t.csv", index=False),
     '{ path = "t.csv", features = ["a"] }', "feature column 'a' is not numeric (e.g. 'x')"),
    (lambda p: (p / "t.csv").write_text(""), '{ path = "t.csv" }', "t.csv: empty file"),
    (lambda p: (png_folder(p / "photos"), (p / "photos" / "dog" / "notes.txt").write_text("hi")),
     '{ path = "photos", kind = "images" }', "notes.txt: cannot be read as an image"),
    (lambda p: (png_folder(p / "photos"), (p / "photos" / "dog" / "bad.png").write_text("not a png")),
     '{ path = "photos" }', "bad.png: cannot be read as an image"),
    (lambda p: (text_folder(p / "notes"), (p / "notes" / "food" / "x.txt").write_bytes(b"caf\xe9")),
     '{ path = "notes" }', "x.txt: not utf-8 text (byte 0xe9 at offset 3)"),
    (lambda p: png_folder(p / "photos"), '{ path = "photos", label = "kind" }',
     "option 'label' applies to kind 'table', not 'images'"),
])
def test_bad_files_are_named_where_the_suite_names_them(tmp_path, host, make, dataset, expected):
    make(tmp_path)
    found = problems(tmp_path, suite_text(task("t", dataset)), host)
    the_one(found, expected)
    assert "tasks[0].dataset" in found[0]


def test_every_bad_dataset_is_reported_at_once(tmp_path, host):
    np.savez(tmp_path / "d.npz", a=np.zeros(3))
    the_one(problems(tmp_path, suite_text(task("a", '{ path = "nowhere" }') + task("b", '{ path = "d.npz" }')), host),
            "no such file", "holds keys x and y")


def test_classes_and_shots_the_files_cannot_give_are_refused(tmp_path, host):
    png_folder(tmp_path / "photos", per_class=5)
    the_one(problems(tmp_path, suite_text(task("t", '{ path = "photos" }', "cnn", "classes = [0, 2]")), host),
            "dataset the files ")
    the_one(problems(tmp_path, suite_text(task("t", '{ path = "photos" }', "cnn", "shots = 4")), host),
            "shots = 4 training examples per class")


def test_bad_content_is_named_when_the_data_loads(tmp_path, host):
    """What only the features show (NaN, an undecodable image) is found when the run loads the
    data, before any trial; `bench validate` reads no array features and decodes no image."""
    x = np.zeros((6, 2))
    x[4, 1] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(6) % 2)
    with pytest.raises(DataError, match=r"d.npz, key 'x': NaN or infinite features, first in sample 4"):
        dataset_of(tmp_path, '{ path = "d.npz" }', host)
    png_folder(tmp_path / "photos")
    cut = tmp_path / "photos" / "cat" / "03.png"
    cut.write_bytes(cut.read_bytes()[:60])  # the header survives, the pixels do not
    with pytest.raises(DataError, match=r"03.png: cannot be decoded as an image"):
        dataset_of(tmp_path, '{ path = "photos" }', host, model="cnn")


def test_a_typo_among_the_first_rows_is_named_not_dropped(tmp_path, host):
    """A column is typed from the whole file: one value that is not a number among numbers, early
    or late, is an error at its line, at validation and at load, never a feature silently lost."""
    for where in (1, 1500):
        rows = ["a,b,label"] + [f"{i},{i % 3},{i % 2}" for i in range(2000)]
        rows[where] = "0.5x,1,0"
        (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
        expected = f"t.csv: line {where + 1}, column 'a': '0.5x' is not a number, though 1999 of the column's 2000"
        the_one(problems(tmp_path, suite_text(task("t", '{ path = "t.csv" }')), host), expected)
        _files.scan.cache_clear()
        with pytest.raises(DataError, match=re.escape(expected)):
            frames.load(_files.resolve({"path": "t.csv"}, tmp_path), None)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_categorical_column_is_one_hot_encoded_and_recorded(tmp_path, host, suffix):
    frame = pd.DataFrame({"a": np.arange(12.0), "colour": ["red", "blue", "green"] * 4, "note": ["n"] * 12,
                          "label": [0, 1] * 6})
    getattr(frame, "to_csv" if suffix == ".csv" else "to_parquet")(tmp_path / f"t{suffix}", index=False)
    data = dataset_of(tmp_path, f'{{ path = "t{suffix}", categorical = ["colour"] }}', host)
    assert data.input_shape == (4,)
    assert data.x[:3, 1:].tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]  # blue, green, red: sorted
    assert data.files["options"] == {"label": "label", "features": ["a", "colour"], "categorical": ["colour"],
                                     "categories": {"colour": ["blue", "green", "red"]}}
    assert "categorical colour one-hot over 3 categories" in data.source
    assert "text columns left out: note" in data.source
    mixed = pd.DataFrame({"size": ["S", "M", "3"] * 4, "label": [0, 1] * 6})
    mixed.to_csv(tmp_path / "m.csv", index=False)
    the_one(problems(tmp_path, suite_text(task("t", '{ path = "m.csv" }')), host),
            "m.csv: line 2, column 'size': 'S' is not a number, though 4 of the column's 12 values are")
    assert dataset_of(tmp_path, '{ path = "m.csv", categorical = ["size"] }', host).input_shape == (3,)


@pytest.mark.parametrize("dataset, expected", [
    ('{ path = "t.csv", categorical = ["nope"] }', "no column 'nope' (in categorical); its columns: a, colour, label"),
    ('{ path = "t.csv", categorical = ["label"] }', "the label column 'label' is also listed in categorical"),
    ('{ path = "t.csv", features = ["a"], categorical = ["colour"] }',
     "categorical column 'colour' is not in features"),
    ('{ path = "t.csv", features = ["colour"] }', "declare it categorical = ['colour']"),
])
def test_bad_categorical_columns_are_named(tmp_path, host, dataset, expected):
    pd.DataFrame({"a": [1, 2, 3], "colour": ["r", "g", "b"], "label": [0, 1, 0]}).to_csv(tmp_path / "t.csv",
                                                                                        index=False)
    the_one(problems(tmp_path, suite_text(task("t", dataset)), host), expected)


def test_skip_bad_files_skips_and_counts_them(tmp_path, host):
    png_folder(tmp_path / "photos")
    (tmp_path / "photos" / "dog" / "bad.png").write_text("not a png")
    data = dataset_of(tmp_path, '{ path = "photos", skip_bad_files = true }', host, model="cnn")
    assert len(data.y) == 12 and data.files["skipped"] == ["dog/bad.png"]
    assert "1 unreadable file(s) skipped" in data.source


@pytest.mark.parametrize("broken", [("dog",), ("cat", "dog")])
def test_a_class_whose_every_file_is_skipped_says_it_holds_files_none_readable(tmp_path, host, broken):
    png_folder(tmp_path / "photos", per_class=2)
    for name in broken:
        for image in (tmp_path / "photos" / name).iterdir():
            image.write_text("not a png")
    expected = (f"photos: class subfolder {broken[0]!r} holds 2 file(s), none readable (all skipped by "
                "skip_bad_files)")
    the_one(problems(tmp_path, suite_text(task("t", '{ path = "photos", skip_bad_files = true }', "cnn")), host),
            expected)


# ---------------------------------------------------------------------------- a real run, every kind


@pytest.mark.timeout(300)
def test_a_capped_torch_run_reads_every_kind_and_transfers_onto_an_image_folder(tmp_path):
    pytest.importorskip("torch")
    from automl_bench._manager import get_plugin_manager

    host = get_plugin_manager()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((60, 4)), y=np.arange(60) % 3)
    pd.DataFrame({"a": rng.random(60), "b": rng.random(60), "label": ["x", "y"] * 30}).to_csv(tmp_path / "t.csv",
                                                                                             index=False)
    pd.DataFrame({"a": rng.random(60), "label": ["x", "y"] * 30}).to_parquet(tmp_path / "t.parquet")
    png_folder(tmp_path / "png", classes=("a", "b", "c", "d"), per_class=10)
    png_folder(tmp_path / "jpg", per_class=10, suffix=".jpg", mode="RGB")
    text_folder(tmp_path / "notes", per_class=10)
    tasks = (task("npz", '{ path = "d.npz" }') + task("csv", '{ path = "t.csv" }')
             + task("parquet", '{ path = "t.parquet" }') + task("png", '{ path = "png" }', "cnn")
             + task("jpg", '{ path = "jpg" }', "cnn")
             + task("notes", '{ path = "notes", sequence_length = 6 }', "rnn", "[tasks.space]\nembedding = 4\n")
             + task("transfer", '{ path = "png" }', "cnn",
                    'classes = [2, 3]\nmodes = ["frozen"]\n[tasks.source]\ndataset = { path = "png" }\n'
                    'classes = [0, 1]\nparams = { conv_blocks = 1, filters = 4, epochs = 1 }\n'))
    path = write(tmp_path, suite_text(tasks, backend="torch"))
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "results"))
    frame = pd.read_csv(results.directory / "trials.csv")
    assert set(frame["status"]) == {"ok"}
    assert set(frame["task"]) == {"npz", "csv", "parquet", "png", "jpg", "notes", "transfer-frozen"}
    by_task = frame.set_index("task")
    assert by_task.loc["png", "dataset_files"] == 40 and len(by_task.loc["png", "dataset_files_sha256"]) == 64
    assert by_task.loc["transfer-frozen", "dataset"] == "png[2,3]"
    assert by_task.loc["transfer-frozen", "source_dataset_sha256"]  # pretrained on the folder's classes 0 and 1


# ---------------------------------------------------------------------------- the shipped example


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """suites/own-data.toml beside the files examples/make_data.py writes, as in a checkout."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    here = tmp_path_factory.mktemp("example")
    (here / "suites").mkdir()
    shutil.copy(root / "suites" / "own-data.toml", here / "suites")
    subprocess.run([sys.executable, str(root / "examples" / "make_data.py"), "--out", str(here / "examples" / "data")],
                   check=True, capture_output=True)
    return here / "suites" / "own-data.toml"


def test_the_example_suite_validates_on_the_files_its_script_makes(example):
    from click.testing import CliRunner

    from automl_bench._cli import cli

    result = CliRunner().invoke(cli, ["validate", str(example)])
    assert result.exit_code == 0 and "6 tasks" in result.output, result.output


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_example_suite_runs_capped(example, tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "automl_bench", "run", str(example), "--out", str(tmp_path),
                           "--max-trials", "1", "--max-epochs", "1", "--seeds", "0", "--strict", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    trials = pd.read_csv(next(tmp_path.glob("own-data*/trials.csv")))
    assert len(trials) == 12 and set(trials["status"]) == {"ok"}  # 6 tasks x 2 strategies
    assert (trials["dataset_files"] > 0).all() and trials["dataset_files_sha256"].str.len().eq(64).all()


def test_a_run_on_bad_content_stops_before_any_trial_naming_the_sample(tmp_path):
    import subprocess
    import sys

    x = np.random.default_rng(0).random((40, 3))
    x[7, 2] = np.inf
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(40) % 2)
    path = write(tmp_path, suite_text(task("t", '{ path = "d.npz" }'), backend="numpy"))
    done = subprocess.run([sys.executable, "-m", "automl_bench", "run", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "d.npz, key 'x': NaN or infinite features, first in sample 7" in done.stderr
    assert not list((tmp_path / "out").rglob("trials.csv"))  # no trial ran
