"""Fuzzing `bench` the way SQLite and serious parsers are tested: damage a finished run's store
in many ways, mutate the shipped suites, and judge what each command then does.

A store case passes when every command (`bench run`, `bench report`, `bench export`) either
ends in exit status 0 with nothing lost (every trial of the undamaged run still there with the
same values, none trained again) or in a clean error: exit status 2, the store or its directory
named, no traceback. A suite case passes when `bench validate` ends in 0 or 1 without a
traceback, within a second. `tests/test_fuzz.py` runs a few hundred cases; `benchmarks/fuzz.py`
runs thousands and prints what it found. Needs the test extras (hypothesis, tomli-w).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from automl_bench._manager import Host

#: The damage a store case does, by name; each takes the results directory and a random source.
STORE_DAMAGE = ("truncate", "overwrite", "zero", "delete-store", "older-store", "delete-wal", "delete-shm",
                "delete-wal-and-shm", "truncate-wal", "overwrite-wal", "swap-wal", "delete-recorded",
                "read-only-file", "read-only-folder")
#: Damage done to a killed run's store (one whose -wal holds trials), not a finished one's.
ON_KILLED = {"delete-wal", "delete-shm", "delete-wal-and-shm", "truncate-wal", "overwrite-wal", "swap-wal",
             "delete-recorded"}
COMMANDS = ("run", "report", "export")


@dataclass
class Verdict:
    case: str
    command: str
    outcome: str  # "ok" (exit 0, nothing lost), "refused" (a clean error), or "BAD: ..." (a finding)
    output: str = ""

    @property
    def bad(self) -> bool:
        return self.outcome.startswith("BAD")


@dataclass
class StoreFuzzer:
    """A finished toy run and killed snapshots of it, made once under ``root``; then cases."""

    root: Path
    host: "Host"
    seeds: tuple[int, ...] = (0, 1)
    max_trials: int = 4
    truth: dict[tuple, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from automl_bench.testing import toy_suite

        self.suite = self.root / "suite.toml"
        self.suite.write_text(toy_suite(seeds=self.seeds, max_trials=self.max_trials, reporters=["csv"]))
        self.finished = self.root / "finished"
        self._invoke(["run", str(self.suite), "--out", str(self.finished), "--quiet", "--no-report"], check=True)
        self.finished /= "toy"
        self.truth = _trials(self.finished / "bench.sqlite")
        self.killed = [killed_copy(self.finished, self.root / f"killed{k}", k) for k in (1, 2, 3)]
        self.read_only = read_only_is_enforced(self.root)

    # -- cases --------------------------------------------------------------------------

    def cases(self, count: int, seed: int = 0) -> Iterator[tuple[str, Callable[[Path], None], Path]]:
        """``count`` cases: (name, damage, the directory it damages a copy of), every kind in turn,
        overwrites walking through every page of the store."""
        rng = random.Random(seed)
        pages = max(1, (self.finished / "bench.sqlite").stat().st_size // 4096)
        kinds = [k for k in STORE_DAMAGE if self.read_only or not k.startswith("read-only")]
        for i in range(count):
            kind = kinds[i % len(kinds)]
            base = self.killed[i % len(self.killed)] if kind in ON_KILLED else self.finished
            page = (i // len(kinds)) % pages
            yield f"{i}:{kind}", _damage(kind, rng.randrange(2**32), page, self.killed), base

    def check(self, name: str, damage: Callable[[Path], None], base: Path,
              commands: tuple[str, ...] = COMMANDS) -> list[Verdict]:
        """Run each command on its own copy of ``base``, damaged the same way (a case's damage is
        seeded); nothing is left behind."""
        case = self.root / "cases" / name.replace(":", "-")
        verdicts = []
        for command in commands:
            directory = case / command / "toy"
            shutil.copytree(base, directory)
            try:
                damage(directory)
                verdicts.append(self._judge(name, command, directory.parent))
            finally:
                with _writable_again(directory):
                    pass
        shutil.rmtree(case, ignore_errors=True)
        return verdicts

    def _judge(self, name: str, command: str, out: Path) -> Verdict:
        directory = out / "toy"
        args = {"run": ["run", str(self.suite), "--out", str(out), "--quiet", "--no-report"],
                "report": ["report", str(directory)],
                "export": ["export", str(directory), "-o", str(out / "export.json")]}[command]
        result = self._invoke(args)
        text = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            trace = "".join(traceback.format_exception(result.exception))
            return Verdict(name, command, f"BAD: traceback ({type(result.exception).__name__})", trace[-3000:])
        if result.exit_code == 2:
            if str(directory) not in text:
                return Verdict(name, command, "BAD: an error that names neither the store nor its directory", text)
            return Verdict(name, command, "refused", text)
        if result.exit_code != 0:
            return Verdict(name, command, f"BAD: exit status {result.exit_code}", text)
        lost = self._lost(directory, command, out)
        return Verdict(name, command, f"BAD: exit 0, {lost}" if lost else "ok", text)

    def _lost(self, directory: Path, command: str, out: Path) -> str:
        """What an exit-0 command lost or repeated of the undamaged run, or ""."""
        try:
            found = _trials(directory / "bench.sqlite")
        except sqlite3.Error as exc:
            return f"the store cannot be read afterwards ({exc})"
        missing = [k for k in self.truth if k not in found]
        changed = [k for k in self.truth if k in found and found[k][:-1] != self.truth[k][:-1]]
        retrained = [k for k in found if k in self.truth and found[k][-1] != self.truth[k][-1]]
        if missing or changed or retrained:
            return f"{len(missing)} trials missing, {len(changed)} changed, {len(retrained)} trained again"
        if command == "export":
            rows = json.loads((out / "export.json").read_text())["rows"]
            if len(rows) != len({k[:4] for k in self.truth}):
                return f"the export has {len(rows)} cell-seeds, not {len({k[:4] for k in self.truth})}"
        elif (directory / "trials.csv").exists() or command == "report":
            import csv

            with (directory / "trials.csv").open(newline="") as f:
                if sum(1 for _ in csv.DictReader(f)) != len(self.truth):
                    return "trials.csv does not list every trial"
        return ""

    def _invoke(self, args: list[str], check: bool = False) -> Any:
        result = _invoke(args, self.host)
        if check and result.exit_code != 0:
            raise RuntimeError(f"bench {' '.join(args)}: {result.output}") from result.exception
        return result


def _invoke(args: list[str], host: "Host") -> Any:
    """`bench ARGS` in this process, with ``host``; the signal handlers `bench run` installs are
    put back afterwards (so that Ctrl-C and SIGTERM still end the fuzzer)."""
    import signal

    from click.testing import CliRunner

    from automl_bench._cli import State, cli

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        return CliRunner().invoke(cli, args, obj=State(False, (), _host=host))
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def killed_copy(finished: Path, target: Path, keep: int) -> Path:
    """A copy of a finished run's directory as a SIGKILL during its first run leaves it: ``keep``
    trials per cell in the store's main file, the rest (and the test scores) committed only to
    its -wal, the run's list of what it recorded beside it, and no outputs yet."""
    from automl_bench._results.store import Store

    work = target.with_name(target.name + "-writer")
    shutil.copytree(finished, work)
    for name in ("trials.csv", "leaderboard.csv", "leaderboard.md"):
        (work / name).unlink(missing_ok=True)
    db = sqlite3.connect(work / "bench.sqlite", isolation_level=None)
    trials = db.execute("SELECT * FROM trials WHERE number >= ? ORDER BY rowid", (keep,)).fetchall()
    finals = db.execute("SELECT * FROM finals ORDER BY rowid").fetchall()
    db.execute("DELETE FROM trials WHERE number >= ?", (keep,))
    db.execute("DELETE FROM finals")
    db.execute("VACUUM")
    db.close()
    store = Store(work / "bench.sqlite")
    store.start_run({})
    store.db.execute("PRAGMA wal_autocheckpoint=0")  # what the -wal holds stays there
    for table, rows in (("trials", trials), ("finals", finals)):
        for row in rows:
            store.db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
            store._written(False, "trial" if table == "trials" else "final", *row[:5 if table == "trials" else 4])
    target.mkdir()
    for path in work.iterdir():  # copied while the writer is still open: what a kill leaves
        if path.is_file():
            shutil.copy2(path, target / path.name)
    store.close()
    shutil.rmtree(work)
    return target


