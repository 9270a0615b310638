"""Helpers for dataset plugins and for the host's fixed, stratified splits."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from automl_bench._api.records import Dataset, Splits
from automl_bench.errors import DataError

if TYPE_CHECKING:
    import numpy as np


def digest(x: "np.ndarray", y: "np.ndarray") -> str:
    """sha256 over the feature and label bytes (shape and dtype included)."""
    import numpy as np

    h = hashlib.sha256()
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


#: A word, for the token datasets: lower-case letters, digits and apostrophes.
WORD = re.compile(r"[a-z0-9']+")


def pad(sequences: list[list[int]], steps: int) -> "np.ndarray":
    """Left-pad with 0 (or keep the first ``steps`` ids) into an (n, steps) int64 array."""
    import numpy as np

    out = np.zeros((len(sequences), steps), dtype=np.int64)
    for i, ids in enumerate(sequences):
        ids = ids[:steps]
        if ids:
            out[i, steps - len(ids):] = ids
    return out


def word_ids(texts: "list[str]", vocab_size: int, steps: int) -> "tuple[np.ndarray, int, int]":
    """Texts as (n, steps) word ids (`pad`): the ``vocab_size - 2`` most frequent lower-case words
    over all texts (ties alphabetical; no labels used) get ids 2.., any other word 1, padding 0.
    Also returns how many distinct words were kept, and found."""
    words = [WORD.findall(t.lower()) for t in texts]
    counts = Counter(w for ws in words for w in ws)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))[:vocab_size - 2]
    ids = {w: i + 2 for i, w in enumerate(ranked)}
    return pad([[ids.get(w, 1) for w in ws] for ws in words], steps), len(ranked), len(counts)


def make_dataset(name: str, x: "np.ndarray", y: "np.ndarray", source: str, vocab_size: int | None = None, *,
                 split: "np.ndarray | None" = None, files: "dict[str, Any] | None" = None) -> Dataset:
    """Check and wrap arrays: float32 features in [0, 1] (or, with ``vocab_size``, int64 token
    ids in [0, vocab_size), 0 for padding; or strings, a text dataset), integer labels 0..k-1;
    ``split`` fixes some samples' split (`Dataset.split`), ``files`` describes a user's files."""
    import numpy as np

    text = np.asarray(x).dtype.kind == "U"
    x = np.asarray(x) if text else np.asarray(x, dtype=np.float32 if vocab_size is None else np.int64)
    y = np.asarray(y).astype(np.int64)
    if len(x) != len(y) or len(x) == 0:
        raise DataError(f"dataset {name!r}: {len(x)} samples but {len(y)} labels")
    low, high = (0, 1) if vocab_size is None else (0, vocab_size - 1)
    if not text and (x.min() < low or x.max() > high):
        what = "features must be scaled to [0, 1]" if vocab_size is None else f"token ids must be in [0, {high}]"
        raise DataError(f"dataset {name!r}: {what}, found [{x.min()}, {x.max()}]")
    classes = np.unique(y)
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        raise DataError(f"dataset {name!r}: labels must be 0..k-1, found {classes.tolist()}")
    if split is not None and len(split) != len(y):
        raise DataError(f"dataset {name!r}: {len(split)} split codes for {len(y)} samples")
    return Dataset(name=name, x=x, y=y, n_classes=len(classes), source=source, sha256=digest(x, y),
                   vocab_size=vocab_size, split=split, files=files)


def make_splits(dataset: Dataset, *, val_fraction: float, test_fraction: float, seed: int) -> Splits:
    """Stratified train / validation / test splits, the same for the same seed."""
    return splits_at(dataset, split_indices(dataset.y, val_fraction=val_fraction, test_fraction=test_fraction,
                                            seed=seed, fixed=dataset.split))


def split_indices(y: "np.ndarray", *, val_fraction: float, test_fraction: float, seed: int,
                  fixed: "np.ndarray | None" = None) -> "tuple[np.ndarray, np.ndarray, np.ndarray]":
    """The sample indices of stratified train / validation / test splits (scikit-learn's
    ``train_test_split``, twice), the same for the same seed.

    With ``fixed`` (`Dataset.split`), the samples it marks 1 are the validation split and 2 the
    test split; a split it leaves empty is drawn from the rest, as a fraction of the rest."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    if fixed is None:
        rest, test = train_test_split(index, test_size=test_fraction, stratify=y, random_state=seed)
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=y[rest],
                                      random_state=seed)
        return train, val, test
    rest, val, test = index[fixed <= 0], index[fixed == 1], index[fixed == 2]
    drawn_test = len(test) == 0
    if drawn_test:
        rest, test = train_test_split(rest, test_size=test_fraction, stratify=y[rest], random_state=seed)
    if len(val) == 0:
        rest, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction) if drawn_test else val_fraction,
                                     stratify=y[rest], random_state=seed)
    return rest, val, test


