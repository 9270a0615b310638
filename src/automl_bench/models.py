"""The backend-neutral model config: the same hyperparameters mean the same model everywhere.

Three families share one set of training knobs and add their own architecture knobs:

- ``mlp``: ``layers`` dense layers of ``units``.
- ``cnn``: ``conv_blocks`` blocks of conv (``kernel_size``, 'same' padding, ``filters`` doubling
  each block) -> [batch norm] -> activation -> 2x2 ``pooling``; then a dense head of
  ``dense_units``.
- Per layer: ``units`` (mlp) and ``filters`` (cnn) may be lists, one value per hidden layer or
  conv block (``units = [256, 128]`` is a 784-256-128-10 network on MNIST; ``layers`` or
  ``conv_blocks`` may then be left out, and must match the list's length if given; listed
  filters do not double). To search each layer's size on its own, as Keras Tuner users do, name
  it ``units_0``, ``units_1``, ... (``filters_0``, ...): ``units_<i>`` sets hidden layer ``i``
  and overrides ``units`` there; an index at or past the trial's ``layers`` is unused, so give it
  ``when = { layers = { min = i + 1 } }`` to search it only where the layer exists.
- ``rnn``: ``rnn_layers`` stacked ``cell`` (lstm or gru) layers of ``units``, optionally
  ``bidirectional``; the input is a sequence (image rows: an (H, W) image is H steps of W
  features); the last step's state feeds the output layer. On a token dataset, an
  ``embedding`` layer first maps each token id to a learned vector of that size (drawn
  uniformly from [-0.05, 0.05]; padding id 0 is a token like any other, and no L2 applies).

Dense and conv layers run: weights -> [batch norm] -> activation -> dropout (dense only).
``shift`` and ``flip`` augment image training data afresh each epoch: each image moves by a
random whole number of pixels in [-shift, shift] on each axis (zero fill) and is mirrored
left-right with probability 1/2; validation and test data are never augmented.

Transfer tasks (a task with a ``source``) split an mlp or cnn into a *trunk* of blocks and a
*head*. mlp: each hidden dense block is a trunk block; the head is the output layer. cnn: each
conv block is a trunk block; the head is the dense block and the output layer. The trunk's
architecture comes from the source model; the head is always new. ``mode`` says what the target
does with the pretrained trunk: ``scratch`` ignores it (same architecture, fresh weights),
``frozen`` keeps it fixed (batch norm in inference mode) and trains the head, ``finetune`` trains
everything with the trunk at ``learning_rate * trunk_lr_factor``, ``partial`` trains the top
``unfreeze_blocks`` trunk blocks (at that rate too) and keeps the rest frozen.
Every backend builds exactly this: kernels drawn by ``initializer`` (he or glorot, *uniform*),
biases zero; recurrent kernels orthogonal, LSTM forget-gate bias 1, GRU with the reset gate
applied after the recurrent matmul (Keras' ``reset_after``, PyTorch's only form); batch norm
with momentum 0.99 (Keras' convention) and epsilon 1e-3; ``l2`` adds ``l2 * sum(w**2)`` over
kernels (not biases, not recurrent kernels) to the training loss.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, Sequence

from automl_bench.published import PUBLISHED

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
INITIALIZERS = ("he", "glorot")
MONITORS = ("val_loss", "val_accuracy")
#: Sanity bounds on every int knob (sizes, counts) and on epochs: larger values are typing slips.
MAX_COUNT = 2**20
MAX_EPOCHS = 100_000
BN_MOMENTUM = 0.99  # running = m * running + (1 - m) * batch  (PyTorch's momentum is 1 - m)
BN_EPSILON = 1e-3


@dataclass(frozen=True)
class CalibrationShape:
    """The one workload every backend's `Backend.calibration_workload` trains, so that the
    figures of two frameworks measure the same work: an MLP ``inputs`` -> ``hidden`` x ``layers``
    (ReLU) -> ``classes``, trained with plain SGD (learning rate 0.01) on ``steps`` batches of
    ``batch`` rows of `calibration_data`, one pass per call, in float32."""

    inputs: int = 64
    hidden: int = 256
    layers: int = 2
    classes: int = 10
    batch: int = 64
    steps: int = 32


CALIBRATION = CalibrationShape()


def calibration_data(shape: CalibrationShape = CALIBRATION) -> tuple[Any, Any]:
    """The calibration workload's inputs (float32, ``steps * batch`` x ``inputs``) and integer
    labels, the same on every machine."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = shape.steps * shape.batch
    return (rng.standard_normal((rows, shape.inputs)).astype(np.float32),
            rng.integers(0, shape.classes, rows).astype(np.int64))


