"""What a model configuration can be checked against before training: the data it will read
(`check_input`), its per-layer knobs (`check_layers`), and how many parameters it trains."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from automl_bench._model.config import AUGMENTATION_KNOBS, PER_LAYER, ModelConfig, layer_knob


def trainable_parameters(config: ModelConfig, input_shape: Sequence[int], n_classes: int,
                         transfer: bool = False) -> int:
    """How many parameters train (mlp and cnn): every one, or with ``transfer``, those of the
    head and of the trunk blocks the config's mode trains. Batch norm trains its scale and shift."""
    bn = 2 if config.batch_norm else 0
    blocks: list[int] = []
    if config.family == "mlp":
        width = 1
        for d in input_shape:
            width *= d
        for units in config.hidden_units:
            blocks.append(width * units + units + bn * units)
            width = units
        head = width * n_classes + n_classes
    elif config.family == "cnn":
        h, w = input_shape[0], input_shape[1]
        channels = input_shape[2] if len(input_shape) == 3 else 1
        for filters in config.block_filters:
            blocks.append(config.kernel_size ** 2 * channels * filters + filters + bn * filters)
            channels, h, w = filters, h // 2, w // 2
        d = config.dense_units
        head = channels * h * w * d + d + bn * d + d * n_classes + n_classes
    else:
        raise ValueError(f"trainable_parameters counts mlp and cnn models, not {config.family!r}")
    trains = config.trainable_blocks() if transfer else range(len(blocks))
    return head + sum(blocks[b] for b in trains)


def check_input(family: str, input_shape: Sequence[int], params: Mapping[str, Sequence[Any]],
                kind: str | None = None) -> list[str]:
    """Problems with training ``family`` on inputs of ``input_shape`` (one sample).

    ``params`` maps knob names to every value the search may give them; ``kind`` is the
    dataset's kind of sample ("image", "sequence", "tokens", "features"), when it declares one.
    """
    shape = tuple(input_shape)
    if kind == "text":
        return ["text is read by a pretrained sentence encoder: give the task a [tasks.source] with weights = "
                "\"sbert:all-MiniLM-L6-v2\" and model = \"mlp\" (the head)"]
    embedding = [v for v in params.get("embedding", [0])]
    if kind == "tokens":
        if family != "rnn":
            return [f"token data is read by an rnn with an embedding, not by a {family}"]
        if len(shape) != 1 or min(embedding) < 1:
            return [f"token data (sequences of {shape[0] if shape else '?'} token ids) needs embedding >= 1: the size "
                    "of each token's learned vector"]
        return []
    if any(embedding):
        return [f"embedding reads token ids; this dataset's samples are {kind or 'vectors'} of shape {shape}"]
    augmented = [k for k in AUGMENTATION_KNOBS if any(params.get(k, [False]))]
    if augmented and (kind not in (None, "image") or len(shape) not in (2, 3)):
        return [f"{' and '.join(augmented)} augment images; this dataset's samples are "
                f"{kind or 'not images'} of shape {shape}"]
    if family == "cnn":
        if len(shape) not in (2, 3):
            return [f"a cnn needs image input (height, width[, channels]); this dataset's samples have shape {shape}"]
        listed = [len(v) for v in params.get("filters", []) if isinstance(v, (list, tuple))]
        blocks = max([*params.get("conv_blocks", [] if listed else [ModelConfig.conv_blocks]), *listed])
        if min(shape[:2]) // 2 ** blocks < 1:
            return [f"conv_blocks up to {blocks} halve {shape[0]}x{shape[1]} images below 1x1; "
                    f"at most {min(shape[:2]).bit_length() - 1} blocks fit"]
    if family == "rnn" and len(shape) != 2:
        return [f"an rnn needs sequence input (steps, features); this dataset's samples have shape {shape}"]
    return []


def check_layers(family: str, params: Mapping[str, Sequence[Any]]) -> list[str]:
    """Problems with the per-layer knobs of a space: ``params`` maps knob names to every value the
    search may give them. A list must match every layer count; ``<knob>_<i>`` must name a layer
    that some trial builds."""
    if family not in PER_LAYER:
        return []
    knob, count = PER_LAYER[family]
    lists = [v for v in params.get(knob, []) if isinstance(v, (list, tuple))]
    counts = list(params.get(count, []))
    problems = [f"{knob} lists {len(v)} values {list(v)} but {count} may be {c}: give one value per "
                f"{'hidden layer' if family == 'mlp' else 'conv block'}, or leave {count} out"
                for v in lists[:1] for c in counts if c != len(v)][:1]
    most = max([*counts, *(len(v) for v in lists)] or [getattr(ModelConfig, count)])
    for name in params:
        base, index = layer_knob(family, name)
        if index is not None and index >= most:
            problems.append(f"{name} sets {'hidden layer' if family == 'mlp' else 'conv block'} {index} "
                            f"(counting from 0), but {count} is at most {most}: no trial would use it")
    return problems