def splits_at(dataset: Dataset, indices: "tuple[np.ndarray, np.ndarray, np.ndarray]") -> Splits:
    """A dataset's splits at the given train / validation / test indices."""
    train, val, test = indices
    x, y = dataset.x, dataset.y
    return Splits(dataset, x[train], y[train], x[val], y[val], x[test], y[test])


def as_model_input(x: "np.ndarray", family: str) -> "np.ndarray":
    """Arrange samples channels-last for a model family, as Keras and the NumPy backend read them:
    mlp (n, features); cnn (n, height, width, channels); rnn (n, steps, features)."""
    if family == "mlp":
        return x.reshape(len(x), -1)
    if family == "cnn" and x.ndim == 3:
        return x[..., None]
    return x


def select_classes(dataset: Dataset, classes: "tuple[int, ...]") -> Dataset:
    """The samples of some classes, relabelled 0..n-1 in the order given; named e.g. ``fashion-mnist[5,6]``."""
    import numpy as np

    missing = [c for c in classes if c >= dataset.n_classes]
    if missing:
        raise DataError(f"dataset {dataset.name!r} has classes 0..{dataset.n_classes - 1}; no class {missing[0]}")
    relabel = np.full(dataset.n_classes, -1, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    keep = relabel[dataset.y] >= 0
    name = f"{dataset.name}[{','.join(map(str, classes))}]"
    return make_dataset(name, dataset.x[keep], relabel[dataset.y[keep]], f"{dataset.source}, classes {list(classes)}",
                        dataset.vocab_size, split=None if dataset.split is None else dataset.split[keep],
                        files=dataset.files)


def take_shots(splits: Splits, shots: int, seed: int) -> Splits:
    """Keep ``shots`` training examples per class, drawn by ``seed``; validation and test stay whole.

    The draw is nested: for the same seed, the examples kept at k are among those kept at any larger k.
    """
    import numpy as np

    order = np.random.default_rng([seed, 7]).permutation(len(splits.y_train))
    counts = np.bincount(splits.y_train, minlength=splits.n_classes)
    if counts.min() < shots:
        raise DataError(f"{shots} training examples per class asked, but class {int(counts.argmin())} of "
                        f"{splits.dataset.name!r} has {int(counts.min())} in its training split")
    labels = splits.y_train[order]
    rank = np.zeros(len(order), dtype=np.int64)  # position of each example among its class, in draw order
    for c in range(splits.n_classes):
        members = labels == c
        rank[members] = np.arange(members.sum())
    keep = np.sort(order[rank < shots])
    return Splits(splits.dataset, splits.x_train[keep], splits.y_train[keep], splits.x_val, splits.y_val,
                  splits.x_test, splits.y_test)


def augment(x: "np.ndarray", rng: "np.random.Generator", shift: int, flip: bool) -> "np.ndarray":
    """Randomly shifted (zero fill) and left-right flipped copies of images (n, h, w[, c])."""
    import numpy as np

    out = x.copy()
    n = len(x)
    if flip:
        mirrored = rng.random(n) < 0.5
        out[mirrored] = out[mirrored][:, :, ::-1]
    if shift:
        dy, dx = rng.integers(-shift, shift + 1, size=(2, n))
        h, w = x.shape[1:3]
        shifted = np.zeros_like(out)
        for oy in range(-shift, shift + 1):  # one slice per offset: (2 shift + 1)^2 vectorised copies
            for ox in range(-shift, shift + 1):
                idx = np.flatnonzero((dy == oy) & (dx == ox))
                if len(idx) == 0:
                    continue
                src = out[idx][:, max(-oy, 0):h - max(oy, 0), max(-ox, 0):w - max(ox, 0)]
                shifted[idx, max(oy, 0):h - max(-oy, 0), max(ox, 0):w - max(-ox, 0)] = src
        out = shifted
    return out
