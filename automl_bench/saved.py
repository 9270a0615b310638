"""Loading the models a run saved (``results/<suite>/models/...``), whatever backend trained them.

``load_model(path)`` asks the backend that writes files of the path's suffix to read it back
(`BackendSpec.model_suffix` and `BackendSpec.load_model`): the built-in ones read ``.keras``
through Keras' own loader, ``.pt`` (torch) into the module its saved configuration describes,
``.npz`` (numpy) without pickle, and a plugin's backend joins them by registering its own.
Each returned model reads inputs as its backend trained it and returns logits; `model_input`
lays out an array that way."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_bench._api.specs import BackendSpec
    from automl_bench._manager import Host

__all__ = ["load_model", "model_input", "suffixes"]


def load_model(path: str | Path, device: str = "cpu", *, backend: str | None = None,
               host: "Host | None" = None) -> Any:
    """The saved model at ``path``, read by the backend that writes its suffix (or by ``backend``,
    named): a Keras model, a torch module in eval mode on ``device``, a NumPy network, or what a
    plugin's backend returns. A ValueError names the suffixes the installed backends read."""
    path = Path(path)
    spec = _reader(path, backend, host or _host())
    return spec.load_model(path, device)


def model_input(x: Any, family: str, backend: str, *, host: "Host | None" = None) -> Any:
    """``x`` laid out as a model of ``family`` that ``backend`` saved reads it (the built-in torch
    backend's take channels first, the others channels last)."""
    spec = (host or _host()).backend(backend)
    if spec.model_input is not None:
        return spec.model_input(x, family)
    from automl_bench._files.data import as_model_input

    return as_model_input(x, family)


def suffixes(host: "Host | None" = None) -> dict[str, list[str]]:
    """The suffixes of saved models the installed backends read, each with the backends."""
    found: dict[str, list[str]] = {}
    for name, spec in (host or _host()).backends().items():
        if spec.model_suffix and spec.load_model is not None:
            found.setdefault(spec.model_suffix, []).append(name)
    return found


def _reader(path: Path, backend: str | None, host: "Host") -> "BackendSpec":
    if backend is not None:
        spec = host.backend(backend)
        if spec.load_model is None:
            raise ValueError(f"backend {backend!r} saves no models it can load")
        return spec
    readers = suffixes(host)
    names = readers.get(path.suffix)
    if not names:
        known = ", ".join(f"{s} ({', '.join(n)})" for s, n in sorted(readers.items()))
        raise ValueError(f"{path}: not a saved model; the installed backends save {known} files")
    return host.backend(names[0])  # backends sharing a suffix (keras, keras-torch) read it alike


def _host() -> "Host":
    """The plugin host of this process's installed plugins and plugin settings: built once per
    setting (about 15 ms), since `model_input` is called for every batch a user predicts on."""
    from automl_bench._manager import ENV_DISABLE, ENV_EXTRA

    return _host_for(os.environ.get(ENV_EXTRA, ""), os.environ.get(ENV_DISABLE, ""))


@functools.lru_cache(maxsize=4)
def _host_for(extra: str, disabled: str) -> "Host":
    """Keyed by the plugin settings it was built under, so a changed setting builds a new one."""
    from automl_bench._manager import get_plugin_manager

    return get_plugin_manager()
