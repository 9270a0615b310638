"""How fast your own files load (on demand, not a test): a folder of Fashion-MNIST PNGs.

    .venv/bin/python benchmarks/own_data.py                   # 60,000 PNGs (Fashion-MNIST's training set)
    .venv/bin/python benchmarks/own_data.py --images 2000     # fewer
    .venv/bin/python benchmarks/own_data.py --smoke           # 200 images, seconds (tests run this)

Writes the images, one subfolder per class, then times each step in a fresh process (so that no
process cache helps), as `bench` takes them, and prints each against a baseline measured in the
same run: `np.load` of the same images saved as one uncompressed .npz (what the arrays kind reads).

- validate: the suite's metadata scan (file list and every image's header), what `bench validate`
  does;
- digest, first and cached: the content hash over every file, then again with the per-file cache
  (size and modification time) warm;
- first load: decoding every PNG and writing the array cache (the first run on a folder);
- cached load: what every later run does (the cache memory-mapped), to the features' last byte.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP = r"""
import json, sys, time
from pathlib import Path
import numpy as np
from automl_bench import _files
step, folder = sys.argv[1], Path(sys.argv[2])
t0 = time.perf_counter()
if step == "npz":
    with np.load(folder.parent / "images.npz") as held:
        x, y = held["x"], held["y"]
    x = x.astype(np.float32) / np.float32(255)
    float(x.sum())
else:
    name = _files.resolve({"path": str(folder)}, folder.parent).name
    _files.scan(name)
    if step != "validate":
        _files.digest(name)
    if step == "load":
        float(np.asarray(_files.load(name).x).sum())  # every byte read, from the cache or the files
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def write_folder(root: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    from automl_bench._manager import get_plugin_manager

    data = get_plugin_manager().dataset("fashion-mnist").load()
    x = np.rint(data.x[:count] * 255).astype(np.uint8)
    y = data.y[:count]
    for label in range(10):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(x, y)):
        Image.fromarray(image, mode="L").save(root / str(label) / f"{i:05d}.png")
    np.savez(root.parent / "images.npz", x=x, y=y)


def step(name: str, folder: Path, cache: Path) -> float:
    done = subprocess.run([sys.executable, "-c", STEP, name, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "AUTOML_BENCH_DATA": str(cache)})
    if done.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60_000)
    parser.add_argument("--smoke", action="store_true", help="200 images: a check that it runs")
    args = parser.parse_args()
    count = 200 if args.smoke else args.images
    with tempfile.TemporaryDirectory() as tmp:
        folder, cache = Path(tmp) / "fashion" / "images", Path(tmp) / "cache"
        start = time.perf_counter()
        write_folder(folder, count)
        print(f"{count:,} PNGs of 28x28 written in {time.perf_counter() - start:.1f} s "
              f"({sum(f.stat().st_size for f in folder.rglob('*.png')) / 2**20:.1f} MiB)")
        baseline = step("npz", folder, cache)
        print(f"baseline: np.load of the same images as one .npz, scaled to float32: {baseline:.3f} s")
        rows = [("validate (file list and image headers)", step("validate", folder, cache)),
                ("digest, first (every file read)", step("digest", folder, cache)),
                ("digest, cached (size and time)", step("digest", folder, cache)),
                ("first load (decode, write the cache)", step("load", folder, cache)),
                ("cached load (memory-mapped)", step("load", folder, cache))]
        for what, seconds in rows:
            print(f"{what:42s} {seconds:8.3f} s   x{seconds / baseline:6.1f} the .npz")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
