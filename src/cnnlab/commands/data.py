"""`cnnlab data info|verify|download`: where a named set is, whether it is intact, fetching it."""

from __future__ import annotations

import argparse

from cnnlab.commands.checks import whole_number
from cnnlab.commands.options import add_data_dir
from cnnlab.data.datasets import IDX_SETS

NAME = "data"
HELP = "show, verify or download MNIST, Fashion-MNIST or KMNIST"

_DATA_DIR_HELP = (
    "directory holding the set's four files (default: $CNNLAB_DATA for mnist, "
    "$CNNLAB_FASHION_MNIST_DATA, $CNNLAB_KMNIST_DATA, if set, else the user cache "
    "$XDG_CACHE_HOME/cnnlab/<set> or ~/.cache/cnnlab/<set>)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    actions = {
        "info": "print where MNIST is, its counts, class balance per split and checksums",
        "verify": "check magic numbers, sizes and SHA-256 of the four files (exit 0 or 2)",
        "download": "download any missing or corrupt file into the data directory",
    }
    for action, text in actions.items():
        p = sub.add_parser(action, help=text, description=text)  # the parent's formatter
        add_data_dir(p, help=_DATA_DIR_HELP)
        p.add_argument("--dataset", choices=IDX_SETS, default="mnist", help="which named set")
        if action == "info":
            p.add_argument(
                "--val-size", type=whole_number(1), default=5000, help="validation images"
            )
            p.add_argument(
                "--seed", type=whole_number(0), default=0, help="seed of the train/val split"
            )
        if action == "download":
            p.add_argument(
                "--mirror",
                action="append",
                default=argparse.SUPPRESS,
                metavar="URL",
                help="base URL to download from, instead of the public mirrors; may repeat "
                "(default: $CNNLAB_MNIST_MIRROR, $CNNLAB_FASHION_MNIST_MIRROR or "
                "$CNNLAB_KMNIST_MIRROR if set, else the public mirrors)",
            )


def run(args: argparse.Namespace) -> int:
    from cnnlab.data import resolve_data_dir

    dataset = IDX_SETS[args.dataset]
    data_dir = args.data_dir  # None: the set's variable, else the cache
    if args.data_command == "info":
        return _info(data_dir, args.val_size, args.seed, dataset)
    directory = resolve_data_dir(data_dir, dataset)
    if args.data_command == "verify":
        return _verify(directory, dataset)
    return _download(directory, getattr(args, "mirror", None), dataset)


def _print_reports(reports) -> None:
    for r in reports:
        if r.ok:
            print(f"  ok    {r.path.name:28s} {r.count:6d} items  sha256 {r.sha256}")
        else:
            print(f"  FAIL  {r.name:28s} {r.message}")


def _raise_first_failure(reports, directory, dataset) -> None:
    from cnnlab.errors import UserError

    failed = [r for r in reports if not r.ok]
    if not failed:
        return
    option = "" if dataset.name == "mnist" else f" --dataset {dataset.name}"
    download = f"`cnnlab data download{option} --data-dir {directory}`"
    if all(r.path is None for r in reports):
        raise UserError(
            f"no {dataset.title} files in {directory}; set {dataset.data_env} or pass "
            f"--data-dir to a directory holding the four {dataset.title} files, or connect to "
            f"the network and run {download}"
        )
    more = f" ({len(failed) - 1} more files failed, listed above)" if len(failed) > 1 else ""
    if any(r.path is not None and not r.corrupt for r in failed):
        raise UserError(f"{failed[0].message}{more}")  # a file system problem, not the data
    raise UserError(f"{failed[0].message}{more}; fetch a fresh copy with {download}")


def _verify(directory, dataset) -> int:
    from cnnlab.data import verify_mnist

    print(f"verifying {dataset.title} in {directory}")
    reports = verify_mnist(directory, dataset)
    _print_reports(reports)
    _raise_first_failure(reports, directory, dataset)
    print("all 4 files verified (IDX magic, size, SHA-256)")
    return 0


def _download(directory, mirrors, dataset) -> int:
    from cnnlab.data import download_mnist, verify_mnist

    bad = [r.name for r in verify_mnist(directory, dataset) if not r.ok]
    if bad:
        print(f"downloading {len(bad)} {dataset.title} file(s) into {directory}")
        download_mnist(directory, bad, mirrors=mirrors, dataset=dataset)
    else:
        print(f"all 4 files already in {directory} and verified; nothing to download")
    return _verify(directory, dataset) if bad else 0


def _info(data_dir, val_size: int, seed: int, dataset) -> int:
    import numpy as np

    from cnnlab.data import FILES, load_mnist, split_train_val
    from cnnlab.text import text_table
    from cnnlab.training.splits import check_split_sizes

    mnist = load_mnist(data_dir, download=False, progress=False, dataset=dataset)
    check_split_sizes(len(mnist.train_labels), val_size)
    print(f"{dataset.title} in {mnist.directory}")
    for name in FILES.values():
        print(f"  {name:24s} sha256 {mnist.digests[name]}  ok")
    train_idx, val_idx = split_train_val(mnist.train_labels, val_size=val_size, seed=seed)
    splits = {
        "train": mnist.train_labels[train_idx],
        "val": mnist.train_labels[val_idx],
        "test": mnist.test_labels,
    }
    print(f"splits (stratified, val_size={val_size}, seed={seed}); images per class 0..9:")
    print("  classes: " + ", ".join(f"{i} {name}" for i, name in enumerate(dataset.class_names)))
    rows = [
        [split, len(labels), *np.bincount(labels, minlength=10)] for split, labels in splits.items()
    ]
    table = text_table(["split", "images", *map(str, range(10))], rows, "lr" + "r" * 10)
    print("\n".join(f"  {line}" for line in table.splitlines()))
    print(f"  image shape {mnist.train_images.shape[1:]} uint8")
    return 0
