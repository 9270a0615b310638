"""Loading the models a run saved (``results/<suite>/models/...``), whatever framework trained them.

``load_model(path)`` reads the file by its suffix: ``.keras`` through Keras' own loader, ``.pt``
(torch) into the module its saved configuration describes, ``.npz`` (numpy) without pickle. Each
returned model reads inputs as its backend trained it and returns logits; `model_input` lays out
an array that way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SUFFIXES = (".keras", ".pt", ".npz")


def load_model(path: str | Path, device: str = "cpu") -> Any:
    """The saved model at ``path``: a Keras model, a torch module in eval mode on ``device``, or a
    NumPy network. A ValueError names the suffixes it reads."""
    path = Path(path)
    if path.suffix == ".keras":
        import keras

        return keras.saving.load_model(path)
    if path.suffix == ".pt":
        from automl_bench._plugins.torch_backend import load_model as load_torch

        return load_torch(path, device)
    if path.suffix == ".npz":
        from automl_bench._plugins.numpy_backend import load_model as load_numpy

        return load_numpy(path)
    raise ValueError(f"{path}: not a saved model; automl-bench saves {', '.join(SUFFIXES)} files")


def model_input(x: Any, family: str, framework: str) -> Any:
    """``x`` as a model of ``family`` saved by ``framework`` ("keras", "torch" or "numpy") reads it:
    torch models take a tensor with channels first, the others an array with channels last."""
    if framework == "torch":
        from automl_bench._plugins.torch_backend import arrange_input

        return arrange_input(x, family)
    from automl_bench._data import as_model_input

    return as_model_input(x, family)
