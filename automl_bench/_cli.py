"""The `bench` command. Each command parses its arguments, calls one library function and
prints the result. No framework (torch, tensorflow, keras) and no pandas is imported here."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from automl_bench._version import __version__

if TYPE_CHECKING:  # the host is built on first use: `bench --help` imports none of it
    from automl_bench._manager import Host
from automl_bench.errors import BenchError

EXIT_USAGE, EXIT_INTERRUPTED = 1, 130
MAX_REASONS = 5  # failure reasons listed at the end of a run; the rest are counted
EXIT_CODES = """\b
Exit status:
  0    every cell ran (trials that failed because of their configuration are results)
  1    usage or suite error
  2    a cell could not run (data, framework, GPU, results directory), a damaged or
       unwritable results store, or every trial of a cell failed; with --strict, any
       failed or timed-out trial
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP); finished trials are kept"""


@dataclass
class State:
    debug: bool
    plugins: tuple[str, ...]
    _host: "Host | None" = None

    @property
    def host(self) -> "Host":
        """The plugin host, built on first use; what went wrong loading plugins is said once, on stderr."""
        return self.build_host(announce=True)

    def build_host(self, announce: bool) -> "Host":
        if self._host is None:
            from automl_bench._manager import get_plugin_manager

            self._host = get_plugin_manager(self.plugins)
            self._host.plugins()  # every registration hook runs now, so every warning is known
            for broken in self._host.broken if announce else ():
                click.echo(f"warning: plugin {broken.name!r} ({broken.distribution}) not loaded: {broken.error}",
                           err=True)
            for warning in self._host.warnings if announce else ():
                click.echo(f"warning: plugin {warning.name!r} ({warning.distribution}): {warning.message}", err=True)
        return self._host


class BenchGroup(click.Group):
    """Turns every `BenchError` into a clean message and its exit status, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        from automl_bench._run import interrupts as _interrupts
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - re-raised below unless it is the interrupt
            # after an interrupt, whatever ends the command is the interrupt: a library may have
            # converted it (pydantic-core into a SchemaError) or a plugin's error be its echo
            if isinstance(exc, KeyboardInterrupt) or _interrupts.requested():
                if ctx.obj is not None and ctx.obj.debug and not isinstance(exc, KeyboardInterrupt):
                    raise
                _interrupts.ignore_further()
                click.echo("\ninterrupted: finished trials are saved; rerun the same command to resume", err=True)
                ctx.exit(EXIT_INTERRUPTED)
            if isinstance(exc, click.UsageError):
                # click's own is 2, which `bench run` uses for "a cell could not run"; `bench compare`
                # keeps 1 for "a regression", so its usage errors are 2, "cannot compare"
                command = exc.ctx.command if exc.ctx is not None else None
                exc.exit_code = getattr(command, "usage_exit_code", EXIT_USAGE)
                raise
            if isinstance(exc, BenchError) and not (ctx.obj is not None and ctx.obj.debug):
                click.echo(f"Error: {exc}", err=True)
                ctx.exit(exc.exit_code)
            raise


