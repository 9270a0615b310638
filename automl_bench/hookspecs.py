"""Every hook automl-bench calls, grouped by phase. This file is the hook reference.

Hooks are called with keyword arguments only, and an implementation may take fewer
arguments than its spec, so specs can grow without breaking plugins. Registration hooks
hand small frozen records (name, summary, factory) to a ``register`` callback: nothing is
imported or built until a suite uses the component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import pluggy

if TYPE_CHECKING:  # from where they are defined: the root imports the host, which imports this
    from automl_bench._api.records import CellKey, FinishedTrial, RunResults
    from automl_bench._api.specs import (
        BackendSpec,
        DatasetSpec,
        ExecutorSpec,
        PrunerSpec,
        ReporterSpec,
        ReportSectionSpec,
        StrategySpec,
    )

hookspec = pluggy.HookspecMarker("automl_bench")

__all__ = ["hookspec", "bench_backends", "bench_datasets", "bench_executors", "bench_on_run_end", "bench_on_trial_end",
           "bench_pruners", "bench_report_sections", "bench_reporters", "bench_strategies"]


# --------------------------------------------------------------------------- registration


@hookspec
def bench_backends(register: Callable[["BackendSpec"], None]) -> None:
    """Register training backends: `register(BackendSpec(name, summary, factory, families=("mlp",),
    packages=(), max_trials_per_worker=None, transfer=False, check_space=None, weights=(),
    replays=False, model_suffix="", load_model=None, model_input=None))`.

    Called once per plugin host: in the main process when a suite is validated or plugins
    are listed, and once in each worker process.

    - `factory()` is called inside a worker process, which then calls `setup(threads=, device=)`
      once, before the framework's first operation, and serves many trials with `fit` and
      `evaluate`, calling `release(model)` after each.
    - `families` lists the model families (`mlp`, `cnn`, `rnn`) the backend trains; a suite asking
      for another is rejected at validation. A `ModelConfig` means exactly the model
      [models.md](models.md) defines (layer order, initialisers, batch-norm convention, the L2 rule):
      build that, so the same hyperparameters mean the same model on every backend.
    - `check_space(space)` returns the problems the backend has with a task's search space (a knob
      value it cannot build); they are reported with file and line when a suite is validated.
    - `packages` names distributions whose versions every result row records;
      `max_trials_per_worker` replaces a worker after that many trials (for frameworks that leak).

    What `Backend` promises, and `BackendContract` checks:

    - `fit(data=, config=, seed=, report=, pretrained=None)` trains for `config.epochs` epochs and
      calls `report(EpochReport(epoch, metrics))` after each, with at least `train_loss`,
      `val_loss`, `val_accuracy` and `learning_rate`, all finite. It applies early stopping and
      reduce-LR through `EpochControl`, ends with the best epoch's weights under
      `config.restore_best`, augments image data with `augment` when `config.shift` or
      `config.flip` say so, and reads token data through `config.embedding`.
    - The same seed gives the same numbers on CPU; another seed another model.
    - `evaluate(model, x, y)` returns at least `accuracy` and `loss` (mean cross-entropy).
    - `environment()` returns what every result row records: at least `device`, and versions.
    - `calibration_workload()` (optional) returns a function that trains `CALIBRATION`'s MLP on
      `calibration_data()` for one pass, written directly in the framework (not through `fit`, so
      that a change to the backend's code does not change it), on the device `setup` chose. The
      host times it when a run starts (the fastest of five calls after one to warm up) and records
      it; `bench compare` divides trial times by it to compare runs made on different machines
      ([regression.md](../how-to/regression.md)). A backend without one gets no calibration figure, and
      `bench compare` says so instead of judging its times across machines.
    - A config it cannot build is a `ValueError` saying why; a knob value it lacks too, never
      silently ignored.
    - What its models cost ([What a model costs](../explanation/cost.md)), each optional: without
      it the column stays empty. `count_parameters(model)` returns `{"trainable": n, "total": m}`
      (every weight the model holds, batch norm's running statistics included, so that one network
      counts alike on every backend); `predict(model, x)` returns logits as a host array, computed
      on the device the model trained on, which the host times for the latency columns;
      `peak_device_memory()` returns the framework's peak GPU memory in bytes since its last call
      (which starts a new count), or None on the CPU. `BackendContract` checks the first two.
    - `setup` raises `BackendUnavailableError` when the framework is missing (naming the command
      that installs it) or `device = "cuda"` finds no GPU. Preflight starts each backend's worker
      before the first trial, so this is found at once: the backend's cells are named with your
      message, nothing is recorded for them, and `bench run` exits 2 (`--keep-going` runs the
      other cells meanwhile). Failing that way is never a trial's result.
    - `export(model, config, path)` (optional) saves a trained model in the framework's own
      format, at `path` plus the format's suffix, and returns the file; the host calls it for each
      cell's final model (`results/<suite>/models/...`), and the leaderboard names the file.
      Without it (it raises `NotImplementedError`) the `model` column stays empty. Test classes
      define `load_exported(path)`, loading the file with the framework's own API, and
      `BackendContract` checks that the loaded model predicts what the trained one scored. To let
      users read those files with `automl_bench.saved.load_model(path)`, as they read the built-in
      backends' `.keras`, `.pt` and `.npz`, register `model_suffix` (the file's suffix),
      `load_model(path, device)` (importing the framework when called) and, where the model reads
      inputs in a layout of its own, `model_input(x, family)`.

    With `transfer=True` the backend runs transfer tasks (mlp and cnn). It then implements
    `save(model, path)`, writing the weights as an `.npz` archive in which the arrays of trunk block
    `b` are named `block<b>/...`; `count_trainable(model)`; and `fit(..., pretrained=path)`, which
    builds the trial's model, loads the trunk from that file (raising `ValueError` if the shapes do
    not fit) and trains as `config.mode` says: `config.trainable_blocks()` lists the trunk blocks
    that train; they train at `learning_rate * trunk_lr_factor`; frozen blocks keep their weights
    and batch-norm statistics. The host pretrains the source with a plain `fit`, saves it with
    `save`, caches it, and never passes `pretrained` to a `scratch` trial. `TransferContract`
    checks all of this.

    With `weights=("keras",)` the backend loads published weights of that framework
    (`PUBLISHED` maps each name, `keras:VGG16` and `keras:VGG19`, to a `PublishedModel`: its
    constructor, weights `file`, `origin` and `md5`, `min_size`, `blocks`, and the `preprocessing`
    its inputs need, `IMAGENET_BGR_MEAN` for "caffe"). It implements
    `published_weights(name, file)`: the weights file (fetched once through the framework's own
    checked download, or `file` when the suite gives a copy) and what rows record of it (at least
    `weights` and `file_sha256`), raising `DataError` that names the file and where to put it when
    it cannot be had (`missing_weights_message(model, reason)` words it; `weights_sha256(path)`
    hashes the file once per process and file version). `fit` then gets that file
    as `pretrained`, with `config.published` naming the network (its base is the trunk,
    `config.input_size` the square size images are resized to, 0 for the rule
    `published_input_size(model, height, width)` applies) and `config.mode` as above.

    With `replays=True` the backend replays tables of recorded training runs instead of training
    (the built-in `replay`): it runs exactly the tasks that name a `table`, and only those. It
    implements `replay(table, params, seed, report, *, max_epochs=None, evaluate_test=False,
    suite_seed=None)`: `table` is an `automl_bench.tables.Table`; report the configuration's
    recorded epochs with `report(EpochReport(epoch, metrics))`, each with its recorded `seconds`
    (the host takes a `seconds` a backend reports at its word, and sums them as the trial's training
    seconds), at most `max_epochs` of them; return the final `val_*` metrics, `test_*` ones when
    `evaluate_test`, and `eval_seconds`; raise for a configuration the table records as failed.
    `ReplayBackendContract` checks this (`BackendContract`, which trains, does not apply).
    """


@hookspec
def bench_strategies(register: Callable[["StrategySpec"], None]) -> None:
    """Register search strategies: `register(StrategySpec(name, summary, factory, options={...},
    check_space=None))`. `factory(space=, seed=, **options)` builds a `Strategy`:
    `ask(number) -> params | None` (None: the search is exhausted), `tell(FinishedTrial)`, and
    `restore(trials)` (called on resume with the recorded trials in order; the default replays
    each ask and tell, so a seeded strategy continues exactly as if never interrupted).
    A multi-fidelity strategy (Hyperband, BOHB, SMAC's multi-fidelity facade) decides each trial's
    budget: its `ask` returns `Proposal(params, epochs)`. The trial trains (or, on the replay backend,
    replays its recorded curve) for that many epochs, never past the configuration's own `epochs`
    nor the suite's `max_epochs`; its value is the score after those epochs, its compute seconds
    are those epochs', and `budget` is recorded in the store and `trials.csv` and told back with the
    `FinishedTrial`. A cell's best trial is then scored on the test split after full training.
    `check_space(space)`, when given, returns the problems the strategy has with a search space (a
    parameter kind it cannot search); they are reported when a suite is validated. `options` maps
    each option a suite may set under `[strategy.<name>]` to its default; a suite setting anything
    else, or a value of another type, is rejected at validation.

    Called once per plugin host, when a suite or `bench plugins` first needs strategies.

    `objectives` says which suites the strategy searches: `"single"` (the default: one objective,
    the task's metric), `"multi"` (a suite's two or more `objectives`; `factory` is also given
    `directions`, a tuple of `"maximize"` and `"minimize"` in the suite's order, and each told
    `FinishedTrial` carries `values` in that order), or `"any"` (both; `directions` is given in a
    multi-objective suite). A suite that pairs a strategy with the wrong kind of suite is refused at
    validation, naming the strategies that fit. `StrategyContract` drives a multi-objective
    strategy when its test class sets `directions`.
    """


@hookspec
def bench_datasets(register: Callable[["DatasetSpec"], None]) -> None:
    """Register datasets: `register(DatasetSpec(name, summary, load, input_shape=None, kind=None,
    class_counts=None))`. `class_counts`, the samples of each class (label 0 first) when known without
    loading, lets `bench validate` refuse `classes` the data lacks and `shots` its smallest class
    cannot give; `DatasetContract` checks it against the loaded data.
    `kind` is `"image"`, `"sequence"`, `"tokens"` or `"features"`: augmentation knobs are accepted
    on images only. A `"tokens"` dataset holds integer ids (0 for padding): build it with
    `make_dataset(..., vocab_size=n)`; it is read by an rnn whose space sets `embedding`.
    `input_shape` (one sample's shape, e.g. `(28, 28)`), when given, lets validation reject a model
    that cannot read the data (a CNN on flat vectors, more pooling blocks than the image allows)
    before any training; without it the same check fails each trial with the same message.
    `load()` returns a `Dataset` built with `make_dataset(name, x, y, source)`. Raise `DataError`
    when the data cannot be had, saying what is expected and where: preflight calls `load()` once
    before the first trial, and a `DataError` there (or in a worker later) means the cells that use
    the dataset cannot run, which is reported, not recorded as failed trials. The host makes the
    stratified train / validation / test splits.

    Called once per plugin host, when datasets are first needed. A task in a suite names one of
    them together with a model family.
    """


@hookspec
def bench_reporters(register: Callable[["ReporterSpec"], None]) -> None:
    """Register reporters: `register(ReporterSpec(name, summary, factory, default=True))`. `factory()`
    builds a `Reporter` whose `write(results, out_dir)` writes and returns the paths written;
    `results` is a `RunResults`. Reporters run when a run ends, a resumed one too, so write
    idempotently. A suite's `reporters = [...]` picks them; a suite that names none gets every
    reporter whose spec says `default=True`. Say `default=False` for a reporter that writes outside
    the results directory or costs time (the MLflow plugin does).

    Called once per plugin host, when reporters are first needed (when a run ends).
    """


@hookspec
def bench_pruners(register: Callable[["PrunerSpec"], None]) -> None:
    """Register pruners: `register(PrunerSpec(name, summary, factory, options={...}))`.
    `factory(**options)` builds one `Pruner` per cell, with `should_prune(number, epoch, value)`
    (called in the main process after every epoch of every trial of that cell; `value` is the
    objective so far), `finish(FinishedTrial)`, and `restore(trials, histories)` (on resume, with
    each recorded trial's per-epoch objective values; the default replays them). A suite pairs a
    pruner with any strategy as `"strategy+pruner"` in `matrix.strategies` and sets its options
    under `[pruner.<name>]`. A pruned trial is recorded with status `pruned`, the epoch it reached
    and its score there; strategies are told of it with that status.

    Called once per plugin host, when pruners are first needed. A suite pairs a pruner with a
    strategy as ``"strategy+pruner"`` in ``matrix.strategies``.
    """


@hookspec
def bench_report_sections(register: Callable[["ReportSectionSpec"], None]) -> None:
    """Register sections of the report (`bench report`, and the end of `bench run`):
    `register(ReportSectionSpec(name, summary, build, order=100))`. `build(results, directory)` gets the
    run's `RunResults` and the report directory, writes any picture it shows there, and returns a
    `ReportSection(title, markdown)` whose markdown links them by file name (`![what](file.png)`),
    or None when it has nothing to say about these results. Sections appear by `order`, then name;
    the built-ins use 10 to 60. The same markdown becomes `report.md` and, rendered, `index.html`.
    A section that raises is replaced by a line saying so; the rest of the report is written.

    Called once per plugin host, when a report is written (`bench report`, or the end of
    `bench run`). The built-in sections (leaderboard, ranks and tests, anytime curves, learning
    curves, transfer, backend speed) register through this hook too.

    ```python
    from automl_bench import ReportSection, ReportSectionSpec, hookimpl


    def seeds_table(results, directory):
        counts = results.trials.groupby("strategy")["seed"].nunique()
        return ReportSection("Seeds per strategy", counts.to_frame("seeds").to_markdown())


    @hookimpl
    def bench_report_sections(register):
        register(ReportSectionSpec("seeds", "how many seeds each strategy ran", seeds_table, order=90))
    ```
    """


@hookspec
def bench_executors(register: Callable[["ExecutorSpec"], None]) -> None:
    """Register executors: `register(ExecutorSpec(name, summary, factory, options={...}, packages=()))`.
    A suite picks one with `[execution] executor = "name"` (default `local`); `bench run --executor
    name` overrides it. `factory(settings)` gets an `ExecutionSettings` and builds an `Executor`.
    `options` maps each key of its own that a suite's `[execution]` table may set to its default (the
    `ray` executor declares `ray_address`); a suite setting another key, or a value of another type,
    is rejected at validation with its line. The executor's choice and its options are not part of
    a suite's identity: a run started on one executor resumes on another.

    Called once per plugin host, when a run starts or `bench plugins` lists them. A suite picks
    one with ``[execution] executor = "NAME"`` (``bench run --executor NAME`` overrides it). The
    built-in ``local`` (worker processes on this machine, the default) and ``ray`` executors
    register through this hook too.

    The search, the store and resume stay in the driver process; an executor only runs trials. The
    driver's loop is the whole protocol:

    ```python
    executor.start(backend)                   # optional: begin setting up, while the driver loads the data
    executor.warm_up(backend)                 # before the first trial; returns why it cannot start, or None
    while work is left:
        while executor.has_capacity() and (job := next_job()):
            executor.submit(job)              # a Finished at once if its backend cannot start here
        for event in executor.poll(timeout=1.0):
            if isinstance(event, Finished):
                record(event)                 # in the store before the strategy hears of it (replays: in its group)
            elif event.job.request.prune:
                executor.answer(event.job, pruner.should_prune(...))
    executor.close()                          # or terminate() when interrupted
    ```

    In the process that runs trials, build a `TrialRunner` and call its `run`: it turns every
    failure into a `TrialOutcome`. A process started on the driver's machine from the driver
    (inheriting its environment) finds there the datasets the driver already loaded and split, and
    reads them instead of loading them again; elsewhere it loads them itself. `poll(0)` returns the
    events ready now without waiting: the driver calls it before it commits a group of replayed
    trials, and waits only when nothing is ready. What `Executor` promises, and `ExecutorContract` checks: every
    submitted job ends in exactly one `Finished`; a trial runs at most `job.timeout` seconds after
    it starts (`on_start`), then is stopped hard and reported as `timeout`; a trial whose request
    says `prune` waits for `answer` after each epoch; a backend's processes are reused, and replaced
    when an outcome says `replace_worker` or after `max_trials_per_worker` trials; `terminate`
    leaves nothing running. A process or machine lost for a reason of the executor's own (a dead
    cluster node) is retried up to `settings.max_retries` times and counted in `Finished.retries`,
    not reported as the trial's failure; past that, report it with `infrastructure=True` (nothing
    is recorded, and the next run tries again). `describe()` returns what the run records about
    where its trials ran. `environments` and `calibrations` map each backend to what its first
    process reported. The built-in `local` and `ray` executors (`automl_bench/_plugins/`) are
    written this way, against the public API alone.
    """


# --------------------------------------------------------------------------- events


@hookspec
def bench_on_trial_end(cell: "CellKey", trial: "FinishedTrial", metrics: Mapping[str, float]) -> None:
    """Called in the main process each time a trial's result has been recorded.

    ``cell`` names the task, backend, strategy and seed. Useful for live logging.

    Called in the main process each time a trial's result has been recorded in the store: committed,
    or, for a replayed trial, written in the group of replayed trials that is committed with it
    (within 0.1 s, and before the run waits or ends). `cell` is the
    trial's `CellKey`; `trial` a `FinishedTrial`; `metrics` the trial's final metric values.
    """


@hookspec
def bench_on_run_end(results: "RunResults") -> None:
    """Called once when a run has finished every cell and written its reports.

    Called once when a run has finished every cell and its reporters have written, with its
    `RunResults`.
    """
