"""What a dataset plugin needs besides the root: building a `Dataset` from arrays (and texts
from word ids), and fetching its files once into the data directory, checked against a sha256."""

from automl_bench._files.data import make_dataset, pad, word_ids
from automl_bench._files.downloads import RemoteFile, data_root, fetch

__all__ = ["RemoteFile", "data_root", "fetch", "make_dataset", "pad", "word_ids"]
