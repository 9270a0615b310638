"""`bench tabulate --from lcbench`: LCBench's published JSON as a table, on a small file written
here in its layout, replayed like a shipped table (its configurations are a random sample, not a
grid: replay moves each proposal to the nearest recorded one)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from automl_bench._cli import cli
from automl_bench._results.converters import from_lcbench
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.tables import PARAM, TableError, read_table

#: Six sampled configurations (not every combination of their values), as LCBench records them.
CONFIGS = [
    {"learning_rate": 0.001, "num_layers": 1, "max_units": 64},
    {"learning_rate": 0.01, "num_layers": 3, "max_units": 512},
    {"learning_rate": 0.1, "num_layers": 2, "max_units": 128},
    {"learning_rate": 0.0003, "num_layers": 5, "max_units": 1024},
    {"learning_rate": 0.03, "num_layers": 1, "max_units": 256},
    {"learning_rate": 0.003, "num_layers": 4, "max_units": 64},
]


def accuracy(config_id: int, epoch: int) -> float:
    return round(40 + 8 * config_id + 5 * epoch, 3)  # in percent, as LCBench logs it


def lcbench_file(path, datasets=("credit-g", "adult")):
    data = {}
    for name in datasets:
        data[name] = {}
        for cid, config in enumerate(CONFIGS):
            epochs = [0, 1, 2, 3]  # LCBench logs an evaluation before the first epoch
            data[name][str(cid)] = {
                "config": {**config, "network": "shapedmlpnet", "optimizer": "sgd"},  # constants: not parameters
                "log": {"epoch": epochs, "time": [0.5 * e + 0.1 for e in epochs],
                        "Train/val_accuracy": [accuracy(cid, e) for e in epochs],
                        "Train/val_cross_entropy": [1.0 / (e + 1) for e in epochs],
                        "Train/test_accuracy": [accuracy(cid, e) - 1 for e in epochs]},
                "results": {"final_test_accuracy": accuracy(cid, 3) - 1}}
    path.write_text(json.dumps(data))
    return path


def test_one_dataset_of_an_lcbench_file_becomes_a_table_of_its_curves(tmp_path):
    table = from_lcbench(lcbench_file(tmp_path / "lc.json"), dataset="adult")
    frame = table.frame
    assert table.params == ["learning_rate", "max_units", "num_layers"]  # what varies; constants are left out
    assert len(frame) == 6 * 3 and sorted(frame["epoch"].unique()) == [1, 2, 3]
    row = frame[(frame[PARAM + "learning_rate"] == 0.1) & (frame["epoch"] == 2)].iloc[0]
    assert row["val_accuracy"] == pytest.approx(accuracy(2, 2) / 100)  # percent made a fraction
    assert row["seconds"] == pytest.approx(0.5)  # the step of the cumulative time log
    assert row["test_accuracy"] == pytest.approx((accuracy(2, 3) - 1) / 100)
    assert row["final_val_accuracy"] == pytest.approx(accuracy(2, 3) / 100)
    space = {p["name"]: p for p in table.provenance["space"]}
    assert space["learning_rate"]["log"] and space["max_units"]["log"] and not space["num_layers"]["log"]
    assert table.provenance["source"]["name"] == "lcbench" and table.provenance["task"] == "adult"


def test_bad_lcbench_input_is_a_clear_error(tmp_path):
    with pytest.raises(TableError, match="holds 2 datasets.*choose one with --task"):
        from_lcbench(lcbench_file(tmp_path / "lc.json"))
    with pytest.raises(TableError, match="has no dataset 'iris'; it has: adult, credit-g"):
        from_lcbench(tmp_path / "lc.json", dataset="iris")
    (tmp_path / "cut.json").write_text('{"adult": {"0": {"config"')
    with pytest.raises(TableError, match="is not an LCBench JSON file"):
        from_lcbench(tmp_path / "cut.json")
    with pytest.raises(TableError, match="no such file"):
        from_lcbench(tmp_path / "missing.json")


REPLAY = """\
name = "lc"
seeds = [0, 1, 2]

[budget]
max_trials = {trials}

[matrix]
backends = ["replay"]
strategies = ["{strategy}"]

[[tasks]]
name = "adult"
table = "lc.parquet"
"""


def test_a_converted_table_replays_every_proposal_on_a_recorded_configuration(bench_host, tmp_path):
    result = CliRunner().invoke(cli, ["tabulate", "--from", "lcbench", str(lcbench_file(tmp_path / "lc.json")),
                                      "--task", "adult", "-o", str(tmp_path / "lc.parquet")])
    assert result.exit_code == 0, result.output
    assert "6 configurations x 1 seeds, 18 rows" in result.output
    assert read_table(tmp_path / "lc.parquet").provenance["source"]["name"] == "lcbench"
    recorded = {tuple(sorted(c.items())) for c in CONFIGS}
    for strategy, trials in (("random", 12), ("tpe", 12), ("grid", 10)):
        (tmp_path / "lc.toml").write_text(REPLAY.format(trials=trials, strategy=strategy))
        results = run_suite(load_suite(tmp_path / "lc.toml", bench_host), bench_host,
                            RunOptions(out=tmp_path / strategy))
        trials_df = results.trials
        assert (trials_df["status"] == "ok").all()
        seen = [tuple(sorted(json.loads(p).items())) for p in trials_df["params"]]
        assert set(seen) <= recorded, strategy  # every trial scored on a configuration the table has
        for params, value in zip(trials_df["params"], trials_df["value"]):
            cid = CONFIGS.index(json.loads(params))
            assert value == pytest.approx(accuracy(cid, 3) / 100)
        if strategy == "grid":  # grid search enumerates the recorded configurations, no more
            assert sorted(trials_df.groupby("seed")["trial"].count()) == [6, 6, 6]


def test_a_narrowed_space_that_keeps_no_recorded_configuration_is_refused_with_its_place(bench_host, tmp_path):
    from automl_bench.errors import SuiteError

    CliRunner().invoke(cli, ["tabulate", "--from", "lcbench", str(lcbench_file(tmp_path / "lc.json")),
                             "--task", "adult", "-o", str(tmp_path / "lc.parquet")])
    text = REPLAY.format(trials=4, strategy="random") + "[tasks.space]\nnum_layers = 3\nmax_units = 64\n"
    (tmp_path / "lc.toml").write_text(text)  # 3 layers and 64 units: each recorded, never together
    with pytest.raises(SuiteError, match=r"lc\.toml:\d+: tasks\[0\]\.table: .*no configuration of the table "
                                         r"lc\.parquet has the values this suite keeps"):
        load_suite(tmp_path / "lc.toml", bench_host)
