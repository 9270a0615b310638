"""How the store finds damage instead of guessing at it (`automl_bench._results.store` uses it).

- SQLite's own check (``PRAGMA quick_check``, when a store is opened) finds a broken structure;
- each trial and final row carries a checksum of its values (`row_checksum`), which finds bytes
  overwritten inside a value, and `verify` reads every value against it before a run writes;
- a run that writes keeps a list beside the store (`RECORDED`) of what the store held when the run
  began and of what it committed since, so that a ``-wal`` deleted, cut short or replaced after a
  killed run is said (`lost`), not silently forgotten; a ``-wal`` of another moment beside its
  ``-shm`` is refused before SQLite reads through them (`wal_of_another_moment`);
- any SQLite failure, undecodable value or unreadable JSON becomes a `StoreError` naming the file
  and what to do (`guarded`, `damaged`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from automl_bench._results.schema import CHECKED, JSON_COLUMNS, LATER
from automl_bench.errors import StoreError

T = TypeVar("T")


def checksum(*values: Any) -> str:
    """The checksum of a row's values as SQLite hands them back (so writing and checking agree)."""
    return hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def row_checksum(table: str, *values: Any) -> str:
    """The checksum of a row of ``table`` (`CHECKED` order), leaving out its last `LATER` columns
    while they hold their defaults."""
    for _name, default in reversed(LATER.get(table, ())):
        if not values or values[-1] != default:
            break
        values = values[:-1]
    return checksum(*values)


def guarded(method: Callable[..., T]) -> Callable[..., T]:
    """A store method whose SQLite failures, undecodable values and unreadable JSON become a
    `ResultsError` naming the file and what to do, never a traceback, and never a silent loss."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:  # a bug elsewhere stays a bug
            raise damaged(self.path, exc) from None

    return guarded


def damaged(path: Path, exc: BaseException | str) -> StoreError:
    """The error for a store that cannot be read or written as it is."""
    text = (str(exc).splitlines() or [""])[0] or type(exc).__name__
    if any(word in text for word in ("readonly", "read-only", "unable to open", "permission")):
        return StoreError(f"{path} cannot be written ({text}); nothing in it was changed. Make it and its folder "
                          "writable, or rerun with --out to write elsewhere")
    return StoreError(
        f"{path} is damaged: {text}; nothing in it was changed. Restore it from a backup, or rerun with --fresh to "
        "discard it and start over, or with --out to write elsewhere; `sqlite3 FILE .dump` shows what can still be "
        "read")


def stored_keys(db: sqlite3.Connection) -> set[tuple[str, ...]]:
    """Every trial's and test score's key in a store, superseded ones included, as `RECORDED`
    lists them."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    keys: set[tuple[str, ...]] = set()
    for kind, columns, names in (("trial", "task, backend, strategy, seed, number", ("trials", "superseded_trials")),
                                 ("final", "task, backend, strategy, seed", ("finals", "superseded_finals"))):
        for table in (t for t in names if t in tables):
            keys |= {(kind, *map(str, k)) for k in db.execute(f"SELECT {columns} FROM {table}")}  # noqa: S608
    return keys


def wal_of_another_moment(path: Path) -> bool:
    """Whether the store's -wal was replaced by another moment's after its last writer ended: the
    -shm beside it (SQLite's index of the -wal) indexes frames, but of a -wal with other salts.
    SQLite then reads the store through the wrong index, and a read can show rows that copying
    the -wal in loses (the store fuzzer's swap-wal found this). Read only when no run writes:
    a live writer changes the two one after the other."""
    wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
    try:
        with wal.open("rb") as f:
            head = f.read(32)
        with shm.open("rb") as f:
            index = f.read(96)
    except OSError:
        return False
    if len(head) < 32 or len(index) < 96 or index[:48] != index[48:] or index[12] != 1:
        return False  # no index SQLite would trust: it rebuilds one from the -wal itself
    frames = int.from_bytes(index[16:20], sys.byteorder)  # the index header is in native byte order
    return frames > 0 and index[32:40] != head[16:24]  # the salts: copied from the -wal's header


