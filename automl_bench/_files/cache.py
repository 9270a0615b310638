"""Decoded datasets kept as arrays, so that a later run memory-maps them instead of decoding
60,000 PNGs again: ``$AUTOML_BENCH_DATA/files/arrays/<key>/``, the key a hash of the files'
digest and every option that changes what is read. A folder is written whole or not at all
(written beside, then renamed), so a run killed while writing leaves nothing half-written.
Arrays of kind ``arrays`` are not copied: they are read (memory-mapped where the format
allows) from the user's files directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .options import Options

#: What a kind's ``load`` returns: features, labels (0..k-1), split codes or None, the vocabulary
#: size of token data or None, and a note on the preprocessing for the dataset's source.
Loaded = tuple[Any, Any, Any, "int | None", str]
VERSION = 1  # of the folder's layout and of the decoding: a change makes new keys


def folder(files_sha256: str, options: "Options") -> Path:
    from automl_bench._files.downloads import data_root

    what = json.dumps([VERSION, files_sha256, options.kind, options.preprocessing(), options.skip_bad_files],
                      sort_keys=True)
    return data_root() / "files" / "arrays" / hashlib.sha256(what.encode()).hexdigest()[:32]


def cached(files_sha256: str, options: "Options", make: Callable[[], Loaded]) -> Loaded:
    import numpy as np

    if options.kind == "arrays":
        return make()
    target = folder(files_sha256, options)
    try:
        meta = json.loads((target / "meta.json").read_text())
        x = np.load(target / "x.npy", mmap_mode="r", allow_pickle=False)
        y = np.load(target / "y.npy", allow_pickle=False)
        split = np.load(target / "split.npy", allow_pickle=False) if meta["split"] else None
        return x, y, split, meta["vocab_size"], meta["notes"]
    except (OSError, ValueError, KeyError):
        pass
    x, y, split, vocab_size, notes = make()
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        np.save(partial / "x.npy", np.asarray(x), allow_pickle=False)
        np.save(partial / "y.npy", np.asarray(y), allow_pickle=False)
        if split is not None:
            np.save(partial / "split.npy", np.asarray(split), allow_pickle=False)
        (partial / "meta.json").write_text(json.dumps({"split": split is not None, "vocab_size": vocab_size,
                                                       "notes": notes, "options": options.preprocessing()}))
        os.replace(partial, target)
    except OSError:  # a full or read-only cache, or another process wrote it first: the data is loaded anyway
        shutil.rmtree(partial, ignore_errors=True)
    return x, y, split, vocab_size, notes
