"""Regression tracking: a run's measurements kept small enough to commit, and compared.

- `baseline`: a run's measurements per cell and seed (`bench export`);
- `compare`: is the current side worse than the baseline by more than a tolerance (`bench compare`);
- `formats`: a comparison written for where CI shows it (markdown, GitHub annotations, JUnit);
- `history`: how each cell moved over a series of exports, its steps found (`bench history`);
- `history_site`: that history as a static site;
- `backfill`: a history of a repository's past commits, built commit by commit (`bench backfill`).
"""
