"""What is known of each of a dataset's files, kept by the file's size and modification time:
its sha256, and for an image its header (height, width, mode) or why it cannot be read.

The dataset's digest is the sha256 of every file's path (relative to the dataset's path, with
``/``), size and own sha256, in the order the dataset's kind lists them (sorted paths). The facts
are kept in ``$AUTOML_BENCH_DATA/files/digests/``, one JSON file per dataset path, so a 10 GB
folder is read once, and a file that changed (its size or modification time did) is read again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class FileFacts:
    """The facts kept for the files under ``root``: `entry` gives a file's (a dict to read and
    add to), `save` keeps what was added for the next process."""

    def __init__(self, root: Path) -> None:
        from automl_bench._files.downloads import data_root

        key = hashlib.sha256(str(root).encode()).hexdigest()[:24]
        self.path = data_root() / "files" / "digests" / f"{key}.json"
        try:
            self.known: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.before = json.dumps(self.known, sort_keys=True)

    def entry(self, name: str, path: str) -> dict[str, Any]:
        """The facts of the file ``path``, kept as ``name``: empty but for its size and
        modification time when it is new or changed."""
        stat = os.stat(path)
        entry = self.known.get(name)
        if not (isinstance(entry, dict) and entry.get("size") == stat.st_size
                and entry.get("mtime") == stat.st_mtime_ns):
            entry = self.known[name] = {"size": stat.st_size, "mtime": stat.st_mtime_ns}
        return entry

    def save(self) -> None:
        if json.dumps(self.known, sort_keys=True) == self.before:
            return
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(self.known))
            os.replace(partial, self.path)
        except OSError:  # a read-only cache: the facts are right, only the next run reads the files again
            partial.unlink(missing_ok=True)


def files_digest(root: Path, files: Sequence[str], extra: Sequence[str] = ()) -> str:
    """The digest of ``files`` (relative to ``root``, or to its folder when it is a file, with
    ``/``) and of ``extra`` absolute paths (hashed as their path relative to that folder)."""
    facts = FileFacts(root)
    base = str(root if root.is_dir() else root.parent)
    names = [*files, *(Path(os.path.relpath(e, base)).as_posix() for e in extra)]
    total = hashlib.sha256()
    for name in names:
        path = f"{base}/{name}"
        entry = facts.entry(name, path)
        if "sha256" not in entry:
            entry["sha256"] = file_sha256(Path(path))
        total.update(f"{name}\0{entry['size']}\0{entry['sha256']}\n".encode())
    facts.save()
    return total.hexdigest()
