"""`bench backfill`: each commit of a repository run in its own worktree with its own code and
exported; a commit that cannot run recorded as such while the rest go on; a rerun skips what is
done. The repository here is made by the test: three commits of this package, the middle one
broken on purpose."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

import automl_bench
from automl_bench._cli import cli
from automl_bench.testing import TOY_PLUGIN, toy_suite


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path):
    """A repository of three commits: this package and a suite; the package broken; mended."""
    repo = tmp_path / "repo"
    shutil.copytree(automl_bench.__path__[0], repo / "automl_bench",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (repo / "suites").mkdir()
    (repo / "suites" / "toy.toml").write_text(toy_suite(max_trials=2))
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    shas = []
    init = repo / "automl_bench" / "__init__.py"
    good = init.read_text()
    for message, text in (("good", good), ("broken", good + "\nraise ImportError('broken on purpose')\n"),
                          ("mended", good)):
        init.write_text(text)
        git(repo, "add", ".")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message)
        shas.append(git(repo, "rev-parse", "HEAD"))
    return repo, shas


def test_each_commit_runs_with_its_own_code_and_a_broken_one_is_recorded(repository, tmp_path, monkeypatch):
    repo, shas = repository
    monkeypatch.setenv("BENCH_PLUGINS", TOY_PLUGIN)
    exports = tmp_path / "exports"
    args = ["backfill", str(repo / "suites" / "toy.toml"), "HEAD", "--last", "3", "--exports", str(exports),
            "--repository", str(repo)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    good, broken, mended = (sha[:12] for sha in shas)
    assert sorted(p.name for p in exports.iterdir()) == sorted([f"{good}.json", f"{broken}.failed",
                                                                f"{mended}.json"])
    assert "broken on purpose" in (exports / f"{broken}.failed").read_text()
    assert f"{broken}: failed (bench run: ImportError: broken on purpose)" in result.output
    assert "3 commits: 2 exported, 1 failed" in result.output
    for sha in (shas[0], shas[2]):  # the commit each export records is its worktree's, clean
        environment = json.loads((exports / f"{sha[:12]}.json").read_text())["environment"]
        assert environment["git_commit"] == sha  # no "-dirty": the copied suite is untracked
    assert "toy-task/toy/random" in result.output  # then the history of the two exports
    again = CliRunner().invoke(cli, args)  # a rerun trains nothing
    assert again.exit_code == 0, again.output
    assert f"{good}: already exported" in again.output and f"{broken}: failed before" in again.output
    assert "3 commits: 2 already exported, 1 failed before" in again.output
