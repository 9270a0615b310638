"""`bench backfill`: a history of a repository's past commits, as asv builds one (``asv run
v1.0..main``): each commit checked out in a worktree of its own, the suite run there with that
commit's code, and its export written beside the others, so that `bench history` can read them.

A commit whose export is already there is skipped, so a backfill that stopped goes on where it
stopped; a commit that cannot run (its code fails, or takes over the timeout) is recorded as a
``<commit>.failed`` file holding why, skipped from then on (delete the file to try it again),
and the rest go on. Commits run oldest first, since a history orders exports by when they were
made.

The suite file is the one given (the same for every commit, so that their exports are one
series), copied into each worktree beside where the commit keeps it, under a name git does not
track: its relative paths resolve as in the repository, and the commit each export records is
that worktree's, not dirty. The commit's code runs in this Python, with its packages: a commit
that needs others fails and is recorded so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from automl_bench.errors import BenchError

#: What a `.failed` file keeps of a commit's output: its last characters.
KEPT = 4000


@dataclass(frozen=True)
class Outcome:
    commit: str
    #: "exported", "already exported", "failed", "failed before"
    status: str
    detail: str = ""


def _git(repository: Path, *args: str, timeout: float = 60) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"git {' '.join(args)} in {repository}: {exc}") from None
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)} in {repository}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def commits(repository: Path, revisions: str, last: int | None = None) -> list[str]:
    """The commits of ``revisions`` (``A..B``, or one commit), oldest first; with ``last``, only
    the newest ``last`` of them."""
    args = ["rev-list", "--reverse", revisions] if ".." in revisions else ["rev-list", "--reverse", "-n",
                                                                           str(last or 1), revisions]
    found = _git(repository, *args).split()
    return found[-last:] if last else found


def backfill(suite: Path, repository: Path, shas: Sequence[str], exports: Path, run_args: Sequence[str] = (),
             timeout: float = 1800, say: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run ``suite`` at each of ``shas`` and export it into ``exports`` (``<commit>.json``)."""
    suite, repository = suite.resolve(), repository.resolve()
    try:
        name = tomllib.loads(suite.read_text(encoding="utf-8"))["name"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise BenchError(f"{suite}: cannot read the suite's name ({type(exc).__name__}: {exc}); "
                         "check it with bench validate") from None
    try:
        where = suite.parent.relative_to(repository)
    except ValueError:
        where = Path(".")  # a suite from outside the repository: its relative paths from the worktree's root
    exports.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for sha in shas:
        outcome = _one(sha, suite, name, where, repository, exports, run_args, timeout)
        outcomes.append(outcome)
        if say is not None:
            say(outcome)
    return outcomes


def _one(sha: str, suite: Path, name: str, where: Path, repository: Path, exports: Path, run_args: Sequence[str],
         timeout: float) -> Outcome:
    short = sha[:12]
    target, failed = exports / f"{short}.json", exports / f"{short}.failed"
    if target.exists():
        return Outcome(short, "already exported")
    if failed.exists():
        return Outcome(short, "failed before", f"{failed} says why; delete it to try again")
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        tree = Path(tmp) / "tree"
        _git(repository, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        try:
            copied = tree / where / f".backfill-{suite.name}"  # untracked: the worktree stays clean
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(suite, copied)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [os.environ.get(
                "PYTHONPATH")])])}
            out = Path(tmp) / "results"
            steps = [["run", str(copied), "--out", str(out), "--quiet", "--no-report", *run_args],
                     ["export", str(out / name), "-o", str(Path(tmp) / "export.json")]]
            for step in steps:
                problem = _call([sys.executable, "-m", "automl_bench", *step], tree, env, timeout)
                if problem:
                    failed.write_text(f"{sha}\nbench {step[0]}: {problem}\n", encoding="utf-8")
                    return Outcome(short, "failed", f"bench {step[0]}: {problem.splitlines()[-1][:200]}")
            shutil.move(str(Path(tmp) / "export.json"), target)
            return Outcome(short, "exported")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=repository, capture_output=True)
            subprocess.run(["git", "worktree", "prune"], cwd=repository, capture_output=True)


def _call(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Why ``command`` failed (its exit status and the end of its output), or "" if it did not."""
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"took over {timeout:.0f} s"
    if done.returncode == 0:
        return ""
    return f"exit status {done.returncode}\n{(done.stdout + done.stderr)[-KEPT:].strip()}"
