"""Text as token ids, for RNNs with an embedding: Debian's fortunes (offline) and IMDB (downloaded).

Each text becomes a fixed-length sequence of integer token ids, left-padded with 0; id 1 stands
for a word outside the vocabulary. Tasks read them with ``model = "rnn"`` and an ``embedding``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from automl_bench import DataError, DatasetSpec, hookimpl
from automl_bench.datasets import RemoteFile, fetch, pad

FORTUNE_DIR = Path("/usr/share/games/fortunes")
FORTUNE_CATEGORIES = ("computers", "politics", "science", "law", "food", "love", "sports", "medicine")
FORTUNE_VOCAB, FORTUNE_STEPS = 5000, 40
IMDB_FILE = RemoteFile("imdb.npz", sha256="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
IMDB_MIRRORS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",)
IMDB_VOCAB, IMDB_STEPS = 10000, 200


def read_fortunes(path: Path) -> list[str]:
    """The quotes of one fortune file (entries separated by lines holding only '%')."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return [q.strip() for q in re.split(r"^%$", text, flags=re.MULTILINE) if q.strip()]


def fortune_quotes(directory: Path = FORTUNE_DIR, dataset: str = "fortunes") -> tuple[list[str], list[int]]:
    """Every quote of the categories, in category order, with its category's index; quotes found
    in two categories are dropped."""
    missing = [c for c in FORTUNE_CATEGORIES if not (directory / c).is_file()]
    if missing:
        raise DataError(f"dataset {dataset!r} reads Debian's fortune files, and {directory / missing[0]} is missing; "
                        "install them with: apt-get install -y fortunes")
    quotes = {c: read_fortunes(directory / c) for c in FORTUNE_CATEGORIES}
    seen = Counter(q for qs in quotes.values() for q in set(qs))
    kept = [(q, label) for label, category in enumerate(FORTUNE_CATEGORIES) for q in quotes[category] if seen[q] == 1]
    return [q for q, _ in kept], [label for _, label in kept]


def load_fortunes(directory: Path = FORTUNE_DIR):
    """Which category does a quote come from? The vocabulary is the 4,998 most frequent words
    over all quotes (ties alphabetical; no labels used)."""
    import numpy as np

    from automl_bench.datasets import make_dataset, word_ids

    quotes, labels = fortune_quotes(directory)
    x, _, _ = word_ids(quotes, FORTUNE_VOCAB, FORTUNE_STEPS)
    return make_dataset("fortunes", x, np.array(labels), vocab_size=FORTUNE_VOCAB,
                        source=f"Debian fortunes in {directory}: categories {', '.join(FORTUNE_CATEGORIES)}; "
                               f"first {FORTUNE_STEPS} words, {FORTUNE_VOCAB}-id vocabulary")


def load_fortunes_text(directory: Path = FORTUNE_DIR):
    """The same quotes, labels and order as ``fortunes``, as text (whitespace runs made one
    space): a task's splits then hold the same quotes in both, so their test scores compare."""
    import numpy as np

    from automl_bench.datasets import make_dataset

    quotes, labels = fortune_quotes(directory, "fortunes-text")
    texts = np.array([" ".join(q.split()) for q in quotes])
    return make_dataset("fortunes-text", texts, np.array(labels),
                        source=f"Debian fortunes in {directory}: categories {', '.join(FORTUNE_CATEGORIES)}; the quotes "
                               "as text")


def read_imdb(path: Path):
    """The reviews (lists of word ranks, 1 = most frequent) and labels of Keras' imdb.npz."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=True) as f:  # ragged lists; the file's SHA-256 was checked first
            return [*f["x_train"], *f["x_test"]], np.concatenate([f["y_train"], f["y_test"]])
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataError(f"{path} does not hold the IMDB arrays ({type(exc).__name__}: {exc})") from None


def load_imdb():
    """IMDB movie reviews, positive or negative: 50,000 reviews (train and test together), the
    last 200 words of each, ids 2..9,999 for the 9,998 most frequent words (as Keras ranks them)."""
    from automl_bench.datasets import make_dataset

    paths = fetch("imdb", (IMDB_FILE,), IMDB_MIRRORS)
    reviews, labels = read_imdb(paths[IMDB_FILE.name])
    sequences = [[r + 1 if r + 1 < IMDB_VOCAB else 1 for r in review][-IMDB_STEPS:] for review in reviews]
    return make_dataset("imdb", pad(sequences, IMDB_STEPS), labels, vocab_size=IMDB_VOCAB,
                        source="IMDB reviews (Maas et al. 2011) from Keras' imdb.npz, sha256-verified; "
                               f"last {IMDB_STEPS} words, {IMDB_VOCAB}-id vocabulary")


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("fortunes", "which of 8 categories a quote is from: ~3,100 Debian fortunes as word ids "
                                     "(offline; an rnn with an embedding)",
                         load_fortunes, input_shape=(FORTUNE_STEPS,), kind="tokens"))
    register(DatasetSpec("fortunes-text", "the fortunes quotes as text, for a pretrained sentence encoder "
                                          "(sbert:all-MiniLM-L6-v2; offline)",
                         load_fortunes_text, input_shape=(), kind="text"))
    register(DatasetSpec("imdb", "50,000 movie reviews, positive or negative, as word ids (downloaded once, "
                                 "sha256-verified; an rnn with an embedding)",
                         load_imdb, input_shape=(IMDB_STEPS,), kind="tokens", class_counts=(25_000, 25_000)))
