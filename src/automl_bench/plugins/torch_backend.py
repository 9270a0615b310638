"""The PyTorch backend: data held as tensors on the worker's device, batches sliced by index.

torch is imported in `setup`, inside the worker process, never when the plugin is loaded.
"""

from __future__ import annotations

import gc
from typing import Any, Mapping

from automl_bench import Backend, BackendSpec, EpochReport, hookimpl
from automl_bench.errors import BackendUnavailableError

EVAL_CHUNK = 4096


class TorchBackend(Backend):
    def __init__(self) -> None:
        self.torch: Any = None
        self.device: Any = None
        self._tensors: tuple[int, Any] | None = None  # (id of the splits, device tensors)

    def setup(self, *, threads: int, device: str) -> None:
        try:
            import torch
        except ImportError as exc:
            raise BackendUnavailableError("backend 'torch' needs PyTorch: pip install torch==2.13.0") from exc
        torch.set_num_threads(threads)
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("device = 'cuda' but PyTorch sees no GPU; use device = 'auto' or 'cpu'")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.torch, self.device = torch, torch.device(device)

    def environment(self) -> Mapping[str, str]:
        torch = self.torch
        if self.device.type == "cuda":
            where = f"cuda: {torch.cuda.get_device_name(self.device)}"
        else:
            where = f"cpu (threads={torch.get_num_threads()})"
        return {"torch": torch.__version__, "device": where}

    def fit(self, *, data, config, seed, report):
        torch = self.torch
        nn = torch.nn
        torch.manual_seed(seed)
        x_train, y_train, x_val, y_val = self._on_device(data)
        model = self._build(config, x_train.shape[1], data.n_classes).to(self.device)
        if config.optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=config.momentum)
        loss_fn = nn.CrossEntropyLoss()
        shuffle = torch.Generator(device="cpu").manual_seed(seed)
        n, bs = x_train.shape[0], config.batch_size
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=shuffle).to(self.device)
            total = torch.zeros((), device=self.device)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                loss = loss_fn(model(x_train[idx]), y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * idx.shape[0]
            val = self._scores(model, x_val, y_val)
            report(EpochReport(epoch, {"train_loss": float(total) / n, "val_loss": val["loss"],
                                       "val_accuracy": val["accuracy"]}))
        return model

    def evaluate(self, model, x, y):
        torch = self.torch
        return self._scores(model, torch.as_tensor(x, device=self.device).flatten(1),
                            torch.as_tensor(y, device=self.device))

    def release(self, model) -> None:
        del model
        gc.collect()
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()

    # -- internals --------------------------------------------------------------------

    def _on_device(self, data):
        if self._tensors is None or self._tensors[0] != id(data):
            t = self.torch
            tensors = (
                t.as_tensor(data.x_train, device=self.device).flatten(1),
                t.as_tensor(data.y_train, device=self.device),
                t.as_tensor(data.x_val, device=self.device).flatten(1),
                t.as_tensor(data.y_val, device=self.device),
            )
            self._tensors = (id(data), tensors)
        return self._tensors[1]

    def _build(self, config, n_inputs: int, n_classes: int):
        nn = self.torch.nn
        act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "gelu": nn.GELU}
        layers: list[Any] = []
        width = n_inputs
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.units), act[config.activation]()]
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width = config.units
        layers.append(nn.Linear(width, n_classes))
        return nn.Sequential(*layers)

    def _scores(self, model, x, y) -> dict[str, float]:
        torch = self.torch
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, x.shape[0], EVAL_CHUNK):
                logits = model(x[start:start + EVAL_CHUNK])
                target = y[start:start + EVAL_CHUNK]
                loss_sum += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
                correct += int((logits.argmax(1) == target).sum())
        n = max(x.shape[0], 1)
        return {"loss": loss_sum / n, "accuracy": correct / n}


@hookimpl
def bench_backends(register):
    register(BackendSpec("torch", "PyTorch MLP; CUDA when device is cuda/auto and a GPU is present",
                         TorchBackend, families=("mlp",), packages=("torch",)))
