"""The backend contract for Keras on the engine named by KERAS_BACKEND.

Not collected by the main test run (Keras can hold only one engine per process);
tests/test_contracts.py runs this file in a subprocess once per engine.
"""

from __future__ import annotations

import os

from automl_bench.manager import get_plugin_manager
from automl_bench.testing import BackendContract

NAME = {"tensorflow": "keras", "torch": "keras-torch"}[os.environ.get("KERAS_BACKEND", "tensorflow")]


class TestKerasBackend(BackendContract):
    def make_backend(self):
        return get_plugin_manager().backend(NAME).factory()

    def test_the_engine_is_the_one_asked_for(self, backend):
        assert backend.environment()["keras_backend"] == os.environ.get("KERAS_BACKEND", "tensorflow")
