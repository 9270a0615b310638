"""The documentation: the site builds in strict mode, its generated references match the code,
its snippets are valid, and the tutorial's suite runs."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from automl_bench import hookspecs
from devtools import reference as _reference

ROOT = Path(__file__).parents[1]
DOCS = (ROOT / "docs" / "how-to" / "plugins.md").read_text()


def _block(text: str, after: str, language: str = "toml") -> str:
    """The first ``language`` code block after ``after`` in ``text``."""
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start:text.index("```\n", start)]


def test_every_hookspec_is_documented_with_its_signature_in_the_generated_reference():
    """The hook reference is the hooks' docstrings, rendered into reference/api.md; the how-to
    links to it rather than restating it."""
    api = (ROOT / "docs" / "reference" / "api.md").read_text()
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bench_")]
    assert len(specs) >= 6
    for spec in specs:
        params = ", ".join(inspect.signature(spec).parameters)
        assert f"### `{spec.__name__}({params})`" in api, spec.__name__
        assert inspect.getdoc(spec) in api, spec.__name__
    assert "../reference/api.md#hooks" in DOCS and "### `bench_" not in DOCS


def test_the_generated_reference_pages_are_up_to_date():
    assert _reference.stale() == [], "run: python -m devtools.reference"


def test_a_stale_reference_page_is_found(tmp_path):
    for name, make in _reference.pages().items():
        (tmp_path / name).write_text(make())
    assert _reference.stale(tmp_path) == []
    (tmp_path / "suite.md").write_text((tmp_path / "suite.md").read_text().replace("trials per cell", "trials"))
    (tmp_path / "api.md").unlink()
    assert _reference.stale(tmp_path) == ["suite.md", "api.md"]


def test_the_api_reference_names_every_public_name_and_hook():
    api = (ROOT / "docs" / "reference" / "api.md").read_text()
    import importlib

    modules = _reference.public_modules()
    assert {"automl_bench.pareto", "automl_bench.saved", "automl_bench.testing", "automl_bench.hookspecs"} <= set(modules)
    for module in modules:
        names = importlib.import_module(module).__all__  # every public module says what it exports
        assert module == "automl_bench.hookspecs" or f"## `{module}`" in api, module
        for name in names:
            assert name in ("__version__", "hookspec") or f"### `{name}" in api, f"{module}.{name}"
    assert "### `bench_backends(register)`" in api


@pytest.mark.parametrize("page, after, name", [("README.md", "## A suite", "my-first"),
                                               ("docs/tutorial.md", "<!-- tutorial-suite -->", "my-first"),
                                               ("docs/how-to/suites.md", "# Write a suite", "my-suite")])
def test_the_suite_examples_are_valid_suites(tmp_path, page, after, name):
    from automl_bench._manager import get_plugin_manager
    from automl_bench._suite import load_suite

    path = tmp_path / "example.toml"
    path.write_text(_block((ROOT / page).read_text(), after))
    assert load_suite(path, get_plugin_manager()).name == name


def test_the_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for link in re.findall(r"\]\(((?:docs/|ARCHITECTURE)[^)#]*)", readme):
        assert (ROOT / link).exists(), link


def test_no_page_or_picture_of_the_docs_is_ignored_by_git():
    """A fresh clone must hold every page: a pattern such as `results/` once hid docs/results/ from git."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*") if p.is_file()]
    files += [p.relative_to(ROOT).as_posix() for p in (ROOT / "automl_bench").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts]
    done = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(files),
                          capture_output=True, text=True)
    assert done.stdout.split() == []


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=300)


def test_the_site_builds_in_strict_mode_with_every_page_and_picture(tmp_path):
    pytest.importorskip("mkdocs")
    done = _mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    pages = {p.relative_to(ROOT / "docs").with_suffix(".html").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    built = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("*.html")}
    assert pages <= built, pages - built
    cli = (tmp_path / "site" / "reference" / "cli.html").read_text()
    assert "bench compare" in cli and "--against-history" in cli  # drawn from the click commands
    for png in (ROOT / "docs" / "images").glob("*.png"):
        assert (tmp_path / "site" / "images" / png.name).is_file()
    index = (tmp_path / "site" / "search" / "search_index.js").read_text()  # the offline search's index
    assert "max_trials" in index and "trials_per_gpu" in index  # a knob found by its name


def test_a_broken_link_fails_the_strict_build(tmp_path):
    pytest.importorskip("mkdocs")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "tutorial.md"
    page.write_text(page.read_text() + "\nSee [the missing page](how-to/missing.md).\n")
    done = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0 and "missing.md" in done.stderr


@pytest.mark.slow  # real training: 36 small networks, about a minute
def test_the_tutorial_reaches_its_report(tmp_path):
    from click.testing import CliRunner

    from automl_bench._cli import cli

    suite = tmp_path / "suites" / "my-first.toml"
    suite.parent.mkdir()
    suite.write_text(_block((ROOT / "docs" / "tutorial.md").read_text(), "<!-- tutorial-suite -->"))
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(suite)]).exit_code == 0
    done = runner.invoke(cli, ["run", str(suite), "--out", str(tmp_path / "results")])
    assert done.exit_code == 0, done.output
    results = tmp_path / "results" / "my-first"
    assert (results / "leaderboard.md").read_text().count("digits-mlp") == 2  # random and tpe
    assert (results / "report" / "index.html").is_file()


def test_the_python_walk_through_runs_as_written(tmp_path):
    """docs/tutorial-python.md's blocks, in order, as one notebook would run them (``python -c``:
    as in a notebook, there is no script for spawned workers to import again)."""
    import subprocess
    import sys

    page = (ROOT / "docs" / "tutorial-python.md").read_text()
    blocks = re.findall(r"<!-- python-api -->\n```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) == 5
    done = subprocess.run([sys.executable, "-c", "\n".join(blocks)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unknown option 'max_trails' of automl_bench.run; did you mean 'max_trials'?" in done.stdout
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    assert (tmp_path / "results" / "notebook" / "report" / "index.html").is_file()

