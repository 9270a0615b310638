"""ARCHITECTURE.md is the map of the house: every module and folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "ARCHITECTURE.md").read_text()


def test_every_path_it_names_exists():
    named = set(re.findall(r"`((?:automl_bench|devtools)/[\w/.]+|tests/[\w.]+)(?:::\w+)?`", TEXT))
    assert len(named) > 15
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], f"ARCHITECTURE.md names what does not exist: {missing}"


def test_every_module_it_names_imports():
    import importlib

    modules = set(re.findall(r"`(automl_bench(?:\.\w+)*)`", TEXT))
    assert "automl_bench.space" in modules
    for module in sorted(modules):
        importlib.import_module(module)


def test_every_plugin_file_it_names_is_in_the_plugins_folder():
    plugins = ROOT / "automl_bench" / "_plugins"
    section = TEXT.split("The built-in plugins, in `automl_bench/_plugins/`")[1].split("\n\n")[0]
    names = re.findall(r"`([\w]+(?:\.py|/))`", section)
    assert names and all((plugins / n).exists() for n in names), names
