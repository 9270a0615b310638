"""Starting a transfer trial from weights: a source model's layers copied in by name, or a published
network's file, with the trunk frozen or unfrozen as the config says."""

from __future__ import annotations


def saved_name(layer, index: int) -> str:
    """``block<b>/<layer name>:<index>``: trunk layers are named ``block<b>_<kind>``."""
    return f"{layer.name.split('_')[0]}/{layer.name}:{index}"


def adapt(model, config, pretrained) -> set[str]:
    """Load the pretrained trunk and freeze the blocks this mode keeps fixed (their batch norm
    then runs in inference mode); return the names of pretrained layers that train."""
    import numpy as np

    trainable = config.trainable_blocks()
    training: set[str] = set()
    with np.load(pretrained) as saved:
        for layer in model.layers:
            if not layer.name.startswith("block"):
                continue
            own = layer.get_weights()
            weights = [saved.get(saved_name(layer, i)) for i in range(len(own))]
            if any(w is None or w.shape != o.shape for w, o in zip(weights, own)):
                raise ValueError(f"the pretrained weights in {pretrained} do not fit layer {layer.name!r}")
            layer.set_weights(weights)
            if int(layer.name[5:].split("_")[0]) in trainable:
                training.add(layer.name)
            else:
                layer.trainable = False
    return training


def adapt_published(model, config, path) -> set[str]:
    """Load published weights into the model's base and freeze the blocks this mode keeps
    fixed; return the names of the base's layers that train."""
    base = model.get_layer("published")
    base.load_weights(str(path))
    trainable = config.trainable_blocks()
    training: set[str] = set()
    for layer in base.layers:
        if not layer.name.startswith("block") or not layer.weights:
            continue
        if int(layer.name[5:].split("_")[0]) - 1 in trainable:  # Keras numbers blocks from 1
            training.add(layer.name)
        else:
            layer.trainable = False
    return training