def _seeds(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers such as 0,1,2, got {value!r}") from None


@click.group(cls=BenchGroup, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="automl-bench")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of short error messages.")
@click.option("-p", "--plugin", "plugins", multiple=True, metavar="MODULE",
              help="Load an extra plugin module by import path, or block a plugin with no:NAME (repeatable).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, plugins: tuple[str, ...]) -> None:
    """Benchmark neural-network hyperparameter search: backends x strategies x tasks."""
    if not isinstance(ctx.obj, State):  # one given by a caller (the fuzzers) brings its host along
        ctx.obj = State(debug, plugins)


@cli.command(epilog=EXIT_CODES)
@click.argument("suite", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True,
              help="Results directory; results go to OUT/<suite name>/ (OUT/<suite name>+epochs<N>/ with "
                   "--max-epochs below the suite's, +seeds<...>/ with seeds it lacks).")
@click.option("--workers", type=click.IntRange(min=1), help="Trials run at once (default: the suite's).")
@click.option("--executor", metavar="NAME", help="What runs the trials: local, ray, or a plugin's (default: the "
                                                 "suite's [execution] executor; see bench plugins).")
@click.option("--max-trials", type=click.IntRange(min=1), help="Cap trials per cell (smoke runs).")
@click.option("--max-epochs", type=click.IntRange(min=1), help="Cap epochs per trial (smoke runs).")
@click.option("--seeds", callback=_seeds, help="Comma-separated seeds replacing the suite's, e.g. 0,1,2.")
@click.option("--fresh", is_flag=True, help="Discard earlier results of this suite and start over.")
@click.option("--keep-going", is_flag=True, help="Run the cells that can run when some cannot (exit status 2 still).")
@click.option("--retry-failed", is_flag=True,
              help="Run the recorded failed and timed-out trials again (their rows are kept, marked superseded).")
@click.option("--accept-loss", is_flag=True,
              help="Go on with a store that lost trials it held (its -wal deleted after a killed run, or an "
                   "older copy put back): they run again.")
@click.option("--strict", is_flag=True, help="Exit 2 if any trial failed or timed out (CI smoke runs).")
@click.option("--no-report", is_flag=True, help="Skip the report (statistics and pictures) at the end.")
@click.option("--quiet", is_flag=True, help="No live progress display.")
@click.pass_obj
def run(state: State, suite: Path, out: Path, workers: int | None, executor: str | None, max_trials: int | None,
        max_epochs: int | None, seeds: list[int] | None, fresh: bool, keep_going: bool, retry_failed: bool,
        accept_loss: bool, strict: bool, no_report: bool, quiet: bool) -> None:
    """Run (or resume) every cell of SUITE and print its leaderboard."""
    from automl_bench import leaderboard
    from automl_bench._results.collect import failure_reasons
    from automl_bench._run import interrupts as _interrupts
    from automl_bench.errors import RunError
    from automl_bench.runs import RunSettings, execute

    _interrupts.install()  # Ctrl-C, and SIGTERM and SIGHUP from schedulers and CI runners
    settings = RunSettings(out=out, workers=workers, executor=executor, max_trials=max_trials, max_epochs=max_epochs,
                           seeds=seeds, fresh=fresh, keep_going=keep_going, retry_failed=retry_failed,
                           accept_loss=accept_loss, strict=strict, report=not no_report, progress=not quiet)
    try:
        results, problems = execute(suite, state.host, settings), []
    except RunError as failed:
        results, problems = failed.results, failed.problems
    click.echo(leaderboard.markdown(results.raw))
    trials = results.raw.trials
    click.echo(f"{len(trials)} trials ({results.summary}); results in {results.directory}/")
    for line in failure_reasons(trials, MAX_REASONS, results.directory):  # commonest first: nobody has to dig
        click.echo(line, err=True)
    if results.report_path is not None:
        click.echo(f"report: {results.report_path}")
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    sys.exit(2 if problems else 0)


@cli.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--open", "open_", is_flag=True, help="Open index.html in the default browser.")
@click.pass_obj
def report(state: State, results_dir: Path, open_: bool) -> None:
    """Rebuild RESULTS_DIR's reports from its store, training nothing: report/ (index.html,
    report.md, pictures) and the default reporters' files (trials.csv, leaderboards)."""
    from automl_bench._results.collect import load_results, write_reports
    from automl_bench._results.report import write_report

    results = load_results(results_dir)
    write_reports(state.host, results, None)
    written = write_report(state.host, results)
    for path in written:
        click.echo(str(path))
    if open_:
        click.launch(str(written[1]))


@cli.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=Path("-"),
              show_default=True, help="The file to write (- for standard output; a file with --format optuna).")
@click.option("--format", "format_", type=click.Choice(["json", "optuna"]), default="json", show_default=True,
              help="json: the baseline of bench compare; optuna: every cell as an optuna study in a SQLite file, "
                   "for optuna-dashboard sqlite:///FILE.")
@click.pass_obj
def export(state: State, results_dir: Path, output: Path, format_: str) -> None:
    """Write RESULTS_DIR's measurements per cell and seed, with the suite's identity, the
    environment and each backend's calibration figure, as a small JSON file to commit or keep
    as a CI artifact: the baseline of `bench compare`. With --format optuna, write every cell
    as an optuna study (trials, parameters, per-epoch values, states) for optuna-dashboard."""
    if format_ == "optuna":
        from automl_bench._results.optuna_export import export as to_optuna

        if str(output) == "-":
            raise click.UsageError("--format optuna writes a SQLite file: name it with -o FILE.db")
        studies, trials = to_optuna(results_dir, output)
        click.echo(f"{output}: {studies} studies, {trials} trials; view them with optuna-dashboard "
                   f"sqlite:///{output}", err=True)
        return
    from automl_bench._regression.baseline import from_results, write

    baseline = from_results(results_dir)
    if str(output) == "-":
        click.echo(baseline.to_json(), nl=False)
        return
    write(baseline, output)
    click.echo(f"{output}: {len(baseline.rows)} cell-seeds of suite {baseline.suite.name!r}", err=True)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The table file to write (Parquet), e.g. tables/digits-mlp-torch.parquet.")
@click.option("--from", "source_format", type=click.Choice(["lcbench"]),
              help="SOURCE is a file of a published tabular benchmark in this format, not a results directory.")
@click.option("--task", help="The task to tabulate, where the run has several (with --from: the dataset).")
@click.option("--backend", help="The backend to tabulate, where the run has several.")
@click.option("--strategy", help="The strategy whose trials to tabulate, where the run has several.")
@click.option("--allow-missing", is_flag=True, help="Write the table even where the grid or sample has points with "
                                                    "no trial (its metadata lists them).")
@click.pass_obj
def tabulate(state: State, source: Path, output: Path, source_format: str | None, task: str | None,
             backend: str | None, strategy: str | None, allow_missing: bool) -> None:
    """Write SOURCE, a results directory whose run trained the same configurations on every seed
    (a grid, or random search with design_seed), as a table: one row per configuration, seed and
    epoch, with its provenance (automl_bench.tables documents the format). With --from, SOURCE is
    a published benchmark's file (LCBench's JSON)."""
    from automl_bench._results.tabulate import tabulate as build
    from automl_bench.tables import describe, write_table

    if source_format is not None:
        from automl_bench._results.converters import convert

        table = convert(source_format, source, dataset=task)
    else:
        table = build(state.host, source, task=task, backend=backend, strategy=strategy, allow_missing=allow_missing)
    write_table(table, output)
    d = describe(table)
    holes = len(table.provenance.get("missing", []))
    click.echo(f"{output}: {d['configurations']} configurations x {len(d['seeds'])} seeds, {d['rows']} rows "
               f"(up to {d['epochs']} epochs) of {table.provenance['task']} on {table.provenance['backend']}"
               + (f"; {holes} points of the grid missing" if holes else ""))


COMPARE_EXIT_CODES = """\b
Exit status:
  0    no gated metric regressed (or --fail-on never)
  1    a gated metric regressed
  2    the inputs cannot be compared: a missing or corrupt file, another suite version,
       other budgets (unless --allow-suite-change), no common cell, a bad option"""


def _gate(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    from typing import get_args

    from automl_bench._suite import GatedMetric

    if value is None:
        return None
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    valid = get_args(GatedMetric)
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise click.BadParameter(f"{', '.join(bad) or 'nothing'}: choose from {', '.join(valid)}")
    return names


@cli.command(epilog=COMPARE_EXIT_CODES)
@click.argument("baseline", type=click.Path(path_type=Path), required=False)
@click.argument("current", type=click.Path(path_type=Path), required=False)
@click.option("--against-history", type=click.Path(path_type=Path),
              help="Instead of BASELINE: a folder of exports (bench history), the baseline chosen by --since.")
@click.option("--since", metavar="REF",
              help="With --against-history: the export to compare against, N exports back or a commit, tag or "
                   "branch (the drift since then, however it came).")
@click.option("--alpha", type=click.FloatRange(0, 0.5, min_open=True, max_open=True),
              help="False-alarm rate over the whole comparison (Holm) [suite's [regression], else 0.05].")
@click.option("--max-score-drop", type=click.FloatRange(0, 1, max_open=True),
              help="Tolerated drop of a score, absolute [suite's, else 0.01].")
@click.option("--max-slowdown", type=click.FloatRange(1, 100), help="Tolerated time ratio [suite's, else 1.10].")
@click.option("--gate", callback=_gate, metavar="METRICS",
              help="Comma-separated metrics to judge: best_val, test, epoch_seconds, wall_seconds, latency_ms, params "
                   "[suite's, else best_val,test,epoch_seconds].")
@click.option("--fail-on", type=click.Choice(["regression", "never"]), default="regression", show_default=True,
              help="Exit 1 on a regression, or never (report only).")
@click.option("--allow-suite-change", is_flag=True,
              help="Compare results of different suite versions, epoch caps or trial budgets anyway.")
@click.option("--time-basis", type=click.Choice(["auto", "raw", "calibrated"]), default="auto", show_default=True,
              help="auto: raw times on one machine, calibrated times across machines.")
@click.option("--time", "clock", type=click.Choice(["wall", "cpu"]),
              help="Seconds per epoch by the wall clock, or the worker's CPU seconds (every thread), which a busy "
                   "machine moves less [suite's `time`, else wall].")
@click.option("--aa", is_flag=True, help="Both sides ran the same code: also show each metric's noise, to set "
                                         "tolerances from.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the markdown (printed on standard output) to this file.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML: a test case per cell and metric, a regression a failure.")
@click.option("--json-scores", type=click.Path(dir_okay=False, path_type=Path),
              help="Write scores in github-action-benchmark's format (tool: customBiggerIsBetter).")
@click.option("--json-times", type=click.Path(dir_okay=False, path_type=Path),
              help="Write times in github-action-benchmark's format (tool: customSmallerIsBetter).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw every change with its interval and the tolerance, as a PNG.")
@click.pass_obj
def compare(state: State, baseline: Path | None, current: Path | None, against_history: Path | None,
            since: str | None, alpha: float | None, max_score_drop: float | None,
            max_slowdown: float | None, gate: tuple[str, ...] | None, fail_on: str, allow_suite_change: bool,
            time_basis: str, clock: str | None, aa: bool, markdown_path: Path | None, junit_path: Path | None,
            json_scores: Path | None, json_times: Path | None, plot_path: Path | None) -> None:
    """Is CURRENT worse than BASELINE by more than the tolerances? Each is a results directory or a
    file written by `bench export`; with --against-history DIR --since REF, only CURRENT is given and
    the baseline is the history's export at REF. Prints markdown; see docs/how-to/regression.md."""
    from automl_bench._regression import baseline as baselines
    from automl_bench._regression import formats as formats
    from automl_bench._regression.compare import Settings
    from automl_bench._regression.compare import compare as run_compare

    if against_history is not None:
        from automl_bench._regression.history import baseline_at

        if since is None or current is not None or baseline is None:
            raise click.UsageError("--against-history DIR needs --since REF and one CURRENT (results or export)")
        cur = baselines.read(baseline)
        base = baseline_at(against_history, cur, since)
    else:
        if since is not None or baseline is None or current is None:
            raise click.UsageError("give BASELINE and CURRENT (or --against-history DIR --since REF and CURRENT)")
        base, cur = baselines.read(baseline), baselines.read(current)
    settings = Settings.resolve(cur, alpha=alpha, max_score_drop=max_score_drop, max_slowdown=max_slowdown,
                                gate=gate, time_basis=time_basis, allow_suite_change=allow_suite_change,
                                clock=clock)
    comparison = run_compare(base, cur, settings)
    text = formats.markdown(comparison, aa=aa)
    click.echo(text, nl=False)
    formats.write(comparison, text, markdown_path=markdown_path, junit_path=junit_path, scores_path=json_scores,
                  times_path=json_times, plot_path=plot_path)
    for warning in comparison.warnings:
        click.echo(f"warning: {warning}", err=True)
    status = comparison.exit_status(fail_on)  # type: ignore[arg-type]
    if comparison.regressions:
        click.echo(f"{len(comparison.regressions)} regression(s): " + ", ".join(
            f"{r.cell} {r.metric}" for r in comparison.regressions[:5]), err=True)
    sys.exit(status)


compare.usage_exit_code = 2  # type: ignore[attr-defined]


@cli.command(epilog="""\b
Exit status:
  0    the history was read (steps or not), or steps without --fail-on-step
  1    with --fail-on-step: the newest export starts a step for the worse, beyond the tolerance
  2    no readable export""")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--max-score-drop", type=click.FloatRange(0, 1, max_open=True),
              help="A score step beyond this is beyond tolerance [newest export's suite's, else 0.01].")
@click.option("--max-slowdown", type=click.FloatRange(1, 100),
              help="A time step beyond this ratio is beyond tolerance [newest export's suite's, else 1.10].")
@click.option("--fail-on-step", is_flag=True, help="Exit 1 when the newest export starts a step for the worse "
                                                   "beyond the tolerance.")
@click.option("--repository", type=click.Path(file_okay=False, path_type=Path),
              help="The git repository whose commits the exports name, to list the commits of a step "
                   "[the current directory].")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the markdown (printed on standard output) to this file.")
@click.option("--time", "clock", type=click.Choice(["wall", "cpu"]),
              help="Seconds per epoch by the wall clock, or the worker's CPU seconds [the newest export's suite's "
                   "`time`, else wall].")
@click.option("--site", "site_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write a static site (charts, a page per cell) into this folder.")
@click.option("--commit-url", metavar="TEMPLATE",
              help="Where a chart's point links, {commit} the commit [origin's GitHub or GitLab page, if any].")
@click.pass_obj
def history(state: State, sources: tuple[Path, ...], max_score_drop: float | None, max_slowdown: float | None,
            fail_on_step: bool, repository: Path | None, markdown_path: Path | None, clock: str | None,
            site_dir: Path | None, commit_url: str | None) -> None:
    """How each cell moved over SOURCES: exports (`bench export`, one per commit) or folders of them.
    Prints each cell and metric's series, the steps in it (change-point detection) and the commits
    to bisect; see docs/how-to/regression.md."""
    from automl_bench._regression import history as _history

    histories = _history.read_histories(sources)
    judged = _history.judge(histories, max_score_drop=max_score_drop, max_slowdown=max_slowdown, clock=clock,
                            repository=repository)  # each suite by its own tolerances, unless the options set them
    newest = judged.newest
    if site_dir is not None:
        try:
            import altair  # noqa: F401
            import vl_convert  # noqa: F401
        except ImportError:
            raise click.UsageError("--site draws with Altair: pip install 'automl-bench[history]'") from None
        from automl_bench._regression.history_site import write_site

        write_site(site_dir, histories, judged.found, judged.tolerances,
                   commit_url or _history.commit_url(repository), repository)
        click.echo(f"site: {site_dir / 'index.html'}", err=True)
    text = "\n".join(judged.texts)
    click.echo(text, nl=False)
    for warning in histories[0].warnings:
        click.echo(f"warning: {warning}", err=True)
    for skipped in histories[0].skipped:
        click.echo(f"warning: skipped {skipped}", err=True)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text, encoding="utf-8")
    if newest:
        click.echo(f"the newest export starts {len(newest)} step(s) for the worse: " + ", ".join(
            f"{s.cell} {s.metric}" for s, _ in newest[:5]), err=True)
    sys.exit(1 if newest and fail_on_step else 0)


