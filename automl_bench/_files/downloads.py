"""Files that datasets need: found locally, or downloaded once into a cache and verified.

Where a dataset's files are looked for, in order:

1. ``$AUTOML_BENCH_DATA/<dataset>/`` (default: the platform's user cache directory, e.g.
   ``~/.cache/automl-bench`` on Linux). Put files there by hand to use a local copy.
2. Extra directories the dataset names (e.g. a Debian package's path).
3. Each mirror in turn, downloading into the cache directory of step 1.

Every file is checked against its MD5 before use (a mismatch is an error, never a silent
re-download or a half-loaded dataset). A download goes to a temporary name and is renamed
only once complete and verified.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from automl_bench.errors import DataError

ENV_DATA = "AUTOML_BENCH_DATA"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str = ""
    #: "file": the MD5 is of the file as stored; "gunzip": of its decompressed content
    #: (Debian re-compresses some packaged files, changing the .gz bytes but not the data).
    digest_of: str = "file"
    #: For files published with a SHA-256 instead of an MD5.
    sha256: str = ""


def data_root() -> Path:
    root = os.environ.get(ENV_DATA)
    if root:
        return Path(root)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("automl-bench"))


def md5_of(path: Path, decompress: bool = False, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)  # MD5 where that is what the publisher gives
    opener = gzip.open if decompress else open
    try:
        with opener(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, EOFError) as exc:  # truncated or not gzip at all
        raise DataError(f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}); delete it and retry") from None
    return h.hexdigest()


def verify(path: Path, file: RemoteFile) -> None:
    algorithm, expected = ("sha256", file.sha256) if file.sha256 else ("md5", file.md5)
    got = md5_of(path, decompress=file.digest_of == "gunzip", algorithm=algorithm)
    if got != expected:
        raise DataError(f"{path}: checksum mismatch ({algorithm} {got}, expected {expected}); the file is corrupt, "
                        "truncated or not the published one: delete it and retry")


def fetch(dataset: str, files: Sequence[RemoteFile], mirrors: Sequence[str],
          extra_dirs: Sequence[Path] = (), timeout: float = 60.0) -> dict[str, Path]:
    """Paths of every file, verified; downloading what is missing. Raises `DataError`."""
    cache = data_root() / dataset
    found: dict[str, Path] = {}
    missing = []
    for file in files:
        candidates = [cache / file.name, *(Path(d) / file.name for d in extra_dirs)]
        local = next((p for p in candidates if p.is_file()), None)
        if local is None:
            missing.append(file)
            continue
        verify(local, file)
        found[file.name] = local
    errors: list[str] = []
    for file in missing:
        path = _download(cache, file, mirrors, timeout, errors)
        if path is None:
            names = ", ".join(f.name for f in missing)
            raise DataError(
                f"dataset {dataset!r}: cannot find or download {file.name} ({'; '.join(errors)}). "
                f"Put the files {names} in {cache} (or set {ENV_DATA}) and run again")
        found[file.name] = path
    return found


def _download(cache: Path, file: RemoteFile, mirrors: Sequence[str], timeout: float, errors: list[str]) -> Path | None:
    cache.mkdir(parents=True, exist_ok=True)
    target, partial = cache / file.name, cache / (file.name + ".part")
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + file.name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            partial.unlink(missing_ok=True)
            continue
        try:
            verify(partial, file)
        except DataError as exc:
            errors.append(f"{url}: {exc}")
            partial.unlink(missing_ok=True)
            continue
        partial.replace(target)
        return target
    return None
