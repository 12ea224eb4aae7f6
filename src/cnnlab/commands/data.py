"""`cnnlab data info|verify|download`: where MNIST is, whether it is intact, fetching it."""

from __future__ import annotations

import argparse

from cnnlab.commands.options import add_data_dir, whole_number

NAME = "data"
HELP = "show, verify or download the MNIST data set"

_DATA_DIR_HELP = (
    "directory holding the four MNIST files (default: $CNNLAB_DATA if set, else the user cache "
    "$XDG_CACHE_HOME/cnnlab/mnist or ~/.cache/cnnlab/mnist)"
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
                "(default: $CNNLAB_MNIST_MIRROR if set, else the public mirrors)",
            )


def run(args: argparse.Namespace) -> int:
    from cnnlab.data import resolve_data_dir

    data_dir = args.data_dir  # None: $CNNLAB_DATA, else the cache
    if args.data_command == "info":
        return _info(data_dir, args.val_size, args.seed)
    directory = resolve_data_dir(data_dir)
    if args.data_command == "verify":
        return _verify(directory)
    return _download(directory, getattr(args, "mirror", None))


def _print_reports(reports) -> None:
    for r in reports:
        if r.ok:
            print(f"  ok    {r.path.name:28s} {r.count:6d} items  sha256 {r.sha256}")
        else:
            print(f"  FAIL  {r.name:28s} {r.message}")


def _raise_first_failure(reports, directory) -> None:
    from cnnlab.errors import UserError

    failed = [r for r in reports if not r.ok]
    if not failed:
        return
    download = f"`cnnlab data download --data-dir {directory}`"
    if all(r.path is None for r in reports):
        raise UserError(
            f"no MNIST files in {directory}; set CNNLAB_DATA or pass --data-dir to a directory "
            f"holding the four MNIST files, or connect to the network and run {download}"
        )
    more = f" ({len(failed) - 1} more files failed, listed above)" if len(failed) > 1 else ""
    if any(r.path is not None and not r.corrupt for r in failed):
        raise UserError(f"{failed[0].message}{more}")  # a file system problem, not the data
    raise UserError(f"{failed[0].message}{more}; fetch a fresh copy with {download}")


def _verify(directory) -> int:
    from cnnlab.data import verify_mnist

    print(f"verifying MNIST in {directory}")
    reports = verify_mnist(directory)
    _print_reports(reports)
    _raise_first_failure(reports, directory)
    print("all 4 files verified (IDX magic, size, SHA-256)")
    return 0


def _download(directory, mirrors) -> int:
    from cnnlab.data import download_mnist, verify_mnist

    bad = [r.name for r in verify_mnist(directory) if not r.ok]
    if bad:
        print(f"downloading {len(bad)} file(s) into {directory}")
        download_mnist(directory, bad, mirrors=mirrors)
    else:
        print(f"all 4 files already in {directory} and verified; nothing to download")
    return _verify(directory) if bad else 0


def _info(data_dir, val_size: int, seed: int) -> int:
    import numpy as np

    from cnnlab.data import FILES, load_mnist, split_train_val
    from cnnlab.text import text_table
    from cnnlab.training.splits import check_split_sizes

    mnist = load_mnist(data_dir, download=False, progress=False)
    check_split_sizes(len(mnist.train_labels), val_size)
    print(f"MNIST in {mnist.directory}")
    for name in FILES.values():
        print(f"  {name:24s} sha256 {mnist.digests[name]}  ok")
    train_idx, val_idx = split_train_val(mnist.train_labels, val_size=val_size, seed=seed)
    splits = {
        "train": mnist.train_labels[train_idx],
        "val": mnist.train_labels[val_idx],
        "test": mnist.test_labels,
    }
    print(f"splits (stratified, val_size={val_size}, seed={seed}); images per class 0..9:")
    rows = [
        [split, len(labels), *np.bincount(labels, minlength=10)] for split, labels in splits.items()
    ]
    table = text_table(["split", "images", *map(str, range(10))], rows, "lr" + "r" * 10)
    print("\n".join(f"  {line}" for line in table.splitlines()))
    print(f"  image shape {mnist.train_images.shape[1:]} uint8")
    return 0