@dataclass(frozen=True)
class Knob:
    name: str
    kind: type
    default: Any
    doc: str
    check: Callable[[Any], str | None] = lambda v: None


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _at_least_one(v: Any) -> str | None:
    return None if v >= 1 else "must be >= 1"


def _unit_interval(v: Any) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


def _open_unit(v: Any) -> str | None:
    return None if 0 < v < 1 else "must be in (0, 1)"


def _odd(v: Any) -> str | None:
    return None if v >= 1 and v % 2 == 1 else "must be an odd number >= 1"


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of: {', '.join(choices)}"


TRAINING_KNOBS: tuple[Knob, ...] = (
    Knob("activation", str, "relu", "activation of dense and conv layers", _one_of(ACTIVATIONS)),
    Knob("dropout", float, 0.0, "dropout rate after each hidden dense layer (rnn: before the output)", _unit_interval),
    Knob("batch_norm", bool, False, "batch normalisation after each dense/conv layer (not rnn)"),
    Knob("l2", float, 0.0, "L2 penalty: l2 * sum(w**2) over kernels, added to the loss", _non_negative),
    Knob("initializer", str, "he", "kernel initialiser: he or glorot (uniform)", _one_of(INITIALIZERS)),
    Knob("optimizer", str, "adam", "adam, sgd or rmsprop", _one_of(OPTIMIZERS)),
    Knob("learning_rate", float, 1e-3, "learning rate", _positive),
    Knob("beta1", float, 0.9, "Adam beta_1", _unit_interval),
    Knob("beta2", float, 0.999, "Adam beta_2", _unit_interval),
    Knob("epsilon", float, 1e-7, "Adam and RMSprop epsilon", _positive),
    Knob("momentum", float, 0.0, "SGD and RMSprop momentum", _unit_interval),
    Knob("nesterov", bool, False, "SGD Nesterov momentum"),
    Knob("rho", float, 0.9, "RMSprop decay of the squared-gradient average", _unit_interval),
    Knob("batch_size", int, 64, "minibatch size", _at_least_one),
    Knob("epochs", int, 10, "training epochs (capped by the budget's max_epochs)", _at_least_one),
    Knob("early_stopping", bool, False, "stop when es_monitor has not improved for es_patience epochs"),
    Knob("es_monitor", str, "val_loss", "val_loss or val_accuracy", _one_of(MONITORS)),
    Knob("es_patience", int, 3, "epochs without improvement before stopping", _at_least_one),
    Knob("es_min_delta", float, 0.0, "smallest change that counts as an improvement", _non_negative),
    Knob("restore_best", bool, False, "end training with the weights of the epoch with the best es_monitor value "
         "(Keras' restore_best_weights; with or without early_stopping)"),
    Knob("reduce_lr", bool, False, "multiply the learning rate by lr_factor when val_loss plateaus"),
    Knob("lr_factor", float, 0.1, "factor for reduce_lr", _open_unit),
    Knob("lr_patience", int, 2, "epochs without val_loss improvement before reducing", _at_least_one),
    Knob("min_lr", float, 0.0, "lower bound for reduce_lr", _non_negative),
    Knob("shift", int, 0, "augmentation (image data): random shift of up to this many pixels, zero fill",
         _non_negative),
    Knob("flip", bool, False, "augmentation (image data): random left-right flip"),
)

