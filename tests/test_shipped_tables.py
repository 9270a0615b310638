"""Every table shipped in tables/ is the one docs/results/strategy-study.md describes (its sha256 and
size), reads as a table, and replays: its suite in suites/tables/ exists, and suites/strategy-study.toml validates."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from automl_bench.tables import read_table

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "tables").glob("*.parquet"))
PAGE = ROOT / "docs" / "results" / "strategy-study.md"
#: The page's rows: | `name` | ... | N bytes | `sha256` |
ROW = re.compile(r"^\| `(?P<name>[\w-]+)` \|.*\| (?P<size>[\d,]+) bytes \| `(?P<sha256>[0-9a-f]{64})` \|$", re.M)


def test_the_study_page_lists_exactly_the_shipped_tables():
    listed = {m["name"] for m in ROW.finditer(PAGE.read_text())}
    assert listed == {p.stem for p in SHIPPED} and listed


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_shipped_table_is_the_one_the_readme_describes(path):
    entry = next(m for m in ROW.finditer(PAGE.read_text()) if m["name"] == path.stem)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert len(data) == int(entry["size"].replace(",", ""))
    table = read_table(path)
    suite = table.provenance["suite"]["name"]
    assert (ROOT / "suites" / "tables" / f"{suite}.toml").is_file()  # how to build it again


def test_the_strategy_study_validates_against_the_shipped_tables(bench_host):
    from automl_bench._suite import load_suite

    suite = load_suite(ROOT / "suites" / "strategy-study.toml", bench_host)
    assert len(suite.model.seeds) >= 30



def test_gp_and_ngopt_replay_a_shipped_table(bench_run):
    """The built-in GP and NGOpt strategies complete every trial on a shipped table (the SMAC
    package's strategies do too, in its own tests, where the host's tests cannot see them)."""
    suite = f"""
name = "gp-replay"
seeds = [0]
[budget]
max_trials = 20
[matrix]
backends = ["replay"]
strategies = ["gp", "ngopt"]
[[tasks]]
name = "mlp"
table = "{ROOT / "tables" / "mnist5k-mlp-torch.parquet"}"
"""
    trials = bench_run(suite).trials
    assert len(trials) == 40 and (trials["status"] == "ok").all() and trials["budget"].isna().all()
