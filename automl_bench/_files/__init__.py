"""Data and files: what every dataset is made of, and a user's own files as datasets.

- `data`: helpers for dataset plugins, and the host's fixed, stratified splits;
- `downloads`: files a dataset needs, found locally or downloaded once and verified;
- `options`, `arrays`, `frames`, `folders`, `labels`: a user's own files, by kind (below);
- `digests`, `cache`: their content hash, and the cache of what was decoded from them.

Datasets from a user's own files are named by a suite without writing a plugin:

    dataset = { path = "data/photos", kind = "images", image_size = [64, 64] }

Four kinds, each in its own module: ``arrays`` (.npz, .npy), ``table`` (CSV, Parquet),
``images`` (a folder with one subfolder per class) and ``text`` (the same, of .txt files).

A suite's table is resolved once, when the suite is loaded (`resolve`): the path is made
absolute, the kind inferred, and the files scanned for their metadata only (file lists, headers,
shapes, labels), so that `bench validate` finds every problem before any trial, reading no
features. What comes out is a dataset *name*, ``files:`` followed by the options as JSON, which
any process turns back into a `DatasetSpec` (`spec`): the driver and every worker read the same
files the same way without a registry entry.

What the run records of the files: their digest (a content hash over the files in a stated order,
cached by size and modification time: `automl_bench._files.digests`), their count and the
preprocessing options. The suite's identity includes the digest, so changed data is never mixed
with old results.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench.errors import DataError

from .options import KIND_OPTIONS, KINDS, PREFIX, Options, Scan, is_files, options_of

__all__ = ["KINDS", "PREFIX", "Options", "Scan", "digest", "is_files", "load", "options_of", "resolve", "scan",
           "spec"]

if TYPE_CHECKING:
    from automl_bench._api.records import Dataset
    from automl_bench._api.specs import DatasetSpec


def infer_kind(path: Path) -> str | None:
    """The kind a path's own form implies, or None when only its content could tell."""
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        return "arrays"
    if suffix in (".csv", ".parquet", ".pq", ".tsv"):
        return "table"
    if path.is_dir():
        from .folders import folder_kind

        return folder_kind(path)
    return None


def resolve(given: dict[str, Any], base: Path, *, as_text: bool = False) -> Options:
    """A suite's ``dataset = { ... }`` table (keys as the schema checked them) as `Options`:
    ``path`` relative to ``base`` (the suite's folder) made absolute, ``kind`` inferred where the
    path's form or content says it. Raises `DataError` naming the file, or the option that does not
    apply to the kind."""
    path = (base / Path(given["path"]).expanduser()).resolve()
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    kind = given.get("kind") or infer_kind(path)
    if kind is None:
        raise DataError(f"{path}: cannot tell what kind of data this is; say kind = "
                        f"{' | '.join(repr(k) for k in KINDS)}")
    wrong = [k for k in given if k not in ("path", "kind") and k not in KIND_OPTIONS[kind]]
    if wrong:
        users = [k for k, names in KIND_OPTIONS.items() if wrong[0] in names]
        raise DataError(f"option {wrong[0]!r} applies to kind {' or '.join(map(repr, users))}, not {kind!r}")
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if k not in ("path", "kind")}
    if "labels" in options:
        options["labels"] = str((base / Path(options["labels"]).expanduser()).resolve())
    return Options(path=str(path), kind=kind, **options, **({"as_text": True} if as_text and kind == "text" else {}))


def _module(kind: str) -> Any:
    from . import arrays, folders, frames

    return {"arrays": arrays, "table": frames, "images": folders, "text": folders}[kind]


@lru_cache(maxsize=32)
def scan(name: str) -> Scan:
    """The metadata of the dataset ``name`` (a ``files:`` name), read once per process."""
    options = options_of(name)
    return _module(options.kind).scan(options)


@lru_cache(maxsize=32)
def digest(name: str) -> str:
    """The content hash of the dataset's files (`automl_bench._files.digests`)."""
    from .digests import files_digest

    options = options_of(name)
    found = scan(name)
    return files_digest(Path(options.path), found.files, extra=[options.labels] if options.labels else [])


def spec(name: str) -> "DatasetSpec":
    """The `DatasetSpec` of a ``files:`` name, as a plugin would register it."""
    from automl_bench._api.specs import DatasetSpec

    options = options_of(name)
    found = scan(name)
    described = f"{options.kind} from {options.path} ({len(found.files)} file{'s' * (len(found.files) != 1)})"
    return DatasetSpec(name, described, lambda: load(name), input_shape=found.input_shape, kind=found.sample_kind,
                       class_counts=found.class_counts)


def load(name: str) -> "Dataset":
    """The whole dataset, read once and kept as arrays in the data cache (keyed by the files'
    digest and the options), so that a later run memory-maps them instead of decoding files."""
    from automl_bench._files.data import make_dataset

    from .cache import cached

    options = options_of(name)
    found = scan(name)
    files_sha256 = digest(name)
    x, y, split, vocab_size, notes = cached(files_sha256, options, lambda: _module(options.kind).load(options, found))
    provenance = {"path": options.path, "kind": options.kind, "files": len(found.files), "sha256": files_sha256,
                  "classes": list(found.classes), "options": options.preprocessing(found),
                  **({"skipped": [f for f, _ in found.skipped]} if found.skipped else {})}
    source = (f"{options.kind} {options.path}: {len(found.files)} file{'s' * (len(found.files) != 1)}, "
              f"files sha256 {files_sha256}, classes {', '.join(found.classes)}"
              + (f"; {notes}" if notes else "")
              + (f"; {len(found.skipped)} unreadable file(s) skipped" if found.skipped else ""))
    return make_dataset(options.label_text, x, y, source, vocab_size, split=split, files=provenance)
