"""The plugin manager: entry points, extra modules, broken and blocked plugins."""

from __future__ import annotations

import pytest

from automl_bench.errors import PluginError, UnknownComponentError
from automl_bench.manager import get_plugin_manager


def test_builtins_load_through_entry_points():
    host = get_plugin_manager()
    assert set(host.backends()) >= {"torch"}
    assert set(host.strategies()) >= {"random", "grid"}
    assert set(host.datasets()) >= {"digits", "mnist-5k"}
    assert set(host.reporters()) >= {"csv", "markdown"}
    torch = next(p for p in host.plugins() if p.name == "torch")
    assert torch.distribution.startswith("automl-bench ")
    assert [(kind, name) for kind, name, _ in torch.components] == [("backend", "torch")]
    assert host.broken == []


def test_each_call_builds_a_fresh_manager():
    a, b = get_plugin_manager(["toy_plugin"]), get_plugin_manager()
    assert "toy" in a.backends() and "toy" not in b.backends()


def test_unknown_name_lists_the_choices(host):
    with pytest.raises(UnknownComponentError, match="unknown backend 'tf'; choose one of: keras, keras-torch, numpy, torch, toy"):
        host.backend("tf")


def test_a_broken_plugin_is_reported_and_skipped(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('needs a missing library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = get_plugin_manager(["broken_plugin", "toy_plugin"])
    assert [(b.name, b.error) for b in host.broken] == [("broken_plugin", "ImportError: needs a missing library")]
    assert "toy" in host.backends() and "torch" in host.backends()


def test_plugins_can_be_blocked_by_name(monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_DISABLE_PLUGINS", "grid, toy_plugin")
    host = get_plugin_manager(["toy_plugin"])
    assert "grid" not in host.strategies()
    assert "toy" not in host.backends()
    assert "random" in host.strategies()


def test_extra_plugins_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_PLUGINS", "toy_plugin")
    assert "toy" in get_plugin_manager().backends()


def test_duplicate_component_names_are_an_error(tmp_path, monkeypatch):
    (tmp_path / "dupe_plugin.py").write_text(
        "from automl_bench import hookimpl, StrategySpec\n"
        "@hookimpl\n"
        "def bench_strategies(register):\n"
        "    register(StrategySpec('random', 'a second random', object))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="two plugins register a strategy named 'random'"):
        get_plugin_manager(["dupe_plugin"]).strategies()


def test_unknown_hooks_warn_instead_of_crashing(tmp_path, monkeypatch):
    (tmp_path / "future_plugin.py").write_text("def bench_future_thing():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = get_plugin_manager(["future_plugin"])
    assert [b.error for b in host.broken] == ["unknown hooks ignored: bench_future_thing"]
    assert "random" in host.strategies()
