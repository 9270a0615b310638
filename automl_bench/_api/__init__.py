"""What plugins and the host hand each other, defined once: the public modules re-export it.

- `records`: the frozen records a plugin receives and returns (a trial's request, its epochs,
  its outcome, a dataset, a finished trial, a strategy's proposal);
- `interfaces`: the abstract bases plugin objects implement (backend, strategy, pruner,
  executor, reporter, report section);
- `specs`: what a registration hook hands over: a name, a summary and a factory.

The lowest stage: it imports none of the others (type annotations aside).
"""