MODES = ("scratch", "frozen", "finetune", "partial")
#: Knobs that only transfer tasks may set (mlp and cnn).
TRANSFER_KNOBS: tuple[Knob, ...] = (
    Knob("mode", str, "scratch", "transfer: scratch, frozen, finetune or partial", _one_of(MODES)),
    Knob("trunk_lr_factor", float, 0.1, "transfer: learning rate of trainable pretrained blocks, as a multiple "
         "of learning_rate", _positive),
    Knob("unfreeze_blocks", int, 1, "transfer, partial: the top trunk blocks that train", _at_least_one),
)
#: The knobs that shape the trunk: a transfer task takes them from its source model.
TRUNK_KNOBS: dict[str, tuple[str, ...]] = {
    "mlp": ("layers", "units", "activation", "batch_norm"),
    "cnn": ("conv_blocks", "filters", "kernel_size", "pooling", "activation", "batch_norm"),
}
AUGMENTATION_KNOBS = ("shift", "flip")

ARCHITECTURE_KNOBS: dict[str, tuple[Knob, ...]] = {
    "mlp": (
        Knob("layers", int, 2, "hidden dense layers (0: a linear model)", _non_negative),
        Knob("units", int, 128, "units per hidden layer, or a list: one value per hidden layer; `units_<i>` "
             "sets layer i", _at_least_one),
    ),
    "cnn": (
        Knob("conv_blocks", int, 2, "conv blocks, each halving height and width", _at_least_one),
        Knob("filters", int, 16, "filters of the first block, doubling each block; or a list: one value per "
             "block; `filters_<i>` sets block i", _at_least_one),
        Knob("kernel_size", int, 3, "square kernel size (odd)", _odd),
        Knob("pooling", str, "max", "2x2 pooling: max or avg", _one_of(("max", "avg"))),
        Knob("dense_units", int, 64, "units of the dense layer after the conv blocks", _at_least_one),
    ),
    "rnn": (
        Knob("cell", str, "lstm", "lstm or gru", _one_of(("lstm", "gru"))),
        Knob("units", int, 64, "units per recurrent layer (per direction)", _at_least_one),
        Knob("rnn_layers", int, 1, "stacked recurrent layers", _at_least_one),
        Knob("bidirectional", bool, False, "run each layer both ways and concatenate"),
        Knob("embedding", int, 0, "token datasets: size of each token's learned vector (0: inputs are vectors)",
             _non_negative),
    ),
}
FAMILIES = tuple(ARCHITECTURE_KNOBS)
#: Knobs that may be a list, one value per layer, with the knob that counts the layers.
PER_LAYER: dict[str, tuple[str, str]] = {"mlp": ("units", "layers"), "cnn": ("filters", "conv_blocks")}
_LAYER_NAME = re.compile(r"(?P<base>[a-z]+)_(?P<index>\d+)")


def layer_knob(family: str, name: str) -> tuple[str, int | None]:
    """``units_2`` of an mlp is hidden layer 2's ``units``: ("units", 2). Any other name: (name, None)."""
    m = _LAYER_NAME.fullmatch(name)
    if m and family in PER_LAYER and m["base"] == PER_LAYER[family][0]:
        return m["base"], int(m["index"])
    return name, None


KNOBS: dict[str, tuple[Knob, ...]] = {
    f: ARCHITECTURE_KNOBS[f] + TRAINING_KNOBS + (TRANSFER_KNOBS if f in TRUNK_KNOBS else ()) for f in FAMILIES}


