"""The `bench` command through click's CliRunner, plus a subprocess import guard."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from test_suite import choices

from automl_bench._cli import cli

COMMANDS = [[], ["run"], ["validate"], ["plugins"], ["report"], ["export"], ["compare"], ["tabulate"], ["history"],
            ["backfill"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "bench")
def test_help_on_every_command(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


def test_every_command_is_covered_by_the_help_test():
    assert sorted(cli.commands) == sorted(c[0] for c in COMMANDS if c)


def test_bench_help_and_plugins_import_no_framework_and_no_pandas():
    code = (
        "import sys\n"
        "from automl_bench._cli import cli\n"
        "for args in (['--help'], ['plugins']):\n"
        "    try:\n"
        "        cli(args, prog_name='bench')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('torch', 'tensorflow', 'keras', 'pandas', 'sklearn', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_validate_reports_ok_and_problems(tmp_path, write_suite):
    good = write_suite()
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace('backends = ["toy"]', 'backends = ["toy", "jax"]'))
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: ok: suite 'toy', 1 tasks, 1 cells, up to 4 trials" in result.output
    assert f"matrix.backends[1]: unknown backend 'jax'; choose one of: {choices('backend')}" in result.output


def test_malformed_toml_gives_file_line_col(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nseeds = [1,\n')
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3:1: malformed TOML" in result.output


def test_plugins_lists_components_and_origins():
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "plugins"])
    assert result.exit_code == 0
    assert "torch  (automl-bench 0.1.0: automl_bench._plugins.torch_backend)\n    backend:torch " in result.output
    assert "automl_bench.testing.toy  ((module): automl_bench.testing.toy)\n    backend:toy" in result.output
    assert f"    {'dataset:toy':<22} 40 random points, 2 classes\n" in result.output


def test_a_plugin_with_a_problem_is_listed_with_a_warning_not_as_not_loaded(tmp_path, monkeypatch):
    (tmp_path / "typo_strategy_plugin.py").write_text(
        "from automl_bench import StrategySpec, hookimpl\n"
        "from automl_bench._plugins.random_search import RandomSearch\n"
        "@hookimpl\ndef bench_strategiez(register):\n    pass\n"
        "@hookimpl\ndef bench_strategies(register):\n"
        "    register(StrategySpec('mine', 'a strategy', RandomSearch))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli, ["-p", "typo_strategy_plugin", "plugins"])
    assert result.exit_code == 0 and "NOT LOADED" not in result.output
    assert (f"typo_strategy_plugin  ((module): typo_strategy_plugin)\n    {'strategy:mine':<22} a strategy\n"
            "    warning: implements unknown hook 'bench_strategiez' (did you mean 'bench_strategies'?); "
            "it is never called\n") in result.output
    assert result.output.count("bench_strategiez") == 1  # listed once, not also as a warning on stderr


def test_a_plugin_is_blocked_with_p_no(tmp_path, write_suite):
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "-p", "no:grid", "plugins"])
    assert "backend:toy" in result.output and "strategy:grid" not in result.output
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "-p", "no:grid", "validate",
                                      str(write_suite(strategies='"grid"'))])
    assert result.exit_code == 1 and "unknown strategy 'grid'; choose one of:" in result.output


def test_run_prints_the_leaderboard_and_writes_outputs(tmp_path, write_suite):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "run", str(write_suite(max_trials=5)), "--out", str(out),
                                      "--max-trials", "3", "--seeds", "0,1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| toy-task | toy       | random     |" in result.output
    assert "6 trials (6 ok)" in result.output
    # seed 1 is not one of the suite's seeds: its cells are not the suite's, so they go elsewhere
    out = out / "toy+seeds0_1"
    assert f"results in {out}/" in result.output
    for name in ("trials.csv", "leaderboard.csv", "leaderboard.md", "bench.sqlite"):
        assert (out / name).exists(), name
    md = (out / "leaderboard.md").read_text()
    assert "best val accuracy" in md and "±" in md  # two seeds: mean ± std
    import pandas as pd

    trials = pd.read_csv(out / "trials.csv")
    assert sorted(set(trials["seed"])) == [0, 1]
    # every row names its data: 40 toy points split 24/8/8, with the arrays' digest
    assert set(trials["dataset"]) == {"toy"} and set(trials["dataset_sizes"]) == {"24/8/8"}
    assert trials["dataset_sha256"].str.len().eq(64).all()
    packages = json.loads(trials["packages"][0])
    assert packages["toy"] == "1.0"  # what the backend's environment() reported
    assert packages["pytest"] == __import__("pytest").__version__  # what its spec declares


def test_bench_errors_are_clean_messages_and_debug_shows_tracebacks(tmp_path):
    missing = tmp_path / "nope.toml"
    result = CliRunner().invoke(cli, ["run", str(missing)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {missing}: 1 problem:\n  cannot read")
    debug = CliRunner().invoke(cli, ["--debug", "run", str(missing)])
    assert debug.exit_code == 1 and type(debug.exception).__name__ == "SuiteError"


def test_bad_seeds_option(tmp_path, write_suite):
    result = CliRunner().invoke(cli, ["run", str(write_suite()), "--seeds", "a,b"])
    assert result.exit_code == 1  # a usage error (2 means a cell could not run)
    assert "expected comma-separated integers" in result.output


def test_run_with_failing_trials_exits_0_and_shows_progress(tmp_path, write_suite):
    suite = write_suite(max_trials=10, strategies='"grid"', learning_rate="0.01",
                        activation='{ type = "categorical", choices = ["relu", "tanh", "sigmoid"] }')
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "run", str(suite), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "3 trials (2 failed, 1 ok)" in result.output
    assert "  1 x RuntimeError: toy backend was told to fail" in result.output  # why, without opening trials.csv
    assert "  1 x non-finite metrics: val_accuracy=nan, val_loss=nan" in result.output
    # the progress display ends with the exhausted grid complete: 3 of 3, not 3 of 10
    assert "toy-task/toy/grid/seed=0" in result.output and "3/3" in result.output


def test_an_unknown_executor_is_a_usage_error_naming_the_choices(write_suite):
    result = CliRunner().invoke(cli, ["-p", "automl_bench.testing.toy", "run", str(write_suite()), "--executor",
                                      "slurm"])
    assert result.exit_code == 1
    assert f"unknown executor 'slurm'; choose one of: {choices('executor')}" in result.output


def test_progress_shows_every_cell_of_a_small_suite_and_only_those_under_way_of_a_large_one():
    import io

    from rich.console import Console

    from automl_bench import CellKey
    from automl_bench._run.progress import MAX_ROWS, RichProgress

    def shown(count, steps):
        out = io.StringIO()
        progress = RichProgress(Console(file=out, width=200, force_terminal=False))
        cells = [CellKey("t", "b", "random", seed) for seed in range(count)]
        progress.start([(key, 3) for key in cells])
        for key in cells[:steps]:
            for done in (1, 2, 3):
                progress.trial_done(key, done, 3, 0.5)
        progress.trial_done(cells[steps], 1, 3, 0.25)  # one cell under way
        rows = {row.description: row for row in progress.progress.tasks}
        progress.stop()
        return rows, out.getvalue()

    rows, _ = shown(MAX_ROWS, 4)
    assert len(rows) == MAX_ROWS + 1 and rows["t/b/random/seed=0"].completed == 3  # all there, from start to end
    rows, text = shown(1000, 40)
    assert len(rows) == 2 and "t/b/random/seed=40" in rows  # the total and the one cell under way
    total = rows["[bold]all cells[/bold] (40 of 1000 over)"]
    assert (total.completed, total.total) == (40 * 3 + 1, 3000)
    assert "all cells (40 of 1000 over)" in text and "t/b/random/seed=0 " not in text


def test_an_interrupt_a_library_converted_still_ends_the_run_as_an_interrupt(monkeypatch, tmp_path):
    """A Ctrl-C raised inside pydantic-core building a validator came out as a SchemaError (a
    traceback, exit 1); after an interrupt, whatever ends the run is the interrupt."""
    import signal

    from automl_bench import runs
    from automl_bench._run import interrupts as _interrupts

    def interrupted_inside_a_library(*args, **kwargs):
        with pytest.raises(KeyboardInterrupt):
            _interrupts._interrupt(signal.SIGINT, None)  # what the signal does, in this process
        raise RuntimeError("Error building validator: KeyboardInterrupt")  # as the library re-raised it

    handlers = {s: signal.getsignal(s) for s in _interrupts.SIGNALS}
    monkeypatch.setattr(_interrupts, "_requested", False)  # put back afterwards: the record is process-wide
    monkeypatch.setattr(runs, "execute", interrupted_inside_a_library)
    try:
        result = CliRunner().invoke(cli, ["run", str(tmp_path / "suite.toml")])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert result.exit_code == 130
    assert result.output.strip() == "interrupted: finished trials are saved; rerun the same command to resume"


def test_an_interrupt_something_swallowed_stops_the_drivers_loop(monkeypatch):
    from automl_bench._run import interrupts as _interrupts
    monkeypatch.setattr(_interrupts, "_requested", False)
    _interrupts.check()  # none asked for: nothing happens
    monkeypatch.setattr(_interrupts, "_requested", True)
    with pytest.raises(KeyboardInterrupt):
        _interrupts.check()

