"""Where a problem is: ``file:line: key.path: message``, the line found from the TOML text, and
the collector that gathers every problem of a file so all are reported at once."""

from __future__ import annotations

import bisect
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator


def toml_problem(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's tomllib puts the position in the message only: "(at line 3, column 5)".
    m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
    if m:
        return f"{path}:{m.group(1)}:{m.group(2)}: malformed TOML: {msg}"
    if "end of document" in str(exc):
        line, col = text.count("\n") + 1, len(text) - text.rfind("\n")
        return f"{path}:{line}:{col}: malformed TOML: {msg} at end of file"
    return f"{path}: malformed TOML: {msg}"


_BRANCH = re.compile(r"[\[(]")  # pydantic's tags of a union branch or validator: list[...], function-after[...]


def readable(errors: list[Any]) -> list[Any]:
    """pydantic's errors as a person wants them: where one branch of a union says what is wrong,
    the branches that only say "not my type" are left out, and branch tags leave the key path."""
    def tagged(loc: tuple) -> bool:
        return any(isinstance(p, str) and _BRANCH.search(p) for p in loc)

    def plain(loc: tuple) -> tuple:
        return tuple(p for p in loc if not (isinstance(p, str) and _BRANCH.search(p)))

    said = {plain(e["loc"]) for e in errors if tagged(e["loc"]) and not e["type"].endswith("_type")}
    return [{**e, "loc": plain(e["loc"])} for e in errors
            if not (tagged(e["loc"]) and e["type"].endswith("_type") and plain(e["loc"]) in said)]


def message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return error["msg"]


def dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Locator:
    """Formats ``file:line: key.path: message``. The line is found in an index of the TOML text
    built once (which keys each line defines), so reporting many problems stays linear."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()
        self._keys: dict[str, list[int]] | None = None
        self._arrays: dict[str, list[int]] = {}

    def __call__(self, loc: tuple, message: str, at: tuple | None = None) -> str:
        """``at``: where to point instead of ``loc`` (a missing key: its table)."""
        line = self._line(loc if at is None else at)
        where = f"{self.path}:{line}" if line else self.path
        return f"{where}: {dotted(loc) or '(top level)'}: {message}"

    def _index(self) -> dict[str, list[int]]:
        if self._keys is None:
            self._keys = {}
            for i, text in enumerate(self.lines):
                header = re.match(r"\s*(\[\[?)\s*([^\]]*?)\s*\]", text)
                if header:
                    self._keys.setdefault(header.group(2).split(".")[-1].strip(), []).append(i)
                    if header.group(1) == "[[":
                        self._arrays.setdefault(header.group(2), []).append(i)
                for m in re.finditer(r"(?:^|[{,\s])([A-Za-z0-9_-]+)\s*=", text):
                    self._keys.setdefault(m.group(1), []).append(i)
        return self._keys

    def _line(self, loc: tuple) -> int | None:
        keys = self._index()
        start, found, table = 0, None, ""
        for part in loc:
            if isinstance(part, int):
                hits = self._arrays.get(table, []) if table else []  # the n-th [[table]] header
                if part < len(hits):
                    start = found = hits[part]
                continue
            table = f"{table}.{part}" if table else str(part)
            lines = keys.get(str(part), [])
            i = bisect.bisect_left(lines, start)
            if i < len(lines):
                start = found = lines[i]
        return found + 1 if found is not None else None


class Problems:
    """The problems found in one suite file, located as they are added, each said once.

    A problem of a task is added with ``task=``: the same problem at the same place for several
    tasks (a suite-wide space merged into each, or one task expanded over shots and modes) is
    said once, naming them all: ``tasks 'a', 'b': ...``."""

    def __init__(self, locator: Locator) -> None:
        self.locator = locator
        self._entries: dict[tuple, list[str]] = {}  # (loc, at, text) -> the tasks it concerns, in order

    @property
    def path(self) -> str:
        return self.locator.path

    def add(self, loc: tuple, text: str, at: tuple | None = None, *, task: str | None = None) -> None:
        """A problem at key path ``loc`` (``at``: where to point instead, as `Locator` says). With
        ``task``, the text follows the task's name: ``task 'a': text``, or ``task 'a' text`` when
        the text starts with "on " (``on 'digits': ...``) or "is " or "lists "."""
        tasks = self._entries.setdefault((tuple(loc), at, text), [])
        if task is not None and task not in tasks:
            tasks.append(task)

    @property
    def found(self) -> list[str]:
        out = []
        for (loc, at, text), tasks in self._entries.items():
            if tasks:
                label = f"task {tasks[0]!r}" if len(tasks) == 1 else f"tasks {', '.join(map(repr, tasks))}"
                text = f"{label} {text}" if text.startswith(("on ", "is ", "lists ")) else f"{label}: {text}"
            out.append(self.locator(loc, text, at))
        return out

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.found)
