"""Backend speed and memory: the harness against a hand-written loop in the same framework.

    .venv/bin/python benchmarks/backends.py                 # all backends and families, mnist-5k
    .venv/bin/python benchmarks/backends.py --backends torch,numpy --families mlp --epochs 3

Each backend runs in its own process (Keras fixes its engine at import), one thread, on the
3,000 training images of mnist-5k. For every family it times seconds per epoch of:

- harness: the backend's ``fit`` as a trial runs it (per-epoch validation, reports, control);
- baseline: a loop written by hand in the same framework, doing the same work per epoch
  (torch: tensors pre-loaded, manual index slicing, then a validation pass; Keras: ``model.fit``
  with ``validation_data``; NumPy: the same layers driven directly, then a validation pass).

Each measurement is the median of ``--reps`` fits after one warm-up fit. It also reports
peak resident memory of the process and how resident memory moved from trial 2 to trial
``--trials`` of repeated fits (a leak shows as steady growth). Targets: harness/baseline
within 1.05 for torch and Keras; NumPy MLP epoch within 1.5x of the torch MLP epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "mlp": {"layers": 2, "units": 128, "batch_size": 64, "learning_rate": 0.001},
    "cnn": {"conv_blocks": 2, "filters": 16, "dense_units": 64, "batch_size": 64, "learning_rate": 0.001},
    "rnn": {"cell": "lstm", "units": 64, "batch_size": 64, "learning_rate": 0.001},
}


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def median_time(fn, reps: int) -> float:
    fn()  # warm-up: imports, graph tracing, allocator
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --------------------------------------------------------------------------- baselines


def torch_baseline(config, data, seed):
    import torch

    from automl_bench._plugins.torch_backend import arrange, build_model

    torch.manual_seed(seed)
    xt = arrange(torch.as_tensor(data.x_train), config.family)
    yt = torch.as_tensor(data.y_train)
    xv = arrange(torch.as_tensor(data.x_val), config.family)
    yv = torch.as_tensor(data.y_val)
    model = build_model(torch, config, tuple(xt.shape[1:]), 10)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    n, bs = len(xt), config.batch_size
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            loss = loss_fn(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            float(loss_fn(logits, yv)), float((logits.argmax(1) == yv).float().mean())


def keras_baseline(config, data, seed):
    import keras

    from automl_bench._plugins.keras_backend import build_model
    from automl_bench.backend import as_model_input

    keras.utils.set_random_seed(seed)
    xt, xv = as_model_input(data.x_train, config.family), as_model_input(data.x_val, config.family)
    model = build_model(keras, config, xt.shape[1:], 10)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(xt, data.y_train, batch_size=config.batch_size, epochs=config.epochs,
              validation_data=(xv, data.y_val), verbose=0)
    keras.backend.clear_session()


def numpy_baseline(config, data, seed):
    import numpy as np

    from automl_bench._plugins.numpy_backend import scores
    from automl_bench._plugins.numpy_backend.network import Network
    from automl_bench._plugins.numpy_backend.optimizers import Optimizer
    from automl_bench.backend import as_model_input

    xt, xv = as_model_input(data.x_train, config.family), as_model_input(data.x_val, config.family)
    net = Network(config, xt.shape[1:], 10, seed)
    opt = Optimizer(net.params, config)
    rng = np.random.default_rng(seed)
    for _ in range(config.epochs):
        order = rng.permutation(len(xt))
        for start in range(0, len(xt), config.batch_size):
            idx = order[start:start + config.batch_size]
            net.loss_and_grads(xt[idx], data.y_train[idx])
            opt.step()
        scores(net, xv, data.y_val)


BASELINES = {"torch": torch_baseline, "keras": keras_baseline, "keras-torch": keras_baseline, "numpy": numpy_baseline}


# --------------------------------------------------------------------------- one backend


def measure(backend_name: str, families: list[str], epochs: int, reps: int, trials: int) -> dict:
    from automl_bench._files.data import make_splits
    from automl_bench._manager import get_plugin_manager
    from automl_bench._run.trials import return_freed_memory
    from automl_bench.backend import build_config

    host = get_plugin_manager()
    backend = host.backend(backend_name).factory()
    backend.setup(threads=1, device="cpu")
    data = make_splits(host.dataset("mnist-5k").load(), val_fraction=0.2, test_fraction=0.2, seed=0)
    out = {"backend": backend_name, "environment": dict(backend.environment()), "families": {}}
    for family in families:
        config = build_config(family, {**CONFIGS[family], "epochs": epochs})

        def harness():  # what a worker does for one trial, minus the pipe
            model = backend.fit(data=data, config=config, seed=0, report=lambda r: None)
            backend.release(model)
            return_freed_memory()

        harness_s = median_time(harness, reps) / epochs
        baseline_s = median_time(lambda: BASELINES[backend_name](config, data, 0), reps) / epochs
        one_epoch = build_config(family, {**CONFIGS[family], "epochs": 1})
        rss = []
        for _ in range(trials):
            model = backend.fit(data=data, config=one_epoch, seed=0, report=lambda r: None)
            backend.release(model)
            del model
            return_freed_memory()
            rss.append(rss_mb())
        out["families"][family] = {
            "harness_s_per_epoch": harness_s, "baseline_s_per_epoch": baseline_s,
            "rss_trial2_mb": rss[min(1, len(rss) - 1)], "rss_last_mb": rss[-1],
        }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="torch,keras,keras-torch,numpy")
    parser.add_argument("--families", default="mlp,cnn,rnn")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20, help="repeated one-epoch fits for the memory check")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one backend, print JSON
    parser.add_argument("--smoke", action="store_true", help="torch and numpy, mlp, one epoch: the script still runs")
    args = parser.parse_args()
    if args.smoke:
        args.backends, args.families, args.epochs, args.reps, args.trials = "torch,numpy", "mlp", 1, 1, 2
    families = args.families.split(",")
    if args.one:
        print("RESULT " + json.dumps(measure(args.one, families, args.epochs, args.reps, args.trials)))
        return

    results = []
    for name in args.backends.split(","):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
               "KERAS_BACKEND": "torch" if name == "keras-torch" else "tensorflow"}
        cmd = [sys.executable, __file__, "--one", name, "--families", args.families, "--epochs", str(args.epochs),
               "--reps", str(args.reps), "--trials", str(args.trials)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            print(f"{name}: failed\n{done.stdout[-2000:]}{done.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(line[len("RESULT "):]))
        print(f"measured {name}", file=sys.stderr)

    print(f"\nseconds per epoch on mnist-5k (3,000 train images), 1 thread, median of {args.reps}; "
          f"memory over {args.trials} one-epoch trials\n")
    print(f"{'backend':<12} {'family':<6} {'harness s':>10} {'baseline s':>11} {'ratio':>6} "
          f"{'RSS trial 2':>12} {'RSS last':>9} {'peak RSS':>9}")
    torch_mlp = None
    for r in results:
        for family, m in r["families"].items():
            ratio = m["harness_s_per_epoch"] / m["baseline_s_per_epoch"]
            if r["backend"] == "torch" and family == "mlp":
                torch_mlp = m["harness_s_per_epoch"]
            print(f"{r['backend']:<12} {family:<6} {m['harness_s_per_epoch']:>10.3f} {m['baseline_s_per_epoch']:>11.3f} "
                  f"{ratio:>6.2f} {m['rss_trial2_mb']:>9.0f} MB {m['rss_last_mb']:>6.0f} MB {r['peak_rss_mb']:>6.0f} MB")
    numpy_mlp = next((r["families"]["mlp"]["harness_s_per_epoch"] for r in results
                      if r["backend"] == "numpy" and "mlp" in r["families"]), None)
    if torch_mlp and numpy_mlp:
        print(f"\nNumPy MLP epoch / torch MLP epoch: {numpy_mlp / torch_mlp:.2f} (target <= 1.5)")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
