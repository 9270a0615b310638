"""The plugin host: built fresh on every call, never filled at import time.

Built-in plugins and third-party plugins load through the same path: the ``automl_bench``
entry-point group. Extra plugin modules can be named by import path (``bench -p MODULE`` or
``BENCH_PLUGINS=mod1,mod2``), which is how tests load the toy plugin. Any plugin can be blocked
by name (``bench -p no:NAME`` or ``BENCH_DISABLE_PLUGINS=name1,name2``), and
``BENCH_TRACE_PLUGINS=1`` prints every hook call to stderr.

One broken plugin never takes the tool down: a plugin that fails to import is listed in
`Host.broken` and skipped; one whose registration hook raises, registers something that is not
a spec record, implements a hook that does not exist, or registers a name another plugin also
registers is named in `Host.warnings`, and the rest keeps working. A name two plugins register
is an error only when a suite uses it.

Each plugin's registration hooks run once per host, on first use.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Sequence

import pluggy

from automl_bench import hookspecs
from automl_bench._api.specs import (
    BackendSpec,
    DatasetSpec,
    ExecutorSpec,
    PrunerSpec,
    ReporterSpec,
    ReportSectionSpec,
    StrategySpec,
)
from automl_bench._files.options import PREFIX as FILES_PREFIX
from automl_bench.errors import PluginError, UnknownComponentError

GROUP = "automl_bench"
ENV_EXTRA = "BENCH_PLUGINS"
ENV_DISABLE = "BENCH_DISABLE_PLUGINS"
ENV_TRACE = "BENCH_TRACE_PLUGINS"
HOOK_PREFIX = "bench_"  # every hook's name starts so
BLOCK_PREFIX = "no:"  # `bench -p no:NAME` blocks a plugin, as pytest's `-p no:NAME` does

#: kind -> (registration hook, the spec record it registers)
KINDS: dict[str, tuple[str, type]] = {
    "backend": ("bench_backends", BackendSpec),
    "strategy": ("bench_strategies", StrategySpec),
    "dataset": ("bench_datasets", DatasetSpec),
    "pruner": ("bench_pruners", PrunerSpec),
    "reporter": ("bench_reporters", ReporterSpec),
    "report section": ("bench_report_sections", ReportSectionSpec),
    "executor": ("bench_executors", ExecutorSpec),
}


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str  # the distribution it came from, or "(module)" for -p/env plugins
    module: str
    components: tuple[tuple[str, str, str], ...] = ()  # (kind, name, summary)


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded at all."""

    name: str
    distribution: str
    error: str


@dataclass(frozen=True)
class PluginWarning:
    """A plugin that loaded, with something wrong that was skipped."""

    name: str
    distribution: str
    message: str


@dataclass
class _Registry:
    specs: dict[str, Any] = field(default_factory=dict)  # name -> spec, names registered once
    owners: dict[str, list[str]] = field(default_factory=dict)  # name -> every plugin registering it


