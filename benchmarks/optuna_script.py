"""The search `benchmarks/fixed_cost.py` times, written by hand with optuna and PyTorch, as a user
would write it without automl-bench: the baseline the harness must not be slower than.

    .venv/bin/python benchmarks/optuna_script.py --trials 20 --seed 0

scikit-learn's digits (pixels / 16), stratified 60/20/20 train/validation/test splits, a
PyTorch MLP (ReLU hidden layers, Adam, batch 64, 10 epochs, a validation pass after each
epoch), searched by optuna's TPE over learning rate (log), layers, units (log) and dropout; the
best configuration is then trained again and scored on the test split, as a harness cell's final
is. One thread, one process. Prints one line of JSON: the best validation accuracy, its test
accuracy, and the seconds the trials and the final took (training and evaluation).
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import optuna
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    digits = load_digits()
    x, y = (digits.images / 16.0).reshape(len(digits.target), -1).astype(np.float32), digits.target
    rest, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
    train, val = train_test_split(rest, test_size=0.25, stratify=y[rest], random_state=0)
    tensors = {name: (torch.from_numpy(x[i]), torch.from_numpy(y[i]).long())
               for name, i in (("train", train), ("val", val), ("test", test))}
    trained = [0.0]  # seconds the trials and the final spent training and evaluating

    def accuracy(model, split: str) -> float:
        features, labels = tensors[split]
        model.eval()
        with torch.no_grad():
            return float((model(features).argmax(1) == labels).float().mean())

    def fit(params: dict, seed: int, score_on: str, trial: optuna.Trial | None = None) -> float:
        start = time.perf_counter()
        torch.manual_seed(seed)
        layers, width = [], x.shape[1]
        for _ in range(params["layers"]):
            layers += [torch.nn.Linear(width, params["units"]), torch.nn.ReLU(), torch.nn.Dropout(params["dropout"])]
            width = params["units"]
        model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
        opt = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
        features, labels = tensors["train"]
        generator = torch.Generator().manual_seed(seed)
        score = 0.0
        for _ in range(10):
            model.train()
            order = torch.randperm(len(labels), generator=generator)
            for i in range(0, len(order), 64):
                batch = order[i:i + 64]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(features[batch]), labels[batch]).backward()
                opt.step()
            score = accuracy(model, "val")
        if score_on == "test":
            score = accuracy(model, "test")
        trained[0] += time.perf_counter() - start
        return score

    def objective(trial: optuna.Trial) -> float:
        params = {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
                  "layers": trial.suggest_int("layers", 1, 3),
                  "units": trial.suggest_int("units", 32, 256, log=True),
                  "dropout": trial.suggest_float("dropout", 0.0, 0.3)}
        return fit(params, seed=trial.number, score_on="val")

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=args.seed))
    study.optimize(objective, n_trials=args.trials)
    test = fit(study.best_params, seed=study.best_trial.number, score_on="test")
    print(json.dumps({"best_val_accuracy": study.best_value, "test_accuracy": test, "trained_seconds": trained[0]}))


if __name__ == "__main__":
    main()
