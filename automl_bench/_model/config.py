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
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

from automl_bench._model.published import PUBLISHED

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
INITIALIZERS = ("he", "glorot")
MONITORS = ("val_loss", "val_accuracy")
#: Sanity bounds on every int knob (sizes, counts) and on epochs: larger values are typing slips.
MAX_COUNT = 2**20
MAX_EPOCHS = 100_000
BN_MOMENTUM = 0.99  # running = m * running + (1 - m) * batch  (PyTorch's momentum is 1 - m)
BN_EPSILON = 1e-3
FAMILIES = ("mlp", "cnn", "rnn")
#: The families a transfer task trains: their trunk comes from a source model.
TRANSFERABLE = ("mlp", "cnn")


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


MODES = ("scratch", "frozen", "finetune", "partial")
#: The knobs that shape the trunk: a transfer task takes them from its source model.
TRUNK_KNOBS: dict[str, tuple[str, ...]] = {
    "mlp": ("layers", "units", "activation", "batch_norm"),
    "cnn": ("conv_blocks", "filters", "kernel_size", "pooling", "activation", "batch_norm"),
}
AUGMENTATION_KNOBS = ("shift", "flip")
#: Knobs that may be a list, one value per layer, with the knob that counts the layers.
PER_LAYER: dict[str, tuple[str, str]] = {"mlp": ("units", "layers"), "cnn": ("filters", "conv_blocks")}
_LAYER_NAME = re.compile(r"(?P<base>[a-z]+)_(?P<index>\d+)")


def layer_knob(family: str, name: str) -> tuple[str, int | None]:
    """``units_2`` of an mlp is hidden layer 2's ``units``: ("units", 2). Any other name: (name, None)."""
    m = _LAYER_NAME.fullmatch(name)
    if m and family in PER_LAYER and m["base"] == PER_LAYER[family][0]:
        return m["base"], int(m["index"])
    return name, None


def knob(default: Any, doc: str, check: Callable[[Any], str | None] | None = None, *, group: str = "training",
         families: tuple[str, ...] = FAMILIES, **per_family: Any) -> Any:
    """A `ModelConfig` field that is a knob: its default, what it means, the check of its values,
    its group (architecture, training, transfer) and the families that have it. ``per_family``
    gives another default (``default_rnn=64``) or meaning (``doc_rnn="..."``) for one family."""
    return field(default=default, metadata={"knob": (doc, check or _anything, group, families, per_family)})


def _anything(v: Any) -> str | None:
    return None


