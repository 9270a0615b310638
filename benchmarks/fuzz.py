"""Fuzz `bench` at scale (on demand, not a test): damaged stores and mutated suites.

    .venv/bin/python benchmarks/fuzz.py                     # 5,000 store cases, 10,000 suite cases
    .venv/bin/python benchmarks/fuzz.py --store 200 --suite 0
    .venv/bin/python benchmarks/fuzz.py --smoke             # seconds (tests run this)

Store cases: a finished toy run's store, and killed runs' stores whose -wal holds trials, are
damaged in every way `devtools.fuzzing.STORE_DAMAGE` names (truncated at random lengths,
random bytes overwritten in every page, the -wal and -shm deleted, cut, overwritten or swapped,
an older copy put back; read-only file and folder where file modes hold, not as root). On each,
`bench run` and `bench export` run, and `bench report` (which draws pictures, about a second)
on every ``--report-every``-th case. Each must end in exit 0 with nothing lost or trained again,
or in a clean error (exit 2, the store named, no traceback).

Suite cases: Hypothesis mutations of the shipped suites; `bench validate` must end without a
traceback, in under a second of CPU time for a suite under 1 MB.

Prints the outcomes by kind and every finding (a traceback, a silent loss, a slow suite).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def fuzz_stores(cases: int, seed: int, report_every: int) -> tuple[Counter, list]:
    from automl_bench._manager import get_plugin_manager
    from automl_bench.testing import TOY_PLUGIN
    from devtools.fuzzing import COMMANDS, StoreFuzzer

    host = get_plugin_manager((TOY_PLUGIN,))
    host.plugins()
    with tempfile.TemporaryDirectory() as tmp:
        fuzzer = StoreFuzzer(Path(tmp), host)
        if not fuzzer.read_only:
            print("  (read-only cases skipped: file modes do not stop this user, root, from writing)")
        outcomes: Counter = Counter()
        findings = []
        for i, (name, damage, base) in enumerate(fuzzer.cases(cases, seed=seed)):
            commands = COMMANDS if i % report_every == 0 else ("run", "export")
            for verdict in fuzzer.check(name, damage, base, commands):
                outcomes[(name.split(":")[1], verdict.command, "BAD" if verdict.bad else verdict.outcome)] += 1
                if verdict.bad:
                    findings.append(verdict)
    return outcomes, findings


def fuzz_suites(cases: int, seed: int) -> tuple[int, list[str]]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    from automl_bench._manager import get_plugin_manager
    from automl_bench.testing import TOY_PLUGIN
    from devtools.fuzzing import check_suite, suite_texts

    host = get_plugin_manager((TOY_PLUGIN,))
    host.plugins()
    findings: list[str] = []
    count = [0]
    with tempfile.TemporaryDirectory() as tmp:
        @hypothesis_seed(seed)
        @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(suite_texts())
        def one(text: bytes) -> None:
            count[0] += 1
            found = check_suite(text, Path(tmp), host)
            if found:
                findings.append(f"{found}\n  suite: {text[:200]!r}")

        one()
    return count[0], findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=int, default=5_000, help="store cases")
    parser.add_argument("--suite", type=int, default=10_000, help="suite cases")
    parser.add_argument("--report-every", type=int, default=10, help="run `bench report` on every N-th store case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="14 store cases and 50 suite cases")
    args = parser.parse_args()
    if args.smoke:
        args.store, args.suite, args.report_every = 14, 50, 7
    bad = 0
    if args.store:
        start = time.perf_counter()
        outcomes, findings = fuzz_stores(args.store, args.seed, args.report_every)
        took = time.perf_counter() - start
        print(f"store cases: {args.store:,} in {took:.0f} s ({sum(outcomes.values()):,} commands)")
        kinds = sorted({k for k, _, _ in outcomes})
        print(f"  {'damage':<20} {'ok':>6} {'refused':>8} {'BAD':>5}")
        for kind in kinds:
            counts = {o: sum(n for (k, _, oo), n in outcomes.items() if k == kind and oo == o)
                      for o in ("ok", "refused", "BAD")}
            print(f"  {kind:<20} {counts['ok']:>6} {counts['refused']:>8} {counts['BAD']:>5}")
        for verdict in findings[:20]:
            print(f"FOUND {verdict.case} bench {verdict.command}: {verdict.outcome}\n{verdict.output[-1500:]}")
        print(f"  findings: {len(findings)} (tracebacks, silent losses, errors that name no file)")
        bad += len(findings)
    if args.suite:
        start = time.perf_counter()
        count, findings = fuzz_suites(args.suite, args.seed)
        took = time.perf_counter() - start
        print(f"suite cases: {count:,} in {took:.0f} s")
        for found in findings[:20]:
            print(f"FOUND {found[:3000]}")
        print(f"  findings: {len(findings)} (tracebacks, exit statuses other than 0 and 1, over 1 s of CPU)")
        bad += len(findings)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
