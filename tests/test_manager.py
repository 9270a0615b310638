"""The plugin host: entry points, extra modules, broken, misbehaving and blocked plugins."""

from __future__ import annotations

import sys
import textwrap

import pytest
from test_suite import choices

from automl_bench._manager import get_plugin_manager
from automl_bench.errors import PluginError, UnknownComponentError
from automl_bench.testing import TOY_PLUGIN


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """Write a plugin module into an importable folder; returns its import name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.delitem(sys.modules, name, raising=False)  # imported afresh, never a cached module of that name
        return name

    return write


def test_builtins_load_through_entry_points():
    host = get_plugin_manager()
    assert set(host.backends()) >= {"torch", "keras", "numpy"}
    assert set(host.strategies()) >= {"random", "grid"}
    assert set(host.datasets()) >= {"digits", "mnist-5k"}
    assert set(host.reporters()) >= {"csv", "markdown"}
    torch = next(p for p in host.plugins() if p.name == "torch")
    assert torch.distribution.startswith("automl-bench ")
    assert [(kind, name) for kind, name, _ in torch.components] == [("backend", "torch")]
    assert host.broken == [] and host.warnings == []


def test_each_call_builds_a_fresh_manager():
    a, b = get_plugin_manager([TOY_PLUGIN]), get_plugin_manager()
    assert "toy" in a.backends() and "toy" not in b.backends()


def test_registration_hooks_run_once_per_host(plugin_module):
    name = plugin_module("counting_plugin", """
        from automl_bench import StrategySpec, hookimpl
        CALLS = []

        @hookimpl
        def bench_strategies(register):
            CALLS.append(1)
            register(StrategySpec("counted", "counts its registrations", object))
    """)
    host = get_plugin_manager([name])
    for _ in range(5):
        host.strategies(), host.strategy("counted"), host.plugins()
    assert len(__import__(name).CALLS) == 1


def test_unknown_name_lists_the_choices(host):
    with pytest.raises(UnknownComponentError, match=f"unknown backend 'tf'; choose one of: {choices('backend')}"):
        host.backend("tf")


def test_a_plugin_that_cannot_import_is_reported_and_skipped(plugin_module):
    broken = plugin_module("broken_plugin", "raise ImportError('needs a missing library')\n")
    host = get_plugin_manager([broken, TOY_PLUGIN])
    assert [(b.name, b.error) for b in host.broken] == [("broken_plugin", "ImportError: needs a missing library")]
    assert "toy" in host.backends() and "torch" in host.backends()


def test_a_registration_hook_that_raises_is_named_and_the_rest_works(plugin_module):
    name = plugin_module("raising_plugin", """
        from automl_bench import hookimpl

        @hookimpl
        def bench_backends(register):
            raise RuntimeError("boom")
    """)
    host = get_plugin_manager([name, TOY_PLUGIN])
    assert {"torch", "toy"} <= set(host.backends())
    assert [(w.name, w.message) for w in host.warnings] == [
        ("raising_plugin", "bench_backends raised RuntimeError: boom; its backends are skipped")]
    assert "raising_plugin" in [p.name for p in host.plugins()]


def test_registering_something_other_than_a_spec_names_the_plugin(plugin_module):
    name = plugin_module("dict_plugin", """
        from automl_bench import hookimpl

        @hookimpl
        def bench_datasets(register):
            register({"name": "mine"})
    """)
    host = get_plugin_manager([name])
    assert "digits" in host.datasets()
    assert [(w.name, w.message) for w in host.warnings] == [
        ("dict_plugin", "bench_datasets registered {'name': 'mine'}, not a DatasetSpec; skipped")]


def test_a_name_two_plugins_register_is_an_error_only_where_it_is_used(plugin_module):
    name = plugin_module("dupe_plugin", """
        from automl_bench import StrategySpec, hookimpl

        @hookimpl
        def bench_strategies(register):
            register(StrategySpec("random", "a second random", object))
    """)
    host = get_plugin_manager([name])
    assert "grid" in host.strategies() and "random" not in host.strategies()
    assert host.strategy("grid")
    with pytest.raises(PluginError, match=r"2 plugins register a strategy named 'random': 'random' \(automl-bench "
                       r"[^)]*\), 'dupe_plugin' \(\(module\)\); block all but one with BENCH_DISABLE_PLUGINS=NAME"):
        host.strategy("random")
    assert sorted(w.name for w in host.warnings) == ["dupe_plugin", "random"]


def test_a_misspelt_hook_is_a_warning_with_a_suggestion(plugin_module):
    name = plugin_module("typo_plugin", """
        from automl_bench import BackendSpec, hookimpl

        @hookimpl
        def bench_backendz(register):
            pass
    """)
    host = get_plugin_manager([name])
    assert host.broken == []
    assert [w.message for w in host.warnings] == [
        "implements unknown hook 'bench_backendz' (did you mean 'bench_backends'?); it is never called"]
    assert "typo_plugin" in [p.name for p in host.plugins()]


def test_a_hook_named_function_without_the_marker_is_a_warning(plugin_module):
    name = plugin_module("unmarked_plugin", """
        from automl_bench import DatasetSpec, hookimpl
        from automl_bench.space import SearchSpace  # an imported name is not the plugin's own: no warning

        def bench_datasets(register):  # @hookimpl forgotten: pluggy leaves it unregistered
            register(DatasetSpec("mine", "my data", load=lambda: None))

        @hookimpl
        def bench_strategies(register):
            pass
    """)
    host = get_plugin_manager([name])
    assert "mine" not in host.datasets()
    assert [w.message for w in host.warnings] == [
        "bench_datasets is named like a hook but not marked with @hookimpl; it is never called (from automl_bench "
        "import hookimpl, then put @hookimpl above it)"]


def test_an_unmarked_misspelt_hook_is_a_warning_naming_the_closest_hook(plugin_module):
    """Neither marked nor named as a hook: pluggy sees nothing at all, so the host must."""
    name = plugin_module("unmarked_typo_plugin", """
        from automl_bench import StrategySpec, hookimpl

        def bench_stratgies(register):  # misspelt, and @hookimpl forgotten
            register(StrategySpec("mine", "my search", factory=None))

        def bench_zzz_helper():  # named with the prefix, close to no hook
            pass

        def helper():  # no prefix: none of the host's business
            pass
    """)
    host = get_plugin_manager([name])
    assert "mine" not in host.strategies()
    assert [w.message for w in host.warnings] == [
        "bench_stratgies starts with 'bench_' like a hook, but no hook is named so and it is not marked with "
        "@hookimpl; it is never called (did you mean 'bench_strategies'? every hook is in automl_bench.hookspecs)",
        "bench_zzz_helper starts with 'bench_' like a hook, but no hook is named so and it is not marked with "
        "@hookimpl; it is never called (every hook is in automl_bench.hookspecs)"]


@pytest.mark.parametrize("command", [["plugins"], ["validate", "SUITE"], ["run", "SUITE", "--quiet", "--no-report"]])
def test_the_warning_reaches_plugins_validate_and_run(plugin_module, tmp_path, command):
    from click.testing import CliRunner

    from automl_bench._cli import cli
    from automl_bench.testing import toy_suite

    name = plugin_module("unmarked_typo_cli", """
        def bench_stratgies(register):
            pass
    """)
    suite = tmp_path / "suite.toml"
    suite.write_text(toy_suite(max_trials=1))
    args = [str(suite) if a == "SUITE" else a for a in command] + (["--out", str(tmp_path)] if "run" in command else [])
    result = CliRunner().invoke(cli, ["-p", TOY_PLUGIN, "-p", name, *args])
    assert result.exit_code == 0, result.output
    assert "bench_stratgies starts with 'bench_' like a hook" in result.output
    assert "did you mean 'bench_strategies'?" in result.output


@pytest.mark.parametrize("how", ["env", "option"])
def test_plugins_can_be_blocked_by_name(monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("BENCH_DISABLE_PLUGINS", f"grid, {TOY_PLUGIN}")
        host = get_plugin_manager([TOY_PLUGIN])
    else:
        host = get_plugin_manager([TOY_PLUGIN, "no:grid", f"no:{TOY_PLUGIN}"])
    assert "grid" not in host.strategies()
    assert "toy" not in host.backends()
    assert "random" in host.strategies()
    assert host.warnings == [] and host.broken == []


def test_extra_plugins_from_the_environment(monkeypatch):
    monkeypatch.setenv("BENCH_PLUGINS", TOY_PLUGIN)
    assert "toy" in get_plugin_manager().backends()


def test_tracing_prints_every_hook_call(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_TRACE_PLUGINS", "1")
    get_plugin_manager([TOY_PLUGIN]).backends()
    err = capsys.readouterr().err
    assert "bench_backends" in err and "finish bench_backends" in err