def _trials(path: Path) -> dict[tuple, tuple]:
    """Every trial of a store: its key, then what must survive, then its run (trained again?)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {tuple(r[:5]): tuple(r[5:]) for r in db.execute(
            "SELECT task, backend, strategy, seed, number, params, status, value, metrics, history, run_id "
            "FROM trials")}
    finally:
        db.close()


def _damage(kind: str, seed: int, page: int, killed: list[Path]) -> Callable[[Path], None]:
    def damage(directory: Path) -> None:
        rng = random.Random(seed)
        store = directory / "bench.sqlite"
        wal, shm = directory / "bench.sqlite-wal", directory / "bench.sqlite-shm"
        if kind == "truncate":
            _truncate(store, rng)
        elif kind == "overwrite":
            size = store.stat().st_size
            start = min(page * 4096 + rng.randrange(4096), size - 1)
            _overwrite(store, start, rng.randbytes(rng.randint(1, 100)))
        elif kind == "zero":
            store.write_bytes(b"")
        elif kind == "delete-store":
            store.unlink()
        elif kind == "older-store":  # an older copy put back: the killed run's main file alone
            shutil.copy2(killed[rng.randrange(len(killed))] / "bench.sqlite", store)
        elif kind in ("delete-wal", "delete-wal-and-shm"):
            wal.unlink()
            if kind == "delete-wal-and-shm":
                shm.unlink()
        elif kind == "delete-shm":
            shm.unlink()
        elif kind == "truncate-wal":
            _truncate(wal, rng)
        elif kind == "overwrite-wal":
            _overwrite(wal, rng.randrange(wal.stat().st_size), rng.randbytes(rng.randint(1, 100)))
        elif kind == "swap-wal":  # another moment's -wal
            other = [k for k in killed if k.name != directory.name]
            shutil.copy2(rng.choice(other) / "bench.sqlite-wal", wal)
        elif kind == "delete-recorded":
            (directory / ".bench.recorded").unlink()
        elif kind == "read-only-file":
            _read_only(store)
        elif kind == "read-only-folder":
            _read_only(directory)
        else:
            raise ValueError(kind)

    return damage


def _truncate(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:rng.randrange(max(1, len(data)))])


def _overwrite(path: Path, start: int, garbage: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(start)
        f.write(garbage)


def _read_only(path: Path) -> None:
    """Make a file or folder unwritable: its mode, and as root (whom modes do not stop) the
    immutable attribute, where the file system has one."""
    path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def _writable_again(directory: Path) -> Iterator[None]:
    try:
        yield
    finally:
        for path in (directory, *directory.iterdir()):
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        directory.chmod(0o755)
        for path in directory.iterdir():
            path.chmod(0o644) if path.is_file() else None


def read_only_is_enforced(directory: Path) -> bool:
    """Whether a file made read-only (`_read_only`) stops writes here."""
    probe = directory / ".probe"
    probe.write_text("")
    _read_only(probe)
    try:
        with probe.open("a"):
            return False
    except PermissionError:
        return True
    finally:
        with _writable_again(directory):
            pass
        probe.unlink()


# -- suites ------------------------------------------------------------------------------

#: The suites mutated: those shipped in suites/ (read when the strategy is built).
SHIPPED = Path(__file__).resolve().parents[1] / "suites"


def suite_texts() -> Any:
    """A Hypothesis strategy of suite files (bytes): shipped suites with their values swapped for
    other types, keys deleted, renamed or added, huge, negative, NaN and infinite values, deep
    nesting, and then bytes that are not UTF-8, cut off or repeated lines."""
    import tomllib

    from hypothesis import strategies as st

    bases = [tomllib.loads(p.read_text()) for p in sorted(SHIPPED.rglob("*.toml"))]
    scalars = st.one_of(
        st.integers(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.sampled_from([0, -1, 2**31, 2**63 - 1, -(2**63)]),
        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([float("nan"), float("inf"), -0.0, 1e308]),
        st.booleans(), st.text(max_size=20), st.sampled_from(["", "x" * 100_000, "../../etc", "é\u202e", "random",
                                                              "toy", "torch", "mlp", "cnn", "digits"]),
        st.datetimes(),
    )
    values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)),
        max_leaves=12)
    deep = st.integers(min_value=10, max_value=400).map(_nested)
    mutation = st.tuples(st.sampled_from(["delete", "replace", "rename", "add", "nest"]), st.integers(0, 10**6),
                         st.one_of(values, deep), st.text(min_size=1, max_size=12))
    raw = st.tuples(st.sampled_from(["none", "non-utf8", "cut", "repeat-line", "nul"]), st.integers(0, 10**6),
                    st.binary(min_size=1, max_size=4).map(lambda b: b"\xff" + b))
    return st.builds(_mutated, st.sampled_from(bases), st.lists(mutation, min_size=1, max_size=5), raw)


def _nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


def _mutated(base: dict, mutations: list[tuple], raw: tuple) -> bytes:
    import copy

    import tomli_w

    suite = copy.deepcopy(base)
    for kind, where, value, name in mutations:
        paths = list(_paths(suite))
        if not paths:
            break
        parent, key = paths[where % len(paths)]
        if kind == "delete":
            del parent[key]
        elif kind in ("replace", "nest"):
            parent[key] = value
        elif kind == "rename" and isinstance(parent, dict):
            parent[name] = parent.pop(key)
        elif kind == "add":
            target = parent[key] if isinstance(parent[key], dict) else suite
            target[name] = value
    try:
        text = tomli_w.dumps(_tomlable(suite)).encode()
    except (TypeError, ValueError, RecursionError):  # a value TOML cannot hold: fall back to a mangled text
        text = repr(suite).encode("utf-8", "surrogatepass")[:100_000]
    how, where, garbage = raw
    at = where % (len(text) + 1)
    if how == "non-utf8":
        text = text[:at] + garbage + text[at:]
    elif how == "cut":
        text = text[:at]
    elif how == "repeat-line":
        lines = text.splitlines(keepends=True)
        if lines:
            line = lines[where % len(lines)]
            text = b"".join(lines) + line
    elif how == "nul":
        text = text[:at] + b"\x00" + text[at:]
    return text


def _paths(value: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value inside ``value``, breadth first."""
    queue = [value]
    while queue:
        node = queue.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            yield node, key
            queue.append(child)


def _tomlable(value: Any) -> Any:
    """TOML has no null and wants string keys; arrays of tables must hold only tables."""
    if isinstance(value, dict):
        return {str(k): _tomlable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tomlable(v) for v in value]
    return value


def check_suite(text: bytes, directory: Path, host: "Host", limit: float = 1.0) -> str:
    """Run `bench validate` on ``text``; "" if it ended cleanly within ``limit`` seconds, else the finding."""
    path = directory / "suite.toml"
    path.write_bytes(text)
    start = time.process_time()  # CPU time: what validating costs, not what other processes took meanwhile
    result = _invoke(["validate", str(path)], host)
    took = time.process_time() - start
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        return "traceback:\n" + "".join(traceback.format_exception(result.exception))[-3000:]
    if result.exit_code not in (0, 1):
        return f"exit status {result.exit_code}: {result.output[-500:]}"
    if took > limit and len(text) < 1_000_000:
        return f"took {took:.2f} s of CPU time"
    return ""
