"""Transfer tasks: each source model is pretrained once, then reused from a cache.

A source model is keyed by everything that determines its weights: the backend and its
framework versions and device, the source data (digest and split sizes), the full model config
and the seed. Its weights and a JSON note of how they were made are stored under
``$AUTOML_BENCH_DATA/pretrained/<backend>/<key>``, so every trial, every cell and every later
run with the same key loads them instead of training again. A file lock makes concurrent
workers wait for one pretraining rather than each doing it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from automl_bench._api.records import Splits, TrialRequest
from automl_bench._files.downloads import data_root
from automl_bench._model.config import TRUNK_KNOBS, ModelConfig, build_config, layer_knob

if TYPE_CHECKING:
    from automl_bench._api.interfaces import Backend


def pretrained_root() -> Path:
    return data_root() / "pretrained"


def target_config(request: TrialRequest) -> ModelConfig:
    """The trial's config, with the trunk knobs its source model was built with (or the
    published network its trunk is)."""
    task = request.task
    assert task.source is not None
    if task.source.weights:
        config = build_config(task.family, request.params, request.max_epochs)
        return dataclasses.replace(config, published=task.source.weights, input_size=task.source.input_size or 0)
    trunk = {k: v for k, v in task.source.params.items() if layer_knob(task.family, k)[0] in TRUNK_KNOBS[task.family]}
    return build_config(task.family, {**request.params, **trunk}, request.max_epochs)


def source_config(request: TrialRequest) -> ModelConfig:
    """The source model's config: its fixed params, epochs capped like any trial's."""
    task = request.task
    assert task.source is not None
    return build_config(task.family, task.source.params, request.max_epochs)


def source_weights(backend_name: str, backend: "Backend", request: TrialRequest, splits: Splits,
                   describe: Callable[[Splits], Mapping[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The path of the source model's weights, pretraining it first if no cached copy exists;
    and what the trial records about it."""
    from filelock import FileLock

    task = request.task
    assert task.source is not None
    config = source_config(request)
    data = dict(describe(splits))
    recipe = {"backend": backend_name, "environment": dict(backend.environment()), "data": data,
              "split": [task.val_fraction, task.test_fraction, task.split_seed],
              "config": dataclasses.asdict(config), "seed": request.source_seed}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]
    directory = pretrained_root() / backend_name
    directory.mkdir(parents=True, exist_ok=True)
    weights, note = directory / f"{key}.weights", directory / f"{key}.json"
    with FileLock(str(directory / f"{key}.lock")):
        if weights.exists() and note.exists():
            made = json.loads(note.read_text())
            return weights, {**made["summary"], "reused": True}
        start = time.perf_counter()
        model = backend.fit(data=splits, config=config, seed=request.source_seed, report=lambda report: None)
        seconds = time.perf_counter() - start
        scores = backend.evaluate(model, splits.x_val, splits.y_val)
        partial = weights.with_name(weights.name + ".part")
        backend.save(model, partial)
        backend.release(model)
        os.replace(partial, weights)
        summary = {"key": key, **data, "val_accuracy": float(scores["accuracy"]), "pretrain_seconds": seconds}
        note.write_text(json.dumps({"summary": summary, "recipe": recipe}, indent=2, sort_keys=True) + "\n")
        return weights, {**summary, "reused": False}
