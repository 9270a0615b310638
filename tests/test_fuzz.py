"""Fuzzing, kept in the tests: damaged stores end in a correct resume or a clean error, and no
mutated suite makes `bench validate` show a traceback or take more than a second. A few hundred
cases here; `benchmarks/fuzz.py` runs thousands (devtools/fuzzing.py holds both)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from automl_bench._manager import get_plugin_manager
from automl_bench.testing import TOY_PLUGIN
from devtools.fuzzing import COMMANDS, STORE_DAMAGE, StoreFuzzer, check_suite, suite_texts

#: Store cases: each kind of damage several times (overwrites walk through the store's pages).
STORE_CASES = 4 * len(STORE_DAMAGE)


@pytest.fixture(scope="module")
def host():
    built = get_plugin_manager((TOY_PLUGIN,))
    built.plugins()
    return built


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory, host):
    return StoreFuzzer(tmp_path_factory.mktemp("store-fuzz"), host)


def test_a_damaged_store_ends_in_a_correct_resume_or_a_clean_error(fuzzer):
    verdicts = []
    for i, (name, damage, base) in enumerate(fuzzer.cases(STORE_CASES, seed=0)):
        # `bench report` draws its pictures (about a second): on the first round of kinds only
        verdicts += fuzzer.check(name, damage, base, COMMANDS if i < len(STORE_DAMAGE) else ("run", "export"))
    bad = [v for v in verdicts if v.bad]
    assert not bad, "\n\n".join(f"{v.case} {v.command}: {v.outcome}\n{v.output}" for v in bad[:5])
    by_kind = Counter((v.case.split(":")[1], v.outcome) for v in verdicts)
    # The judge is not vacuous: damage that loses trials is refused; damage that loses nothing resumes.
    for kind in ("truncate", "zero", "delete-store", "older-store", "delete-wal", "delete-wal-and-shm",
                 "truncate-wal", "overwrite-wal"):
        assert by_kind[(kind, "ok")] == 0 and by_kind[(kind, "refused")] > 0, kind
    for kind in ("delete-shm", "delete-recorded"):  # SQLite rebuilds the one; the other is only a witness
        assert by_kind[(kind, "refused")] == 0 and by_kind[(kind, "ok")] > 0, kind


def test_every_refusal_names_the_file_and_what_to_do(fuzzer):
    for name, damage, base in fuzzer.cases(len(STORE_DAMAGE), seed=1):
        for verdict in fuzzer.check(name, damage, base, ("run",)):
            if verdict.outcome == "refused":
                assert "Error: " in verdict.output and "Traceback" not in verdict.output
                assert any(word in verdict.output for word in ("--fresh", "Put", "Restore", "writable")), verdict.output


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("suite-fuzz")


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(text=suite_texts())
def test_validate_never_shows_a_traceback_nor_takes_a_second_on_a_mutated_suite(text, suite_dir, host):
    assert check_suite(text, suite_dir, host) == ""


@pytest.mark.parametrize("text, says", [
    (b'name = "x"\nseeds = [0]\n[matrix]\nbackends = ["torch"]\nstrategies = ["random"]\n'
     b'[space]\nembedding = [1, 2]\n[[tasks]]\nname = "t"\ndataset = "fortunes"\nmodel = "rnn"\n',
     "embedding must be int"),  # found by the fuzzer: a knob's bad value reached the model checks and raised
])
def test_what_the_fuzzer_found_stays_fixed(text, says, suite_dir, host):
    from click.testing import CliRunner

    from automl_bench._cli import State, cli

    (suite_dir / "found.toml").write_bytes(text)
    result = CliRunner().invoke(cli, ["validate", str(suite_dir / "found.toml")], obj=State(False, (), _host=host))
    assert result.exit_code == 1 and says in result.output, result.output
