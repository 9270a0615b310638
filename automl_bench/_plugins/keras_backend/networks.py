"""The networks the Keras backends build from the shared model config (`build_model`), and a
published network as a trunk (`published_trunk`)."""

from __future__ import annotations

from automl_bench.backend import (
    BN_EPSILON,
    BN_MOMENTUM,
)


def size(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def published_trunk(keras, config, input_shape):
    """The input, a fixed layer that prepares images as the publisher did, and the published base
    (fresh weights: `adapt_published` loads them). Images are resized to the base's size;
    the preparing 1x1 convolution maps [0, 1] grey or RGB to the 0-255 BGR values, ImageNet mean
    subtracted, that Keras' "caffe" preprocessing gives, and never trains."""
    import numpy as np

    from automl_bench.backend import PUBLISHED

    L = keras.layers
    spec = PUBLISHED[config.published]
    h, w, channels = input_shape
    size = spec.input_size(h, w, config.input_size or None)
    inputs = keras.Input(shape=tuple(input_shape))
    x = L.Resizing(size, size, interpolation="bilinear", name="resize")(inputs) if (h, w) != (size, size) else inputs
    prepare = L.Conv2D(3, 1, name="prepare", trainable=False)
    x = prepare(x)
    kernel = np.zeros((1, 1, channels, 3), np.float32)
    for out in range(3):  # BGR out, from RGB in (or the one grey channel)
        kernel[0, 0, 2 - out if channels == 3 else 0, out] = 255.0
    prepare.set_weights([kernel, -np.asarray(spec.bgr_mean, np.float32)])
    base = getattr(keras.applications, spec.constructor)(include_top=False, weights=None, input_shape=(size, size, 3),
                                                         name="published")
    return inputs, base(x)


def build_model(keras, config, input_shape, n_classes: int, vocab_size: int | None = None):
    L = keras.layers
    init = "he_uniform" if config.initializer == "he" else "glorot_uniform"
    reg = keras.regularizers.L2(config.l2) if config.l2 > 0 else None

    def dense_block(x, units, block=None):
        # Trunk blocks are named block<b>_<layer>: transfer tasks find their weights by these names.
        name = (lambda layer: f"block{block}_{layer}") if block is not None else (lambda layer: None)
        x = L.Dense(units, kernel_initializer=init, kernel_regularizer=reg, name=name("dense"))(x)
        if config.batch_norm:
            x = L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name("bn"))(x)
        x = L.Activation(config.activation)(x)
        return L.Dropout(config.dropout)(x) if config.dropout > 0 else x

    if config.published:  # a published network's base is the trunk; the head is as below
        inputs, x = published_trunk(keras, config, input_shape)
        x = dense_block(L.Flatten()(x), config.dense_units)
        model = keras.Model(inputs, L.Dense(n_classes, kernel_initializer=init, kernel_regularizer=reg)(x))
        model.family = config.family
        return model
    inputs = keras.Input(shape=tuple(input_shape), dtype="int32" if config.embedding else None)
    x = inputs
    if config.embedding:
        x = L.Embedding(vocab_size, config.embedding,
                        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05))(x)
    if config.family == "mlp":
        for block, units in enumerate(config.hidden_units):
            x = dense_block(x, units, block)
    elif config.family == "cnn":
        pool = L.MaxPooling2D if config.pooling == "max" else L.AveragePooling2D
        for block, filters in enumerate(config.block_filters):
            x = L.Conv2D(filters, config.kernel_size, padding="same", kernel_initializer=init,
                         kernel_regularizer=reg, name=f"block{block}_conv")(x)
            if config.batch_norm:
                x = L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"block{block}_bn")(x)
            x = pool(2)(L.Activation(config.activation)(x))
        x = dense_block(L.Flatten()(x), config.dense_units)
    else:
        cell = L.LSTM if config.cell == "lstm" else L.GRU
        for i in range(config.rnn_layers):
            layer = cell(config.units, return_sequences=i < config.rnn_layers - 1, kernel_initializer=init,
                         kernel_regularizer=reg)
            x = (L.Bidirectional(layer) if config.bidirectional else layer)(x)
        if config.dropout > 0:
            x = L.Dropout(config.dropout)(x)
    outputs = L.Dense(n_classes, kernel_initializer=init, kernel_regularizer=reg)(x)
    model = keras.Model(inputs, outputs)
    model.family = config.family
    return model
