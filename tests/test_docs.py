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
