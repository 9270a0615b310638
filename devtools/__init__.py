"""Development tools of this repository, not shipped in the runtime package:

- `fuzzing`: damaged stores and malformed suites, generated (tests and benchmarks/fuzz.py);
- `reference`: the documentation site's reference pages, generated from the code
  (``python -m devtools.reference``; ``--check`` fails on a stale page).
"""