@dataclass
class Host:
    """A plugin manager plus what loading it found. Cheap to build; build one per call."""

    pm: pluggy.PluginManager
    extra_modules: tuple[str, ...] = ()  # what workers must load too (blocks as "no:NAME")
    broken: list[BrokenPlugin] = field(default_factory=list)
    warnings: list[PluginWarning] = field(default_factory=list)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)  # plugin name -> (dist, module)
    _registries: dict[str, _Registry] = field(default_factory=dict)
    _by_plugin: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    # -- components -------------------------------------------------------------------

    def backends(self) -> dict[str, BackendSpec]:
        return dict(self._registry("backend").specs)

    def strategies(self) -> dict[str, StrategySpec]:
        return dict(self._registry("strategy").specs)

    def datasets(self) -> dict[str, DatasetSpec]:
        return dict(self._registry("dataset").specs)

    def reporters(self) -> dict[str, ReporterSpec]:
        return dict(self._registry("reporter").specs)

    def pruners(self) -> dict[str, PrunerSpec]:
        return dict(self._registry("pruner").specs)

    def report_sections(self) -> dict[str, ReportSectionSpec]:
        return dict(self._registry("report section").specs)

    def executors(self) -> dict[str, ExecutorSpec]:
        return dict(self._registry("executor").specs)

    def backend(self, name: str) -> BackendSpec:
        return self.pick("backend", name)

    def strategy(self, name: str) -> StrategySpec:
        return self.pick("strategy", name)

    def dataset(self, name: str) -> DatasetSpec:
        """A registered dataset, or a user's files named as ``files:{...}`` (`automl_bench._files`)."""
        if name.startswith(FILES_PREFIX):
            from automl_bench import _files

            return _files.spec(name)
        return self.pick("dataset", name)

    def pruner(self, name: str) -> PrunerSpec:
        return self.pick("pruner", name)

    def executor(self, name: str) -> ExecutorSpec:
        return self.pick("executor", name)

    def pick(self, kind: str, name: str) -> Any:
        """The component ``name`` of ``kind``; a clear error when none or several plugins register it."""
        problem = self.problem(kind, name)
        if problem is None:
            return self._registry(kind).specs[name]
        if name in self._registry(kind).owners:
            raise PluginError(problem)
        raise UnknownComponentError(kind, name, list(self._registry(kind).specs))

    def problem(self, kind: str, name: str) -> str | None:
        """Why ``name`` cannot be used as a ``kind``, or None if it can."""
        registry = self._registry(kind)
        if name in registry.specs or kind == "dataset" and name.startswith(FILES_PREFIX):
            return None  # a user's files were checked when the suite named them
        owners = registry.owners.get(name)
        if owners:
            return (f"{len(owners)} plugins register a {kind} named {name!r}: "
                    f"{', '.join(self._describe(o) for o in owners)}; block all but one with "
                    f"BENCH_DISABLE_PLUGINS=NAME or bench -p no:NAME")
        return str(UnknownComponentError(kind, name, list(registry.specs)))

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin with the components it registers."""
        for kind in KINDS:
            self._registry(kind)
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked
                continue
            dist, module = self.sources.get(name, ("(module)", getattr(plugin, "__name__", name)))
            infos.append(PluginInfo(name, dist, module, tuple(self._by_plugin.get(name, ()))))
        return sorted(infos, key=lambda i: i.name)

    # -- internals --------------------------------------------------------------------

    def _describe(self, plugin: str) -> str:
        return f"{plugin!r} ({self.sources.get(plugin, ('(module)', ''))[0]})"

    def _warn(self, plugin: str, message: str) -> None:
        self.warnings.append(PluginWarning(plugin, self.sources.get(plugin, ("(module)", ""))[0], message))

    def _registry(self, kind: str) -> _Registry:
        """Call every plugin's registration hook for ``kind`` once, each on its own, so that
        whatever goes wrong is put down to the plugin that did it."""
        if kind in self._registries:
            return self._registries[kind]
        hook_name, spec_type = KINDS[kind]
        registry = _Registry()
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            plugin = impl.plugin_name
            found: list[Any] = []
            others = [p for p in self.pm.get_plugins() if p is not impl.plugin]
            try:  # through the manager, not impl.function, so tracing and wrappers see the call
                self.pm.subset_hook_caller(hook_name, remove_plugins=others)(register=found.append)
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the tool
                self._warn(plugin, f"{hook_name} raised {type(exc).__name__}: {exc}; its {kind}s are skipped")
                continue
            for spec in found:
                if not isinstance(spec, spec_type):
                    self._warn(plugin, f"{hook_name} registered {spec!r}, not a {spec_type.__name__}; skipped")
                    continue
                registry.owners.setdefault(spec.name, []).append(plugin)
                registry.specs[spec.name] = spec
                self._by_plugin.setdefault(plugin, []).append((kind, spec.name, spec.summary))
        conflicts = [name for name, owners in registry.owners.items() if len(owners) > 1]
        for name in conflicts:
            del registry.specs[name]
        self._registries[kind] = registry
        for name in conflicts:
            for owner in registry.owners[name]:
                self._warn(owner, self.problem(kind, name) or "")
        return registry


def _split_env(var: str) -> list[str]:
    return [s.strip() for s in os.environ.get(var, "").split(",") if s.strip()]


@functools.lru_cache(maxsize=4)
def _entry_points(path: tuple[str, ...]) -> tuple[Any, ...]:
    """Our entry points on ``path`` (sys.path), found once per process: finding them reads every
    installed distribution's metadata (0.1 s), and a run builds a host more than once."""
    return tuple(entry_points(group=GROUP))