@dataclass(frozen=True)
class ModelConfig:
    """One trial's model, typed. Fields of other families keep their defaults and are ignored."""

    family: str = "mlp"
    # mlp
    layers: int = 2
    units: int | tuple[int, ...] = 128  # a tuple: one value per hidden layer (see hidden_units)
    # cnn
    conv_blocks: int = 2
    filters: int | tuple[int, ...] = 16  # a tuple: one value per conv block (see block_filters)
    kernel_size: int = 3
    pooling: str = "max"
    dense_units: int = 64
    # rnn (units shared with mlp; 64 is the rnn default, applied by build_config)
    cell: str = "lstm"
    rnn_layers: int = 1
    bidirectional: bool = False
    embedding: int = 0
    # training
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    l2: float = 0.0
    initializer: str = "he"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-7
    momentum: float = 0.0
    nesterov: bool = False
    rho: float = 0.9
    batch_size: int = 64
    epochs: int = 10
    early_stopping: bool = False
    es_monitor: str = "val_loss"
    es_patience: int = 3
    es_min_delta: float = 0.0
    restore_best: bool = False
    reduce_lr: bool = False
    lr_factor: float = 0.1
    lr_patience: int = 2
    min_lr: float = 0.0
    # augmentation
    shift: int = 0
    flip: bool = False
    # transfer
    mode: str = "scratch"
    trunk_lr_factor: float = 0.1
    unfreeze_blocks: int = 1
    #: Not knobs: set from a task's source of published weights (automl_bench.published). The
    #: trunk is that network's base, images resized to ``input_size`` (0: its rule).
    published: str = ""
    input_size: int = 0

    @property
    def hidden_units(self) -> tuple[int, ...]:
        """mlp: the units of each hidden layer, first to last."""
        return self.units if isinstance(self.units, tuple) else (self.units,) * self.layers

    @property
    def block_filters(self) -> tuple[int, ...]:
        """cnn: the filters of each conv block, first to last."""
        if isinstance(self.filters, tuple):
            return self.filters
        return tuple(self.filters * 2 ** b for b in range(self.conv_blocks))

    @property
    def trunk_blocks(self) -> int:
        """Blocks in the trunk (mlp: hidden layers; cnn: conv blocks)."""
        return self.layers if self.family == "mlp" else self.conv_blocks if self.family == "cnn" else 0

    def trainable_blocks(self) -> range:
        """Indices of the trunk blocks that train in this config's mode (scratch: all)."""
        n = PUBLISHED[self.published].blocks if self.published else self.trunk_blocks
        if self.mode == "partial" and not 1 <= self.unfreeze_blocks < n:
            raise ValueError(f"partial: unfreeze_blocks must be 1..{n - 1} for a trunk of {n} blocks, "
                             f"got {self.unfreeze_blocks} (all blocks training is mode 'finetune')")
        first = {"scratch": 0, "finetune": 0, "frozen": n, "partial": max(n - self.unfreeze_blocks, 0)}[self.mode]
        return range(first, n)


_FLOAT_FIELDS = {f.name for f in fields(ModelConfig) if f.type in ("float", float)}


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


def check_value(family: str, name: str, value: Any) -> str | None:
    """Return a problem with setting knob ``name`` of ``family`` to ``value``, or None."""
    if family not in KNOBS:
        return f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}"
    knobs = {k.name: k for k in KNOBS[family]}
    base, index = layer_knob(family, name)
    if base not in knobs:
        per_layer = f" (per layer: {PER_LAYER[family][0]}_0, {PER_LAYER[family][0]}_1, ...)" if family in PER_LAYER else ""
        return f"{family} has no knob {name!r}; valid knobs: {', '.join(knobs)}{per_layer}"
    knob = knobs[base]
    if isinstance(value, (list, tuple)) and index is None and family in PER_LAYER and name == PER_LAYER[family][0]:
        if not value:
            return f"{name} lists no values; give one per {'hidden layer' if family == 'mlp' else 'conv block'}"
        return next((p.replace(name, f"{name}[{i}]", 1) for i, v in enumerate(value) if (p := check_value(family, name, v))),
                    None)
    is_bool = isinstance(value, bool)
    ok_type = (knob.kind is bool and is_bool) or (
        not is_bool and (isinstance(value, knob.kind) or (knob.kind is float and isinstance(value, int)))
    )
    if not ok_type:
        listed = " or a list of them, one per layer" if family in PER_LAYER and name == PER_LAYER[family][0] else ""
        return f"{name} must be {knob.kind.__name__}{listed}, got {value!r}"
    if knob.kind is float and not math.isfinite(value):
        return f"{name} must be a finite number, got {value!r}"
    limit = MAX_EPOCHS if name == "epochs" else MAX_COUNT
    if knob.kind is int and not is_bool and value > limit:
        return f"{name} must be at most {limit:,}, got {value!r}"
    problem = knob.check(value)
    return f"{name} {problem}, got {value!r}" if problem else None


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


