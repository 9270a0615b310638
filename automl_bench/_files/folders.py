"""Folders with one subfolder per class, as Keras' ``image_dataset_from_directory`` and
``text_dataset_from_directory`` read them: ``photos/cat/*.jpg``, ``photos/dog/*.png``; or, when
the folder holds ``train/`` (and ``val/``, ``test/``) subfolders, those splits, each with its class
subfolders. Classes are the subfolders' names in sorted order. Files are found recursively under
each class folder, in sorted order; names starting with a dot are ignored.

Images: every file must be an image Pillow reads (``skip_bad_files = true`` skips and counts the
others). They are converted to grayscale or RGB and resized (bilinear) to ``image_size``.
Validation opens each file's header only; decoding happens when the run loads the data.

Text: the ``.txt`` files (other files are ignored, as Keras does), decoded with ``encoding``;
made word ids for an rnn with an embedding (lower case, words of letters, digits and
apostrophes; the ``vocab_size - 2`` most frequent words over all texts get ids 2.., 1 is any other
word, 0 is padding; the first ``sequence_length`` words, padded at the front), or kept as text for
a sentence encoder (a task whose source is ``sbert:...``).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench.errors import DataError

from .options import Scan

if TYPE_CHECKING:
    from .options import Options

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _visible_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def layout(root: Path) -> tuple[dict[str, Path], tuple[str, ...]]:
    """{split ("" when the folder fixes none): its folder} and the classes, in order."""
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (a folder of class subfolders is expected)")
    subfolders = _visible_dirs(root)
    names = [p.name for p in subfolders]
    if names and set(names) <= set(SPLITS) and "train" in names:
        splits = {p.name: p for p in subfolders}
        per_split = {s: [c.name for c in _visible_dirs(p)] for s, p in splits.items()}
        for split, classes in per_split.items():
            if not classes:
                raise DataError(f"{root / split}: no class subfolders (one subfolder per class is expected)")
        classes = tuple(sorted({c for cs in per_split.values() for c in cs}))
        extra = {c for s, cs in per_split.items() if s != "train" for c in cs} - set(per_split["train"])
        if extra:
            raise DataError(f"{root}: class {sorted(extra)[0]!r} has a {next(s for s, cs in per_split.items() if sorted(extra)[0] in cs)}/ "
                            "subfolder but no train/ one: nothing of it could be learned")
    else:
        splits = {"": root}
        classes = tuple(names)
    if not classes:
        raise DataError(f"{root}: no class subfolders (one subfolder per class, e.g. {root}/cat/, {root}/dog/)")
    if len(classes) < 2:
        raise DataError(f"{root}: one class subfolder only ({classes[0]!r}); a classification dataset needs two or more")
    return splits, classes


def _files(root: Path, splits: dict[str, Path], classes: tuple[str, ...],
           suffix: str | None = None) -> list[tuple[str, int, int]]:
    """(file relative to root, with ``/``; class index; split code) for every visible file (ending
    in ``suffix`` if given), in sorted order within each class folder."""
    found = []
    for split, folder in splits.items():
        code = SPLITS.index(split) if split else -1
        for label, name in enumerate(classes):
            directory = folder / name
            if not directory.is_dir():
                continue
            prefix = os.path.relpath(directory, root).replace(os.sep, "/")
            names = []
            for here, dirs, files in os.walk(directory):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                inner = os.path.relpath(here, directory).replace(os.sep, "/")
                names += [f if inner == "." else f"{inner}/{f}" for f in files
                          if not f.startswith(".") and (suffix is None or f.lower().endswith(suffix))]
            found += [(f"{prefix}/{f}", label, code) for f in sorted(names)]
    return found


def folder_kind(path: Path) -> str | None:
    """"images" or "text" when the files under the class folders say so, else None; a folder
    that is not laid out as one subfolder per class is a `DataError`."""
    splits, classes = layout(path)
    suffixes = {os.path.splitext(f)[1].lower() for f, _, _ in _files(path, splits, classes)[:1000]}
    if suffixes and suffixes <= set(IMAGE_SUFFIXES):
        return "images"
    if ".txt" in suffixes and not suffixes & set(IMAGE_SUFFIXES):
        return "text"
    return None


def _check_counts(root: Path, files: list[tuple[str, int, int]], classes: tuple[str, ...],
                  splits: dict[str, Path], skipped: Counter | None = None) -> tuple[int, ...]:
    """Files per class; an error for a class with none left. ``skipped``: unreadable files per
    class, which ``skip_bad_files`` left out."""
    counts = [0] * len(classes)
    for _, label, _ in files:
        counts[label] += 1
    empty = [i for i, c in enumerate(counts) if c == 0]
    if empty:
        bad = (skipped or Counter())[empty[0]]
        held = f"holds {bad} file(s), none readable (all skipped by skip_bad_files)" if bad else "holds no file"
        raise DataError(f"{root}: class subfolder {classes[empty[0]]!r} {held}")
    if "" not in splits:
        train = {label for _, label, code in files if code == 0}
        missing = [classes[i] for i in range(len(classes)) if i not in train]
        if missing:
            raise DataError(f"{root / 'train' / missing[0]}: no training file of class {missing[0]!r}")
    return tuple(counts)


def scan(options: "Options") -> Scan:
    root = Path(options.path)
    splits, classes = layout(root)
    if options.kind == "images":
        return _scan_images(options, root, splits, classes)
    return _scan_text(options, root, splits, classes)


def _scan_images(options: "Options", root: Path, splits: dict[str, Path], classes: tuple[str, ...]) -> Scan:
    from .digests import FileFacts

    facts = FileFacts(root)  # headers read before, kept by size and modification time
    kept, skipped, sizes, modes, bad = [], [], Counter(), set(), Counter()
    for rel, label, code in _files(root, splits, classes):
        path = f"{root}/{rel}"
        entry = facts.entry(rel, path)
        if "image" not in entry and "bad" not in entry:
            header = _header(path)
            entry["image" if isinstance(header, list) else "bad"] = header
        if "bad" in entry:
            if not options.skip_bad_files:
                facts.save()
                raise DataError(f"{path}: cannot be read as an image ({entry['bad']}); remove it, or set "
                                "skip_bad_files = true to skip and count such files")
            skipped.append((rel, entry["bad"]))
            bad[label] += 1
            continue
        height, width, mode = entry["image"]
        sizes[(height, width)] += 1
        modes.add(mode)
        kept.append((rel, label, code))
    facts.save()
    counts = _check_counts(root, kept, classes, splits, bad)
    if options.image_size is not None:
        size = tuple(options.image_size)
    elif len(sizes) == 1:
        size = next(iter(sizes))
    else:
        (a, _), (b, _) = sizes.most_common(2)
        raise DataError(f"{root}: images of different sizes ({a[0]}x{a[1]}, {b[0]}x{b[1]}, ...): give image_size = "
                        "[HEIGHT, WIDTH] to resize them all")
    gray = options.color_mode == "grayscale" or (options.color_mode is None and modes <= set(GRAY_MODES))
    return Scan(files=tuple(rel for rel, _, _ in kept), classes=classes, class_counts=counts,
                input_shape=size if gray else (*size, 3), sample_kind="image", skipped=tuple(skipped),
                fixed_splits="" not in splits, labels=tuple(label for _, label, _ in kept),
                splits=tuple(code for _, _, code in kept),
                resolved=(("image_size", size), ("color_mode", "grayscale" if gray else "rgb")))


def _header(path: str) -> list | str:
    """[height, width, mode] from an image file's header, or why it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    if os.path.splitext(path)[1].lower() not in IMAGE_SUFFIXES:
        return f"not an image file name (images end in {', '.join(IMAGE_SUFFIXES)})"
    try:
        with Image.open(path) as image:  # reads the header only
            return [image.height, image.width, image.mode]
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _decode(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not {encoding} text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                        "set encoding = \"...\" to the files' encoding, or skip_bad_files = true") from None
    except LookupError:
        raise DataError(f"encoding {encoding!r} is not one Python knows (e.g. utf-8, latin-1, cp1252)") from None


