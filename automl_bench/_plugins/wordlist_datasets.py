"""Language identification from Debian's word lists: a real, labelled sequence set that works offline.

Each sample is one word, read by an RNN one character at a time: 12 steps (words of 3 to 12
letters, left-padded with all-zero steps) of a one-hot vector over a fixed 49-letter alphabet (a-z and 23 accented letters).
The label is the word's language. Words found in more than one list are dropped (they have no
single answer), then 2,000 words per language are drawn with a fixed seed, so the same files
always give the same dataset; every result records its digest.
"""

from __future__ import annotations

from pathlib import Path

from automl_bench import DataError, DatasetSpec, hookimpl

DICT_DIR = Path("/usr/share/dict")
#: language -> (file under /usr/share/dict, Debian package)
LANGUAGES = {
    "english": ("american-english", "wamerican"),
    "french": ("french", "wfrench"),
    "german": ("ngerman", "wngerman"),
    "italian": ("italian", "witalian"),
    "spanish": ("spanish", "wspanish"),
    "dutch": ("dutch", "wdutch"),
}
ALPHABET = "abcdefghijklmnopqrstuvwxyzàáâäçèéêëìíîïñòóôöùúûüß"
STEPS, MIN_LETTERS, PER_LANGUAGE = 12, 3, 2000


def read_words(path: Path) -> set[str]:
    """Lower-case words of 3..12 letters, all in the alphabet (no names, no possessives)."""
    letters = set(ALPHABET)
    with open(path, encoding="utf-8") as f:
        return {w for w in (line.strip() for line in f)
                if MIN_LETTERS <= len(w) <= STEPS and w.islower() and set(w) <= letters}


def encode(words: list[str]):
    """(n, STEPS, len(ALPHABET)) one-hot, words right-aligned so the last step is the last letter."""
    import numpy as np

    x = np.zeros((len(words), STEPS, len(ALPHABET)), dtype=np.float32)
    index = {c: i for i, c in enumerate(ALPHABET)}
    for n, word in enumerate(words):
        start = STEPS - len(word)
        for t, c in enumerate(word):
            x[n, start + t, index[c]] = 1.0
    return x


def load_languages(directory: Path = DICT_DIR):
    import numpy as np

    from automl_bench.datasets import make_dataset

    missing = [(f, pkg) for f, pkg in LANGUAGES.values() if not (directory / f).is_file()]
    if missing:
        raise DataError(f"dataset 'languages' reads Debian's word lists, and {directory / missing[0][0]} is "
                        f"missing; install them with: apt-get install -y {' '.join(p for _, p in missing)}")
    lists = {lang: read_words(directory / f) for lang, (f, _) in LANGUAGES.items()}
    counts: dict[str, int] = {}
    for words in lists.values():
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    rng = np.random.default_rng(0)
    words, labels = [], []
    for label, (lang, found) in enumerate(lists.items()):
        unique = sorted(w for w in found if counts[w] == 1)
        if len(unique) < PER_LANGUAGE:
            raise DataError(f"{directory / LANGUAGES[lang][0]} has only {len(unique)} usable words; "
                            f"{PER_LANGUAGE} are needed")
        words += [unique[i] for i in rng.choice(len(unique), PER_LANGUAGE, replace=False)]
        labels += [label] * PER_LANGUAGE
    files = ", ".join(f for f, _ in LANGUAGES.values())
    return make_dataset("languages", encode(words), np.array(labels),
                        source=f"Debian word lists in {directory} ({files}): {PER_LANGUAGE} words per language, "
                               f"labels {', '.join(LANGUAGES)}")


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("languages", f"language of a word: 6 languages x {PER_LANGUAGE} words, one-hot letters "
                                      "(Debian word lists, offline; an rnn task)",
                         load_languages, input_shape=(STEPS, len(ALPHABET)), kind="sequence",
                         class_counts=(PER_LANGUAGE,) * len(LANGUAGES)))
