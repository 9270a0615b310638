"""The torch backend's networks: the MLP, CNN and RNN a `ModelConfig` describes, their
initialisation, and the input layout they read."""

from __future__ import annotations

from automl_bench.backend import BN_EPSILON, BN_MOMENTUM


def arrange_input(x, family: str):
    """Samples as this backend's models read them (a NumPy array or a tensor): see `arrange`."""
    import torch

    return arrange(torch.as_tensor(x), family)


def arrange(x, family: str):
    """mlp: (n, features); cnn: (n, channels, h, w); rnn: (n, steps, features)."""
    if family == "mlp":
        return x.flatten(1)
    if family == "cnn":
        return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    return x


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
                self.body, width = body(nn, config, input_shape)
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
    initialise(torch, model, config)
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


def body(nn, config, input_shape: tuple[int, ...]):
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


def initialise(torch, model, config) -> None:
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


def kernels(torch, model) -> list:
    """Dense, conv and RNN input kernels carry the L2 penalty; biases, BN and recurrent kernels do not."""
    nn = torch.nn
    kernels = []
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            kernels.append(module.weight)
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            kernels += [p for name, p in module.named_parameters() if name.startswith("weight_ih")]
    return kernels


def block_of(model, key: str) -> int | None:
    """The trunk block a state-dict key belongs to, or None (head, or not a block)."""
    if not key.startswith("body."):
        return None
    index = int(key.split(".")[1])
    return next((b for b, (start, end) in enumerate(model.blocks) if start <= index < end), None)


def saved_name(model, key: str) -> str:
    """Array names in saved weights: ``block<b>/<key>`` for trunk block b, ``head/<key>`` otherwise."""
    block = block_of(model, key)
    return f"head/{key}" if block is None else f"block{block}/{key}"
