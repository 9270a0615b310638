"""A test plugin: a backend whose saved models are files of its own format (".tiny": one number,
the model multiplies its input by it), which `automl_bench.saved` loads through its spec."""

from __future__ import annotations

from pathlib import Path

from automl_bench import Backend, BackendSpec, hookimpl


class TinyBackend(Backend):
    def fit(self, *, data, config, seed, report):
        raise NotImplementedError("this test backend only loads")

    def evaluate(self, model, x, y):
        raise NotImplementedError("this test backend only loads")


def load(path: Path, device: str):
    factor = float(Path(path).read_text())
    return lambda x: x * factor


def arrange(x, family):
    import numpy as np

    return np.concatenate([x, x])  # some layout of its own


@hookimpl
def bench_backends(register):
    register(BackendSpec("tiny", "test: loads its .tiny files", TinyBackend, model_suffix=".tiny", load_model=load,
                         model_input=arrange))