def build_config(family: str, params: Mapping[str, Any], max_epochs: int | None = None) -> ModelConfig:
    """Turn one trial's parameters into a config; ``max_epochs`` caps ``epochs``."""
    if family not in KNOBS:
        raise ValueError(f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}")
    problems = [p for name, value in params.items() if (p := check_value(family, name, value))]
    if problems:
        raise ValueError("; ".join(problems))
    defaults = {k.name: k.default for k in KNOBS[family]}
    layered = {name: v for name, v in params.items() if layer_knob(family, name)[1] is not None}
    values = {**defaults, **{k: v for k, v in params.items() if k not in layered}}
    values = {k: float(v) if k in _FLOAT_FIELDS else v for k, v in values.items()}
    if family in PER_LAYER:
        values.update(_per_layer(family, params, values, layered))
    if max_epochs is not None:
        values["epochs"] = min(values["epochs"], max_epochs)
    return ModelConfig(family=family, **values)


def _per_layer(family: str, params: Mapping[str, Any], values: dict[str, Any],
               layered: Mapping[str, Any]) -> dict[str, Any]:
    """The per-layer knob (units, filters) and its layer count, from a list and ``<knob>_<i>`` values."""
    knob, count = PER_LAYER[family]
    value = values[knob]
    if isinstance(value, (list, tuple)):
        if count in params and params[count] != len(value):
            raise ValueError(f"{knob} lists {len(value)} values {list(value)} but {count} = {params[count]}: give one "
                             f"value per {'hidden layer' if family == 'mlp' else 'conv block'}, or leave {count} out")
        value = tuple(value)
    n = len(value) if isinstance(value, tuple) else values[count]
    overrides = {layer_knob(family, name)[1]: v for name, v in layered.items()}
    if any(i < n for i in overrides):
        sizes = list(value) if isinstance(value, tuple) else \
            [value * (2 ** b if family == "cnn" else 1) for b in range(n)]
        for i, v in overrides.items():
            if i < n:  # a layer past this trial's count is not built (Keras Tuner keeps such values too)
                sizes[i] = v
        value = tuple(sizes)
    return {knob: value, count: n}


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


def config_dict(config: ModelConfig) -> dict[str, Any]:
    """A config as JSON-ready knobs of its family (saved beside a model's weights)."""
    names = {k.name for k in KNOBS[config.family]}
    values = {f.name: getattr(config, f.name) for f in fields(config) if f.name in names}
    return {"family": config.family, **{k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}


def config_from_dict(data: Mapping[str, Any]) -> ModelConfig:
    """The config `config_dict` wrote."""
    return build_config(data["family"], {k: v for k, v in data.items() if k != "family"})


def knob_reference() -> str:
    """docs/models.md: every knob of every family, from the tables above."""
    lines = ["# Model knobs", "",
             "Generated from `automl_bench/models.py` by `python -m automl_bench.models > docs/models.md`;",
             "a test keeps this file in step with the code. A suite's search space may set any knob of",
             "its task's family, as a fixed value or a range. Every int knob is at most "
             f"{MAX_COUNT:,} (`epochs` at most {MAX_EPOCHS:,}) and every float knob finite: larger",
             "values are typing slips, and are rejected with the file and line.", "",
             "## What every backend builds", "", (__doc__ or "").split("\n\n", 1)[1].strip(), ""]

    def table(knobs: tuple[Knob, ...]) -> list[str]:
        rows = ["| knob | type | default | meaning |", "|---|---|---|---|"]
        rows += [f"| `{k.name}` | {k.kind.__name__} | `{k.default!r}` | {k.doc} |" for k in knobs]
        return rows + [""]

    for family in FAMILIES:
        lines += [f"## `{family}`", "", *table(ARCHITECTURE_KNOBS[family])]
    lines += ["## Training knobs (every family)", "", *table(TRAINING_KNOBS)]
    lines += ["## Transfer knobs (transfer tasks: mlp and cnn)", "", *table(TRANSFER_KNOBS)]
    lines += ["A transfer task takes these architecture knobs from its source model and may not set them:", ""]
    lines += [f"- `{family}`: {', '.join(f'`{k}`' for k in knobs)}" for family, knobs in TRUNK_KNOBS.items()]
    lines += [""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(knob_reference(), end="")
