"""The public API, derived from the tree: a module or package whose name starts with ``_`` is the
host's machinery, everything else is public. The built-in plugins import only public modules, so
they can do nothing a third-party plugin could not, and no import circle exists anywhere in the
package, counting imports inside functions and under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
import dataclasses
import graphlib
import importlib
import inspect
import re
from pathlib import Path

import pytest

import automl_bench
from automl_bench import hookspecs

PACKAGE = Path(automl_bench.__file__).parent
ROOT = PACKAGE.parent
#: Where a plugin author reads about the public names: the how-to, and the hook reference it links
#: to, which lives in the hooks' own docstrings.
DOCS = (ROOT / "docs" / "how-to" / "plugins.md").read_text() + inspect.getsource(hookspecs)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_public(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split(".")[1:])


PUBLIC = sorted(m for m in MODULES if is_public(m))


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of an automl_bench module in a file, wherever it stands
    (inside functions and under TYPE_CHECKING too). ``from automl_bench import x`` counts as an
    import of the submodule ``automl_bench.x`` when there is one, else of the root."""
    found: list[tuple[int, str]] = []
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # relative: resolved against the module's package
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
        if isinstance(node, ast.ImportFrom) and base.split(".")[0] == "automl_bench":
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            found += [(node.lineno, m) for m in subs]
            if len(subs) < len(node.names):
                found.append((node.lineno, base))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "automl_bench"]
    return found


#: The host's stages, lowest first: what a run is made of, in the order it is built on. A module
#: imports from its own stage or a lower one, never a higher one (type annotations aside).
STAGES = ("_api", "_model", "_files", "_suite", "_results", "_run", "_regression")


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    """`imports`, less those under ``if TYPE_CHECKING:`` (annotations, not dependencies)."""
    tree = ast.parse(path.read_text())
    hidden = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
              for child in node.body for n in ast.walk(child)}
    lines = {n.lineno for n in ast.walk(tree) if id(n) in hidden and isinstance(n, (ast.Import, ast.ImportFrom))}
    return [(line, m) for line, m in imports(path) if line not in lines]


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def test_the_root_names_the_stages_of_a_run_and_each_package_maps_its_rooms():
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 26, entries
    for name in STAGES:
        package = PACKAGE / name
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
        rooms = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
        unnamed = [room for room in rooms if f"`{room}`" not in doc]
        assert unnamed == [], f"{name}/__init__.py's docstring is the map of its rooms: name {unnamed}"


def test_no_arrow_runs_from_a_lower_stage_to_a_higher_one():
    offending = []
    for module, path in MODULES.items():
        here = stage(module)
        if here is None:
            continue
        for line, imported in runtime_imports(path):
            there = stage(imported)
            if there is not None and STAGES.index(there) > STAGES.index(here):
                offending.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {imported}")
    assert offending == [], "\n".join(offending)


def test_the_tree_draws_the_boundary():
    """What a newcomer reads off the file names is what the package says it is."""
    assert {"automl_bench", "automl_bench.space", "automl_bench.backend", "automl_bench.executor",
            "automl_bench.datasets", "automl_bench.statistics", "automl_bench.testing"} <= set(PUBLIC)
    assert "automl_bench._run.driver" in MODULES and not is_public("automl_bench._plugins.torch_backend")
    for module in PUBLIC:  # every public module says what it holds
        assert ast.get_docstring(ast.parse(MODULES[module].read_text())), f"{module} needs a docstring"


def test_built_in_plugins_import_only_public_modules():
    plugins = [m for m in MODULES if m.startswith("automl_bench._plugins.")]
    assert len(plugins) > 10
    offending = []
    for module in plugins:
        own = ".".join(module.split(".")[:3])  # a plugin package may import its own modules
        for line, imported in imports(MODULES[module]):
            if not is_public(imported) and not imported.startswith(own):
                offending.append(f"{MODULES[module].relative_to(ROOT)}:{line}: imports {imported}")
    assert offending == [], "built-in plugins may import only public modules:\n" + "\n".join(offending)


def test_the_example_plugins_import_only_public_modules():
    offending = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        offending += [f"{path.relative_to(ROOT)}:{line}: imports {m}" for line, m in imports(path) if not is_public(m)]
    assert offending == []


def test_the_machinery_imports_no_facade():
    """The root, `backend`, `executor` and `datasets` only re-export: the host's private modules
    import what they need from where it is defined, so a facade can never close a circle."""
    facades = {"automl_bench", "automl_bench.backend", "automl_bench.executor", "automl_bench.datasets"}
    host = [m for m in MODULES if not is_public(m) and not m.startswith(("automl_bench._plugins", "automl_bench.testing"))]
    offending = [f"{MODULES[m].relative_to(ROOT)}:{line}: imports {imported}"
                 for m in host for line, imported in imports(MODULES[m]) if imported in facades]
    assert offending == []


def test_no_import_circle():
    """Every import edge between the package's modules, late imports included, forms no cycle."""
    graph = {module: {m for _, m in imports(path) if m != module and m in MODULES} for module, path in MODULES.items()}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        pytest.fail(f"import circle: {' -> '.join(err.args[1])}")


def test_the_root_stays_small_and_every_public_name_exists_and_is_documented():
    assert len(automl_bench.__all__) <= 30, "the root holds what every plugin needs; themed modules hold the rest"
    for module in PUBLIC:
        mod = importlib.import_module(module)
        missing = [name for name in getattr(mod, "__all__", ()) if not hasattr(mod, name)]
        assert missing == [], module
    names = [n for m in ("automl_bench", "automl_bench.backend", "automl_bench.executor", "automl_bench.datasets",
                         "automl_bench.space") for n in importlib.import_module(m).__all__]
    undocumented = [n for n in names if n != "__version__" and not re.search(rf"`{re.escape(n)}[`(]", DOCS)]
    assert undocumented == [], f"document these in docs/how-to/plugins.md or a hook's docstring: {undocumented}"


def test_public_modules_export_only_what_they_name():
    """A themed module's ``__all__`` lists public names only, and none twice across modules."""
    seen: dict[str, str] = {}
    for module in ("automl_bench", "automl_bench.backend", "automl_bench.executor", "automl_bench.datasets"):
        for name in importlib.import_module(module).__all__:
            assert not name.startswith("_") or name == "__version__"
            assert name not in seen, f"{name} is exported by both {seen.get(name)} and {module}"
            seen[name] = module


def test_records_a_plugin_receives_are_frozen():
    from automl_bench.backend import ModelConfig

    for record in (ModelConfig, *(getattr(automl_bench, n) for n in (
            "CellKey", "RunResults", "FinishedTrial", "EpochReport", "Dataset", "Splits", "BackendSpec",
            "StrategySpec", "DatasetSpec", "PrunerSpec", "ReporterSpec", "ReportSectionSpec", "ExecutorSpec"))):
        assert dataclasses.is_dataclass(record) and record.__dataclass_params__.frozen, record


def test_a_backend_written_to_the_base_class_must_name_its_device():
    class NoEnvironment(automl_bench.Backend):
        def fit(self, *, data, config, seed, report, pretrained=None):
            return None

        def evaluate(self, model, x, y):
            return {}

    with pytest.raises(TypeError, match="environment"):
        NoEnvironment()
