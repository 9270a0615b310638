"""``python -m automl_bench``: the `bench` command."""

from automl_bench._cli import main

main()
