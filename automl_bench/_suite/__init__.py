"""Suite files: TOML parsed with tomllib, validated with pydantic, then checked against plugins.

Every problem in a file is reported at once, each as ``file:line: key.path: message``.
Unknown keys are rejected; unknown component names are answered with the valid choices.

The rooms: `schema` (the keys, types and defaults), `tasks` (search spaces and task expansion),
`checks` (against the installed plugins) and `locate` (where a problem is, and the collector).
This module loads a file and hands its parts to them.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from automl_bench import _files
from automl_bench.errors import SuiteError

from .checks import check_components
from .locate import Locator, Problems, message, readable, toml_problem
from .schema import DEFAULT_GATE, PLACEMENT_KEYS, DataDef, Execution, GatedMetric, Regression, SuiteModel
from .tasks import Task, build_task, expand

if TYPE_CHECKING:
    from automl_bench._manager import Host

__all__ = ["DEFAULT_GATE", "GatedMetric", "Regression", "Suite", "SuiteModel", "Task", "content_sha256", "identity",
           "load_suite"]


@dataclass(frozen=True)
class Suite:
    """A validated suite: the parsed model, each task's search space, and its digests."""

    path: Path
    model: SuiteModel
    tasks: tuple[Task, ...]
    #: Of its content (`content_sha256`): what identifies the suite in a results directory.
    sha256: str
    #: Of the file's bytes, as results directories written before content hashing recorded it.
    file_sha256: str = ""
    #: The digest of each task's own files (`automl_bench._files`), by task ("task/source" for a
    #: transfer task's source); empty when loaded without digests.
    files: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name


def load_suite(path: str | Path, host: "Host | None" = None, *, digests: bool = True, text: str | None = None) -> Suite:
    """Parse and validate a suite file; with a plugin host, also check every component name.
    ``text``: the suite's TOML, which ``path`` then only names (in messages) and places (its folder
    is where relative paths start); a suite built in Python comes this way.

    A task's own files (``dataset = { path = ... }``) are read for their metadata only; with
    ``digests``, their content hash is computed too (once, then cached by size and modification
    time: `automl_bench._files.digests`), which the suite's identity includes. `bench validate`
    leaves it out.

    Raises `SuiteError` listing every problem found.
    """
    path = Path(path)
    try:
        raw_bytes = path.read_bytes() if text is None else text.encode("utf-8")
    except OSError as exc:
        raise SuiteError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:  # TOML is UTF-8: a bad byte would change a name or value without a word
        line = raw_bytes.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw_bytes.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SuiteError(str(path), [f"{path}:{line}:{column}: not UTF-8 (byte 0x{raw_bytes[exc.start]:02x}); a suite "
                                     "is TOML, which is UTF-8: save the file as UTF-8"]) from None
    try:
        data_of_suite = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(str(path), [toml_problem(path, text, exc)]) from None
    except RecursionError:
        raise SuiteError(str(path), [f"{path}: malformed suite: tables or arrays nested too deeply to read (a suite "
                                     "needs three levels)"]) from None

    problems = Problems(Locator(str(path), text))
    try:
        model = SuiteModel.model_validate(data_of_suite)
    except ValidationError as exc:
        for e in readable(exc.errors()):
            problems.add(e["loc"], message(e), at=e["loc"][:-1] if e["type"] == "missing" else None)
        raise SuiteError(str(path), list(problems)) from None

    model, files = resolve_files(model, path.parent, problems)
    tasks: tuple[Task, ...] = ()
    seen: dict[str, int] = {}
    for i, definition in enumerate(model.tasks):
        base = build_task(model, i, definition, problems)
        for task in expand(base):
            if task.name in seen:
                problems.add(("tasks", i, "name"), f"duplicate task name {task.name!r}"
                             + (f" (also made by tasks[{seen[task.name]}])" if seen[task.name] != i else ""))
            seen.setdefault(task.name, i)
            tasks += (task,)
    if host is not None:
        check_components(model, tasks, host, problems)
    if problems:
        raise SuiteError(str(path), list(problems))
    # What a replayed table holds decides the results as much as the suite's text: a changed
    # table is a new suite version, never mixed with the old one's results.
    tables = {t.name: hashlib.sha256(Path(t.definition.table).read_bytes()).hexdigest()
              for t in tasks if t.definition.table}
    # So do a user's files: changed data is a new suite version (`bench run` says so, and stops).
    read = {where: _files.digest(name) for where, name in files.items()} if digests else {}
    return Suite(path=path, model=model, tasks=tasks,
                 sha256=content_sha256({**identity(data_of_suite), **({"tables": tables} if tables else {}),
                                        **({"files": read} if read else {})}),
                 file_sha256=hashlib.sha256(raw_bytes).hexdigest(), files=read)


def resolve_files(model: SuiteModel, base: Path, problems: Problems) -> tuple[SuiteModel, dict[str, str]]:
    """The suite with each task's own files (a `DataDef`) named as a ``files:`` dataset, their
    metadata read (every problem recorded where the suite names the files), and
    {"task" or "task/source": that name} for those read without a problem."""
    from automl_bench.errors import DataError

    resolved: dict[str, str] = {}

    def name_of(given: DataDef, where: tuple, key: str, *, as_text: bool = False) -> str:
        try:
            options = _files.resolve(given.given(), base, as_text=as_text)
            _files.scan(options.name)
        except DataError as exc:
            problems.add(where, str(exc))
            return _files.PREFIX + "{}"  # read no further: the problem is said
        resolved[key] = options.name
        return options.name

    tasks = []
    for i, task in enumerate(model.tasks):
        update: dict[str, Any] = {}
        source = task.source
        if source is not None and isinstance(source.dataset, DataDef):
            source = source.model_copy(update={"dataset": name_of(source.dataset, ("tasks", i, "source", "dataset"),
                                                                  f"{task.name}/source")})
            update["source"] = source
        if isinstance(task.dataset, DataDef):
            sentences = source is not None and (source.weights or "").startswith("sbert:")
            update["dataset"] = name_of(task.dataset, ("tasks", i, "dataset"), task.name, as_text=sentences)
        tasks.append(task.model_copy(update=update) if update else task)
    return (model.model_copy(update={"tasks": tasks}) if resolved or len(problems) else model), resolved


def identity(data: dict[str, Any]) -> dict[str, Any]:
    """What of a suite decides its results: all but the `[regression]` table, which only says how
    `bench compare` judges them (changing a tolerance does not make results incomparable), and
    `[execution]`'s choice of executor, its own options, ``max_retries`` and ``measure_cost``,
    which say where trials run and what is measured beside them, not what they are (a run started
    locally resumes on Ray)."""
    kept = {k: v for k, v in data.items() if k != "regression"}
    execution = data.get("execution")
    if isinstance(execution, dict):
        known = set(Execution.model_fields) - set(PLACEMENT_KEYS)
        kept["execution"] = {k: v for k, v in execution.items() if k in known}
        if not kept["execution"]:
            del kept["execution"]
    return kept


def content_sha256(data: Any) -> str:
    """sha256 of what a suite says, not how it is written: comments, layout, key order and the
    spelling of numbers do not change it."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