history.usage_exit_code = 2  # type: ignore[attr-defined]


@cli.command()
@click.argument("suite", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("revisions")
@click.option("--exports", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The folder of exports, one per commit (<commit>.json), that bench history reads.")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N commits of REVISIONS (a single commit: "
                                                         "it and the N-1 before it).")
@click.option("--repository", type=click.Path(file_okay=False, exists=True, path_type=Path), default=Path("."),
              show_default=True, help="The git repository whose commits to run.")
@click.option("--max-trials", type=click.IntRange(min=1), help="Cap trials per cell (passed to bench run).")
@click.option("--max-epochs", type=click.IntRange(min=1), help="Cap epochs per trial (passed to bench run).")
@click.option("--timeout", type=click.FloatRange(min=1), default=1800.0, show_default=True,
              help="Seconds a commit's run may take before it is recorded as failed.")
@click.option("--site", "site_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Then write the history's site here, as bench history --site does.")
@click.pass_context
def backfill(ctx: click.Context, suite: Path, revisions: str, exports: Path, last: int | None, repository: Path,
             max_trials: int | None, max_epochs: int | None, timeout: float, site_dir: Path | None) -> None:
    """Run SUITE at each commit of REVISIONS (A..B, or a commit with --last N), each in a git
    worktree with that commit's code, export each into --exports, then read them as bench
    history does. Commits already exported are skipped; one that cannot run is recorded as
    <commit>.failed and the rest go on."""
    from automl_bench._regression import backfill as _backfill
    shas = _backfill.commits(repository, revisions, last)
    run_args = [*(["--max-trials", str(max_trials)] if max_trials else []),
                *(["--max-epochs", str(max_epochs)] if max_epochs else [])]

    def say(outcome: "_backfill.Outcome") -> None:
        click.echo(f"{outcome.commit}: {outcome.status}" + (f" ({outcome.detail})" if outcome.detail else ""), err=True)

    outcomes = _backfill.backfill(suite, repository, shas, exports, run_args, timeout, say)
    counts = {s: sum(o.status == s for o in outcomes) for s in dict.fromkeys(o.status for o in outcomes)}
    click.echo(f"{len(outcomes)} commits: " + ", ".join(f"{n} {s}" for s, n in counts.items()), err=True)
    ctx.invoke(history, sources=(exports,), max_score_drop=None, max_slowdown=None, fail_on_step=False,
               repository=repository, markdown_path=None, clock=None, site_dir=site_dir, commit_url=None)


backfill.usage_exit_code = 2  # type: ignore[attr-defined]


@cli.command()
@click.argument("suites", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def validate(state: State, suites: tuple[Path, ...]) -> None:
    """Check SUITES without running them; report every problem found."""
    from automl_bench._suite import load_suite
    from automl_bench.errors import SuiteError

    failed = False
    for path in suites:
        try:
            s = load_suite(path, state.host, digests=False)  # metadata only: no file read whole
        except SuiteError as exc:
            failed = True
            click.echo(str(exc), err=True)
            continue
        m = s.model
        cells = len(s.tasks) * len(m.matrix.backends) * len(m.matrix.strategies) * len(m.seeds)
        click.echo(f"{path}: ok: suite {s.name!r}, {len(s.tasks)} tasks, {cells} cells, "
                   f"up to {cells * m.budget.max_trials} trials")
    if failed:
        sys.exit(1)


@cli.command()
@click.pass_obj
def plugins(state: State) -> None:
    """List every plugin, where it came from, and what it registers."""
    host = state.build_host(announce=False)  # its problems are listed below, each with its plugin
    warnings: dict[str, list[str]] = {}
    for warning in host.warnings:
        warnings.setdefault(warning.name, []).append(warning.message)
    for info in host.plugins():
        click.echo(f"{info.name}  ({info.distribution}: {info.module})")
        for kind, name, summary in info.components:
            click.echo(f"    {kind + ':' + name:<22} {summary}")
        for message in warnings.get(info.name, []):
            click.echo(f"    warning: {message}")
    for broken in host.broken:
        click.echo(f"{broken.name}  ({broken.distribution})  NOT LOADED: {broken.error}")


def main() -> None:
    try:
        cli(prog_name="bench")
    except KeyboardInterrupt:  # a second Ctrl-C that came while the first was still being handled
        from automl_bench._run import interrupts as _interrupts
        _interrupts.ignore_further()
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
