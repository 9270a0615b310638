"""The public API: everything a plugin may use is exported from `automl_bench`, and the built-in
plugins use nothing else, so they can do nothing a third-party plugin could not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import automl_bench

PACKAGE = Path(automl_bench.__file__).parent
ROOT = PACKAGE.parents[1]
DOCS = (ROOT / "docs" / "plugins.md").read_text()

#: Records, bases and helpers: what plugins see. The host's orchestration (below) may import these,
#: never the other way round, so the public records form no import circle with the host.
#: The modules a plugin may import: the API, and the statistics the report and leaderboard use.
PUBLIC_MODULES = ("automl_bench", "automl_bench.statistics")
TYPES = ("records", "interfaces", "hookspecs", "space", "models", "data", "training", "downloads", "errors")
ORCHESTRATION = ("manager", "runner", "store", "results", "worker", "suite", "cli", "progress", "leaderboard",
                 "transfer", "environment")


def host_imports(path: Path, *, module_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import of an automl_bench module in a file; with ``module_level_only``,
    imports inside functions are left out (they run late, and make no import circle)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if module_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("automl_bench"):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.startswith("automl_bench"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_built_in_plugins_import_only_the_public_api():
    plugins = sorted((PACKAGE / "plugins").rglob("*.py"))
    assert len(plugins) > 10
    offending = []
    for path in plugins:
        own = ".".join(("automl_bench", *path.relative_to(PACKAGE).parts[:2])).removesuffix(".py")
        for line, module in host_imports(path):
            if module not in PUBLIC_MODULES and not module.startswith(own):
                offending.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert offending == [], f"plugins may import only {PUBLIC_MODULES}:\n" + "\n".join(offending)


def test_the_public_names_exist_and_are_documented():
    missing = [name for name in automl_bench.__all__ if not hasattr(automl_bench, name)]
    assert missing == []
    undocumented = [name for name in automl_bench.__all__
                    if name != "__version__" and not re.search(rf"`{re.escape(name)}[`(]", DOCS)]
    assert undocumented == [], f"document these in docs/plugins.md: {undocumented}"


def test_public_records_and_bases_import_nothing_of_the_host_machinery():
    offending = []
    for name in TYPES:
        for line, module in host_imports(PACKAGE / f"{name}.py", module_level_only=True):
            if module.split(".")[1:2] and module.split(".")[1] in ORCHESTRATION:
                offending.append(f"{name}.py:{line}: imports {module}")
    assert offending == []


def test_records_a_plugin_receives_are_frozen():
    import dataclasses

    for name in ("CellKey", "RunResults", "FinishedTrial", "EpochReport", "Dataset", "Splits", "ModelConfig",
                 "BackendSpec", "StrategySpec", "DatasetSpec", "PrunerSpec", "ReporterSpec"):
        record = getattr(automl_bench, name)
        assert dataclasses.is_dataclass(record) and record.__dataclass_params__.frozen, name


def test_a_backend_written_to_the_base_class_must_name_its_device():
    import pytest

    class NoEnvironment(automl_bench.Backend):
        def fit(self, *, data, config, seed, report, pretrained=None):
            return None

        def evaluate(self, model, x, y):
            return {}

    with pytest.raises(TypeError, match="environment"):
        NoEnvironment()
