"""Built-in plugins. Each module registers through the ``automl_bench`` entry-point group,
exactly as a third-party plugin does, and imports only the public ``automl_bench`` API."""