@dataclass(frozen=True)
class ModelConfig:
    """One trial's model, typed. Each knob is declared here once, with its type, default, meaning,
    check and families; the knob tables, `build_config`'s checks and docs/reference/models.md follow from
    these fields. Fields of other families keep their defaults and are ignored."""

    family: str = "mlp"
    # mlp
    layers: int = knob(2, "hidden dense layers (0: a linear model)", _non_negative, group="architecture",
                       families=("mlp",))
    units: int | tuple[int, ...] = knob(  # a tuple: one value per hidden layer (see hidden_units)
        128, "units per hidden layer, or a list: one value per hidden layer; `units_<i>` sets layer i", _at_least_one,
        group="architecture", families=("mlp", "rnn"), default_rnn=64,
        doc_rnn="units per recurrent layer (per direction)")
    # cnn
    conv_blocks: int = knob(2, "conv blocks, each halving height and width", _at_least_one, group="architecture",
                            families=("cnn",))
    filters: int | tuple[int, ...] = knob(  # a tuple: one value per conv block (see block_filters)
        16, "filters of the first block, doubling each block; or a list: one value per block; `filters_<i>` sets "
        "block i", _at_least_one, group="architecture", families=("cnn",))
    kernel_size: int = knob(3, "square kernel size (odd)", _odd, group="architecture", families=("cnn",))
    pooling: str = knob("max", "2x2 pooling: max or avg", _one_of(("max", "avg")), group="architecture",
                        families=("cnn",))
    dense_units: int = knob(64, "units of the dense layer after the conv blocks", _at_least_one, group="architecture",
                            families=("cnn",))
    # rnn (units above)
    cell: str = knob("lstm", "lstm or gru", _one_of(("lstm", "gru")), group="architecture", families=("rnn",))
    rnn_layers: int = knob(1, "stacked recurrent layers", _at_least_one, group="architecture", families=("rnn",))
    bidirectional: bool = knob(False, "run each layer both ways and concatenate", group="architecture",
                               families=("rnn",))
    embedding: int = knob(0, "token datasets: size of each token's learned vector (0: inputs are vectors)",
                          _non_negative, group="architecture", families=("rnn",))
    # training
    activation: str = knob("relu", "activation of dense and conv layers", _one_of(ACTIVATIONS))
    dropout: float = knob(0.0, "dropout rate after each hidden dense layer (rnn: before the output)", _unit_interval)
    batch_norm: bool = knob(False, "batch normalisation after each dense/conv layer (not rnn)")
    l2: float = knob(0.0, "L2 penalty: l2 * sum(w**2) over kernels, added to the loss", _non_negative)
    initializer: str = knob("he", "kernel initialiser: he or glorot (uniform)", _one_of(INITIALIZERS))
    optimizer: str = knob("adam", "adam, sgd or rmsprop", _one_of(OPTIMIZERS))
    learning_rate: float = knob(1e-3, "learning rate", _positive)
    beta1: float = knob(0.9, "Adam beta_1", _unit_interval)
    beta2: float = knob(0.999, "Adam beta_2", _unit_interval)
    epsilon: float = knob(1e-7, "Adam and RMSprop epsilon", _positive)
    momentum: float = knob(0.0, "SGD and RMSprop momentum", _unit_interval)
    nesterov: bool = knob(False, "SGD Nesterov momentum")
    rho: float = knob(0.9, "RMSprop decay of the squared-gradient average", _unit_interval)
    batch_size: int = knob(64, "minibatch size", _at_least_one)
    epochs: int = knob(10, "training epochs (capped by the budget's max_epochs)", _at_least_one)
    early_stopping: bool = knob(False, "stop when es_monitor has not improved for es_patience epochs")
    es_monitor: str = knob("val_loss", "val_loss or val_accuracy", _one_of(MONITORS))
    es_patience: int = knob(3, "epochs without improvement before stopping", _at_least_one)
    es_min_delta: float = knob(0.0, "smallest change that counts as an improvement", _non_negative)
    restore_best: bool = knob(False, "end training with the weights of the epoch with the best es_monitor value "
                                     "(Keras' restore_best_weights; with or without early_stopping)")
    reduce_lr: bool = knob(False, "multiply the learning rate by lr_factor when val_loss plateaus")
    lr_factor: float = knob(0.1, "factor for reduce_lr", _open_unit)
    lr_patience: int = knob(2, "epochs without val_loss improvement before reducing", _at_least_one)
    min_lr: float = knob(0.0, "lower bound for reduce_lr", _non_negative)
    # augmentation
    shift: int = knob(0, "augmentation (image data): random shift of up to this many pixels, zero fill",
                      _non_negative)
    flip: bool = knob(False, "augmentation (image data): random left-right flip")
    # transfer (mlp and cnn)
    mode: str = knob("scratch", "transfer: scratch, frozen, finetune or partial", _one_of(MODES), group="transfer",
                     families=TRANSFERABLE)
    trunk_lr_factor: float = knob(0.1, "transfer: learning rate of trainable pretrained blocks, as a multiple of "
                                       "learning_rate", _positive, group="transfer", families=TRANSFERABLE)
    unfreeze_blocks: int = knob(1, "transfer, partial: the top trunk blocks that train", _at_least_one,
                                group="transfer", families=TRANSFERABLE)
    #: Not knobs: set from a task's source of published weights (automl_bench._model.published). The
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


_KINDS = {"int": int, "float": float, "bool": bool, "str": str}


def _knobs(group: str, family: str) -> tuple[Knob, ...]:
    """The knobs of ``group`` a ``family`` has, in field order, read off `ModelConfig`."""
    out = []
    for f in fields(ModelConfig):
        if "knob" not in f.metadata:
            continue
        doc, check, knob_group, families, per_family = f.metadata["knob"]
        if knob_group == group and family in families:
            kind = _KINDS[str(f.type).split("|")[0].strip()]
            out.append(Knob(f.name, kind, per_family.get(f"default_{family}", f.default),
                            per_family.get(f"doc_{family}", doc), check))
    return tuple(out)


ARCHITECTURE_KNOBS: dict[str, tuple[Knob, ...]] = {f: _knobs("architecture", f) for f in FAMILIES}
TRAINING_KNOBS = _knobs("training", FAMILIES[0])
TRANSFER_KNOBS = _knobs("transfer", TRANSFERABLE[0])
KNOBS: dict[str, tuple[Knob, ...]] = {
    f: ARCHITECTURE_KNOBS[f] + TRAINING_KNOBS + _knobs("transfer", f) for f in FAMILIES}
_FLOAT_FIELDS = {f.name for f in fields(ModelConfig) if f.type in ("float", float)}


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


def config_dict(config: ModelConfig) -> dict[str, Any]:
    """A config as JSON-ready knobs of its family (saved beside a model's weights)."""
    names = {k.name for k in KNOBS[config.family]}
    values = {f.name: getattr(config, f.name) for f in fields(config) if f.name in names}
    return {"family": config.family, **{k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}


def config_from_dict(data: Mapping[str, Any]) -> ModelConfig:
    """The config `config_dict` wrote."""
    return build_config(data["family"], {k: v for k, v in data.items() if k != "family"})


def knob_reference() -> str:
    """docs/reference/models.md: every knob of every family, from the tables above."""
    lines = ["# Model knobs", "",
             "Generated from `automl_bench/_model/config.py` by `python -m devtools.reference`; a test keeps",
             "this page in step with the code. A suite's search space may set any knob of its task's",
             "family, as a fixed value or a range. Every int knob is at most "
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
