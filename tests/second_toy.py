"""A second backend for executor tests: the toy backend under another name (``toy2``), so that a
suite can have two backends whose workers compete for the same GPU slots."""

from automl_bench import BackendSpec, hookimpl
from automl_bench.testing.toy import ToyBackend


@hookimpl
def bench_backends(register):
    register(BackendSpec("toy2", "the toy backend again, under another name", ToyBackend, families=("mlp",)))
