"""What a suite's ``dataset = { ... }`` table says, resolved (`Options`), and what a dataset's
metadata says (`Scan`): the records the kinds' modules share."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

PREFIX = "files:"
KINDS = ("arrays", "table", "images", "text")
#: Options that apply to one kind only (the rest apply to every kind).
KIND_OPTIONS = {
    "arrays": ("labels",),
    "table": ("label", "features", "categorical"),
    "images": ("image_size", "color_mode", "skip_bad_files"),
    "text": ("encoding", "vocab_size", "sequence_length", "skip_bad_files"),
}


@dataclass(frozen=True)
class Options:
    """How to read one dataset of files: what a suite's ``dataset = { ... }`` table says, the path
    made absolute and the kind inferred. Defaults are those of Keras' loaders where it has one."""

    path: str
    kind: str
    #: arrays: a .npy of labels beside a .npy of features
    labels: str | None = None
    #: table: the label column, the feature columns (None: every other numeric column, then the
    #: categorical ones), and the columns one-hot encoded as categories
    label: str = "label"
    features: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    #: images: (height, width) every image is resized to (None: their own size, which must agree),
    #: and "grayscale" or "rgb" (None: grayscale when every image is, else rgb)
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None
    #: images and text: skip (and count) files that cannot be read instead of stopping
    skip_bad_files: bool = False
    #: text: the files' encoding; the vocabulary's size (ids 0 = padding, 1 = unknown word) and the
    #: words kept per text (the first ones), or ``as_text`` to keep the texts for a sentence encoder
    encoding: str = "utf-8"
    vocab_size: int = 10_000
    sequence_length: int = 100
    as_text: bool = False

    @property
    def name(self) -> str:
        """The dataset name a suite's task carries: ``files:`` and these options as JSON."""
        given = {f.name: getattr(self, f.name) for f in fields(self)
                 if getattr(self, f.name) != f.default or f.name in ("path", "kind")}
        return PREFIX + json.dumps(given, sort_keys=True, separators=(",", ":"))

    @property
    def label_text(self) -> str:
        """A short name for tables and messages: the file or folder's name."""
        return Path(self.path).name

    def preprocessing(self, scan: "Scan | None" = None) -> dict[str, Any]:
        """The options that change what a model reads, as recorded with every result: those the
        suite gave, with what ``scan`` resolved for those it left out (an image size, a color mode,
        a table's feature columns)."""
        kept = {k: v for k, v in asdict(self).items() if k not in ("path", "kind", "skip_bad_files")
                and (k in KIND_OPTIONS[self.kind] or k == "as_text" and self.kind == "text")}
        kept.update({k: v for k, v in (scan.resolved if scan is not None else ()) if kept.get(k) is None})
        return {k: list(v) if isinstance(v, tuple) else v for k, v in kept.items() if v is not None}


@dataclass(frozen=True)
class Scan:
    """What a dataset's metadata says, read without its features."""

    #: Every file read: its path relative to the dataset's folder (with ``/``), or the file's own
    #: name, in the order hashed.
    files: tuple[str, ...]
    classes: tuple[str, ...]
    class_counts: tuple[int, ...]
    #: One sample's shape as a model reads it, and its kind ("image", "features", "sequence",
    #: "tokens", "text"; None where the shape leaves it open)
    input_shape: tuple[int, ...] | None
    sample_kind: str | None
    #: Files skipped with ``skip_bad_files``: (file, why)
    skipped: tuple[tuple[str, str], ...] = ()
    #: Whether the files fix some samples' split (train / val / test subfolders or arrays)
    fixed_splits: bool = False
    #: Options the suite left out, as the files decided them: (("image_size", (28, 28)), ...)
    resolved: tuple[tuple[str, Any], ...] = ()
    #: Folders: each file's class index and split code (-1: drawn), in the order of ``files``
    labels: tuple[int, ...] = ()
    splits: tuple[int, ...] = ()


def is_files(name: str) -> bool:
    return name.startswith(PREFIX)


def shown(name: str) -> str:
    """A dataset name as messages show it: a user's files by their path, others quoted."""
    if is_files(name):
        path = json.loads(name[len(PREFIX):]).get("path")
        return f"the files {path}" if path else "the files"
    return repr(name)


def options_of(name: str) -> Options:
    data = json.loads(name[len(PREFIX):])
    for key in ("features", "image_size"):
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    return Options(**data)
