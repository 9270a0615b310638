"""A run's results: the store the driver writes, and everything read from it.

- `store`: one SQLite file per suite, one transaction per finished trial;
- `schema`: what the store holds: its tables, columns, and what its checksums cover;
- `integrity`: how damage is found, not guessed at (checksums, the list of what a run committed,
  a lost or swapped ``-wal``);
- `collect`: the store read back as tables (every trial with its environment), the checks made
  before a store is opened, the files a run writes beside it and `bench run`'s exit status;
- `report`: the report of a run, every registered section written once;
- `tabulate`: a run over a fixed set of configurations as a table (`bench tabulate`);
- `converters`: published tabular benchmarks as tables (`bench tabulate --from`);
- `optuna_export`: a run's cells as optuna studies (`bench export --format optuna`).
"""