def _scan_text(options: "Options", root: Path, splits: dict[str, Path], classes: tuple[str, ...]) -> Scan:
    kept, skipped, bad = [], [], Counter()
    for rel, label, code in _files(root, splits, classes, suffix=".txt"):
        try:
            _decode(root / rel, options.encoding)
        except DataError as exc:
            if not options.skip_bad_files:
                raise
            skipped.append((rel, str(exc)))
            bad[label] += 1
            continue
        kept.append((rel, label, code))
    counts = _check_counts(root, kept, classes, splits, bad)
    shape, kind = ((), "text") if options.as_text else ((options.sequence_length,), "tokens")
    return Scan(files=tuple(rel for rel, _, _ in kept), classes=classes, class_counts=counts, input_shape=shape,
                sample_kind=kind, skipped=tuple(skipped), fixed_splits="" not in splits,
                labels=tuple(label for _, label, _ in kept), splits=tuple(code for _, _, code in kept))


def _labels(found: Scan) -> tuple[Any, Any]:
    """Each kept file's label, and split code where the folder fixes splits."""
    import numpy as np

    return (np.array(found.labels, dtype=np.int64),
            np.array(found.splits, dtype=np.int8) if found.fixed_splits else None)


def load(options: "Options", found: Scan) -> tuple[Any, Any, Any, int | None, str]:
    if options.kind == "images":
        return _load_images(options, found)
    return _load_text(options, found)


