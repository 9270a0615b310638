"""Every hookspec is documented in docs/plugins.md under its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

from automl_bench import hookspecs

DOCS = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()


def test_every_hookspec_is_documented_with_its_signature():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bench_")]
    assert len(specs) >= 6
    for spec in specs:
        params = ", ".join(inspect.signature(spec).parameters)
        assert f"### `{spec.__name__}({params})`" in DOCS, spec.__name__


def test_the_knob_reference_is_up_to_date():
    from automl_bench._models import knob_reference

    path = Path(__file__).parents[1] / "docs" / "models.md"
    assert path.read_text() == knob_reference(), "run: python -m automl_bench._models > docs/models.md"


def test_the_readme_suite_example_is_a_valid_suite(tmp_path):
    from automl_bench._manager import get_plugin_manager
    from automl_bench._suite import load_suite

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## A suite"):]
    example = section[section.index("```toml\n") + 8:section.index("```\n", section.index("```toml\n") + 8)]
    path = tmp_path / "example.toml"
    path.write_text(example)
    suite = load_suite(path, get_plugin_manager())
    assert suite.name == "my-suite"