def refuse_wal_of_another_moment(path: Path) -> None:
    """A `StoreError` if `wal_of_another_moment`: before SQLite reads (or writes) through them."""
    if wal_of_another_moment(Path(path)):
        name = Path(path).name
        raise StoreError(f"{path}: its {name}-wal is not the one its {name}-shm indexes (a -wal of another moment "
                         "was put beside it), and reading through them would lose trials. Nothing was changed. Put "
                         "the -wal of the same moment back; or rerun with --fresh to start over")


def recorded_lines(keys: Iterable[tuple[Any, ...]]) -> bytes:
    """`RECORDED`'s lines for trial and test-score keys: tab-separated, one a line."""
    return "".join("\t".join(map(str, key)) + "\n" for key in keys).encode("utf-8", "surrogatepass")


def as_stored(values: tuple[Any, ...], kinds: str) -> tuple[Any, ...] | None:
    """``values`` as SQLite will hand them back from columns of ``kinds`` (`TRIAL_KINDS`), so that
    a row's checksum can be computed before it is written; None where that is not plain (a float
    in an INTEGER or TEXT column, a value of another type): SQLite then computes it (`Store._seal`)."""
    out = []
    for value, kind in zip(values, kinds):
        cls = value.__class__
        if value is None:
            out.append(None)
        elif kind == "T" and cls is str:
            out.append(value)
        elif kind == "I" and cls in (int, bool):
            out.append(int(value))
        elif kind == "R" and cls in (float, int, bool):
            # a REAL column reads back as a float; NaN is stored as NULL; -0.0 comes back as 0.0
            out.append(None if value != value else float(value) + 0.0)
        else:
            return None
    return tuple(out)


def lost(db: sqlite3.Connection, recorded: Path, name: str) -> str:
    """What a store whose last writer was killed lost, or "": the trials and test scores that
    its `RECORDED` file lists and the store (``db``, file ``name``) lacks; the file exists only
    after such a run."""
    try:
        lines = recorded.read_text(encoding="utf-8", errors="replace").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return ""
    stored = stored_keys(db)
    listed = [tuple(line.split("\t")) for line in lines if line.count("\t") in (4, 5)]
    missing = [key for key in listed if key not in stored]
    if not missing:
        return ""
    trials = [k for k in missing if k[0] == "trial"]
    shown = "; ".join("/".join(k[1:4]) + f"/seed={k[4]} trial {k[5]}" for k in trials[:3])
    return (f"{len(trials)} trials and {len(missing) - len(trials)} test scores it recorded are missing from "
            f"it ({shown or 'test scores only'}{'; ...' if len(trials) > 3 else ''}): its {name}-wal "
            "was deleted, damaged or replaced")


def verify(db: sqlite3.Connection, path: Path) -> None:
    """Read every stored value once, as resuming and reporting will, and check each row against
    its checksum: bytes overwritten inside a value leave SQLite's structure whole (its integrity
    check passes), and show only here, even where they still read as valid JSON. A row whose
    checksum matches holds the JSON text it was written with, so only rows older than checksums
    have their JSON parsed here. A run calls this before it writes anything, so a damaged store
    is said and left as it was."""
    for table, columns in CHECKED.items():
        parsed = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]
        key = {"trials": 5, "finals": 4}.get(table, 1)
        for row in db.execute(f"SELECT {', '.join(columns)}, checksum FROM {table}"):  # decodes as read
            *values, stored = row
            if not stored:  # written before checksums: its JSON is read to be sure it reads
                for i in parsed:
                    json.loads(values[i])
            elif stored != row_checksum(table, *values):  # a match: the JSON is the text json.dumps wrote
                where = ", ".join(f"{c}={v!r}" for c, v in zip(columns[:key], values))
                raise damaged(path, f"a {table.removesuffix('s')} row ({where}) does not match its checksum")