def _load_images(options: "Options", found: Scan) -> tuple[Any, Any, Any, None, str]:
    import numpy as np
    from PIL import Image

    root = Path(options.path)
    y, split = _labels(found)
    height, width = found.input_shape[:2]
    gray = len(found.input_shape) == 2
    x = np.empty((len(found.files), *found.input_shape), dtype=np.uint8)
    ok = np.ones(len(found.files), dtype=bool)
    resized = 0
    for i, rel in enumerate(found.files):
        try:
            with Image.open(root / rel) as image:
                image = image.convert("L" if gray else "RGB")
                if image.size != (width, height):
                    image = image.resize((width, height), Image.Resampling.BILINEAR)
                    resized += 1
                x[i] = np.asarray(image)
        except (OSError, ValueError) as exc:
            if not options.skip_bad_files:
                raise DataError(f"{root / rel}: cannot be decoded as an image ({type(exc).__name__}: {exc}); remove "
                                "it, or set skip_bad_files = true") from None
            ok[i] = False
    note = f"{'grayscale' if gray else 'RGB'} {height}x{width}, pixel values divided by 255" + \
        (f", {resized} image(s) resized (bilinear)" if resized else "") + \
        (f", {int((~ok).sum())} undecodable image(s) skipped" if not ok.all() else "")
    x, y = x[ok], y[ok]
    return x.astype(np.float32) / np.float32(255), y, (split[ok] if split is not None else None), None, note


def _load_text(options: "Options", found: Scan) -> tuple[Any, Any, Any, int | None, str]:
    import numpy as np

    from automl_bench._files.data import word_ids

    root = Path(options.path)
    y, split = _labels(found)
    texts = [_decode(root / rel, options.encoding) for rel in found.files]
    if options.as_text:
        return np.array([" ".join(t.split()) for t in texts]), y, split, None, "texts kept whole (whitespace runs made " \
                                                                                 "one space)"
    x, kept, found_words = word_ids(texts, options.vocab_size, options.sequence_length)
    return x, y, split, options.vocab_size, (f"lower-case words as ids, the {kept} most frequent of {found_words} "
                                             f"kept (vocab_size {options.vocab_size}), the first "
                                             f"{options.sequence_length} words of each text")
