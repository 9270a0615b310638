"""The plugin manager: built fresh on every call, never filled at import time.

Built-in plugins and third-party plugins load through the same path: the ``automl_bench``
entry-point group. Extra plugin modules can be named by import path (``bench -p MODULE`` or
``AUTOML_BENCH_PLUGINS=mod1,mod2``), which is how tests load their toy plugin. A plugin that
fails to import is recorded and skipped; the rest of the tool keeps working. Any plugin can
be blocked by name with ``AUTOML_BENCH_DISABLE_PLUGINS=name1,name2``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Sequence

import pluggy

from automl_bench import hookspecs
from automl_bench.errors import PluginError, UnknownComponentError
from automl_bench.records import BackendSpec, DatasetSpec, PrunerSpec, ReporterSpec, StrategySpec

GROUP = "automl_bench"
ENV_EXTRA = "AUTOML_BENCH_PLUGINS"
ENV_DISABLE = "AUTOML_BENCH_DISABLE_PLUGINS"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str  # the distribution it came from, or "(module)" for -p/env plugins
    module: str
    components: tuple[tuple[str, str, str], ...] = ()  # (kind, name, summary)


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    distribution: str
    error: str


@dataclass
class Host:
    """A plugin manager plus what loading it found. Cheap to build; build one per call."""

    pm: pluggy.PluginManager
    extra_modules: tuple[str, ...] = ()
    broken: list[BrokenPlugin] = field(default_factory=list)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)  # plugin name -> (dist, module)

    # -- components -------------------------------------------------------------------

    def backends(self) -> dict[str, BackendSpec]:
        return self._collect("backend", self.pm.hook.bench_backends, BackendSpec)

    def strategies(self) -> dict[str, StrategySpec]:
        return self._collect("strategy", self.pm.hook.bench_strategies, StrategySpec)

    def datasets(self) -> dict[str, DatasetSpec]:
        return self._collect("dataset", self.pm.hook.bench_datasets, DatasetSpec)

    def reporters(self) -> dict[str, ReporterSpec]:
        return self._collect("reporter", self.pm.hook.bench_reporters, ReporterSpec)

    def pruners(self) -> dict[str, PrunerSpec]:
        return self._collect("pruner", self.pm.hook.bench_pruners, PrunerSpec)

    def pruner(self, name: str) -> PrunerSpec:
        return _pick("pruner", name, self.pruners())

    def backend(self, name: str) -> BackendSpec:
        return _pick("backend", name, self.backends())

    def strategy(self, name: str) -> StrategySpec:
        return _pick("strategy", name, self.strategies())

    def dataset(self, name: str) -> DatasetSpec:
        return _pick("dataset", name, self.datasets())

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin with the components it registers."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            components: list[tuple[str, str, str]] = []
            for kind, hook, spec_type in self._registries():
                impl = getattr(plugin, hook.name, None)
                if impl is not None:
                    found: list[Any] = []
                    impl(register=found.append)
                    components += [(kind, s.name, s.summary) for s in found if isinstance(s, spec_type)]
            dist, module = self.sources.get(name, ("(module)", getattr(plugin, "__name__", name)))
            infos.append(PluginInfo(name, dist, module, tuple(components)))
        return sorted(infos, key=lambda i: i.name)

    # -- internals --------------------------------------------------------------------

    def _registries(self) -> list[tuple[str, Any, type]]:
        h = self.pm.hook
        return [
            ("backend", h.bench_backends, BackendSpec),
            ("strategy", h.bench_strategies, StrategySpec),
            ("dataset", h.bench_datasets, DatasetSpec),
            ("pruner", h.bench_pruners, PrunerSpec),
            ("reporter", h.bench_reporters, ReporterSpec),
        ]

    def _collect(self, kind: str, hook: Any, spec_type: type) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def register(spec: Any) -> None:
            if not isinstance(spec, spec_type):
                raise PluginError(f"a {kind} plugin registered {spec!r}, expected a {spec_type.__name__}")
            if spec.name in found:
                raise PluginError(f"two plugins register a {kind} named {spec.name!r}")
            found[spec.name] = spec

        hook(register=register)
        return found


def _pick(kind: str, name: str, registry: dict[str, Any]) -> Any:
    try:
        return registry[name]
    except KeyError:
        raise UnknownComponentError(kind, name, list(registry)) from None


def _split_env(var: str) -> list[str]:
    return [s.strip() for s in os.environ.get(var, "").split(",") if s.strip()]


def get_plugin_manager(extra_modules: Sequence[str] = (), *, load_entry_points: bool = True) -> Host:
    """Build a fresh host: hookspecs, entry-point plugins, then extra modules by import path."""
    pm = pluggy.PluginManager("automl_bench")
    pm.add_hookspecs(hookspecs)
    extra = tuple(dict.fromkeys([*extra_modules, *_split_env(ENV_EXTRA)]))
    host = Host(pm=pm, extra_modules=extra)
    disabled = set(_split_env(ENV_DISABLE))
    for name in disabled:
        pm.set_blocked(name)

    if load_entry_points:
        for ep in entry_points(group=GROUP):
            if ep.name in disabled or pm.get_plugin(ep.name) is not None:
                continue
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "(unknown)"
            _load(host, ep.name, dist, ep.value, ep.load)
    for module in extra:
        if module not in disabled:
            _load(host, module, "(module)", module, lambda m=module: importlib.import_module(m))
    return host


def _load(host: Host, name: str, dist: str, module: str, load: Any) -> None:
    try:
        plugin = load()
        host.pm.register(plugin, name=name)
        unknown = [
            attr for attr in dir(plugin)
            if attr.startswith("bench_") and callable(getattr(plugin, attr))
            and not hasattr(host.pm.hook, attr)
        ]
        if unknown:  # a newer plugin on an older host: warn, don't crash
            host.broken.append(BrokenPlugin(name, dist, f"unknown hooks ignored: {', '.join(unknown)}"))
        host.sources[name] = (dist, module)
    except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the tool
        host.broken.append(BrokenPlugin(name, dist, f"{type(exc).__name__}: {exc}"))