def get_plugin_manager(extra_modules: Sequence[str] = (), *, load_entry_points: bool = True) -> Host:
    """Build a fresh host: hookspecs, entry-point plugins, then extra modules by import path.

    An entry of ``extra_modules`` written ``no:NAME`` blocks the plugin NAME instead.
    """
    pm = pluggy.PluginManager("automl_bench")
    pm.add_hookspecs(hookspecs)
    extra = tuple(dict.fromkeys([*extra_modules, *_split_env(ENV_EXTRA)]))
    host = Host(pm=pm, extra_modules=extra)
    disabled = {m.removeprefix(BLOCK_PREFIX) for m in extra if m.startswith(BLOCK_PREFIX)} | set(_split_env(ENV_DISABLE))
    for name in disabled:
        pm.set_blocked(name)
    if os.environ.get(ENV_TRACE, "") not in ("", "0"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()

    if load_entry_points:
        for ep in _entry_points(tuple(sys.path)):
            if ep.name in disabled or pm.get_plugin(ep.name) is not None:
                continue
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "(unknown)"
            _load(host, ep.name, dist, ep.value, ep.load)
    for module in extra:
        if module not in disabled and not module.startswith(BLOCK_PREFIX):
            _load(host, module, "(module)", module, lambda m=module: importlib.import_module(m))
    return host


def _load(host: Host, name: str, dist: str, module: str, load: Any) -> None:
    try:
        plugin = load()
        host.pm.register(plugin, name=name)
    except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the tool
        host.broken.append(BrokenPlugin(name, dist, f"{type(exc).__name__}: {exc}"))
        return
    host.sources[name] = (dist, module)
    known = sorted(n for n in dir(hookspecs) if n.startswith(HOOK_PREFIX))
    for caller in host.pm.get_hookcallers(plugin) or []:
        if not caller.has_spec():  # a newer plugin on an older host, or a misspelt name: warn, don't crash
            close = difflib.get_close_matches(caller.name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            host._warn(name, f"implements unknown hook {caller.name!r}{hint}; it is never called")
    _warn_unmarked(host, name, plugin, known)


def _warn_unmarked(host: Host, name: str, plugin: Any, known: list[str]) -> None:
    """pluggy registers only marked functions, so an unmarked one is silently unused: warn of every
    function of the plugin's own whose name starts with the hooks' prefix, a hook's name or not
    (a misspelt one named with its closest hook)."""
    marked = {impl.function for caller in host.pm.get_hookcallers(plugin) or [] for impl in caller.get_hookimpls()
              if impl.plugin is plugin}
    stems = {hook[len(HOOK_PREFIX):]: hook for hook in known}  # the shared prefix says nothing of closeness
    for attr in sorted(a for a in dir(plugin) if a.startswith(HOOK_PREFIX)):
        function = getattr(plugin, attr, None)
        if not callable(function) or function in marked or \
                getattr(function, "__module__", None) != getattr(plugin, "__name__", None):
            continue
        if attr in known:
            host._warn(name, f"{attr} is named like a hook but not marked with @hookimpl; it is never called "
                             "(from automl_bench import hookimpl, then put @hookimpl above it)")
            continue
        close = difflib.get_close_matches(attr[len(HOOK_PREFIX):], list(stems), n=1)
        hint = f"did you mean {stems[close[0]]!r}? " if close else ""
        host._warn(name, f"{attr} starts with {HOOK_PREFIX!r} like a hook, but no hook is named so and it is not "
                         f"marked with @hookimpl; it is never called ({hint}every hook is in automl_bench.hookspecs)")
