"""How long a folder of 60,000 small PNGs takes to load: the first time (decoded) and the second
time (from the cache). Prints one JSON object.

    python scripts/bench_folder_load.py [--fashion-dir DIR] [--images 60000] [--workdir DIR]

The folder is made in a temporary directory from Fashion-MNIST's training images (one PNG per
image, one subfolder per class) and removed afterwards; the cache goes to a temporary
$XDG_CACHE_HOME, so nothing outside it is touched. The default --fashion-dir is
../shared/data/fashion-mnist beside the checkout, else $CNNLAB_FASHION_MNIST_DATA.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image


def make_folder(fashion_dir: Path, root: Path, count: int) -> None:
    from cnnlab.data import load_mnist

    data = load_mnist(fashion_dir, download=False, progress=False, dataset="fashion-mnist")
    names = [name.replace("/", "-") for name in data.dataset.class_names]
    for name in names:
        (root / name).mkdir(parents=True)
    for i in range(count):
        label = int(data.train_labels[i])
        Image.fromarray(data.train_images[i]).save(root / names[label] / f"{i:05d}.png")


def timed_load(root: Path) -> tuple[float, int]:
    from cnnlab.data.folder import load_folder

    start = time.perf_counter()
    data = load_folder(root)
    return time.perf_counter() - start, len(data.train_labels) + len(data.test_labels)


def main() -> int:
    default_dir = os.environ.get("CNNLAB_FASHION_MNIST_DATA") or str(
        Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-dir", default=default_dir)
    parser.add_argument("--images", type=int, default=60000)
    parser.add_argument("--workdir", default=None, help="where to make the folder (default: tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root, cache = Path(tmp) / "fashion-pngs", Path(tmp) / "cache"
        os.environ["XDG_CACHE_HOME"] = str(cache)
        start = time.perf_counter()
        make_folder(Path(args.fashion_dir), root, args.images)
        made = time.perf_counter() - start
        first, count = timed_load(root)
        second, _ = timed_load(root)
    report = {
        "pictures": count,
        "first_load_seconds": round(first, 2),
        "second_load_seconds": round(second, 2),
        "folder_made_seconds": round(made, 1),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
