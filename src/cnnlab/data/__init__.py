"""The data layer: find, download, verify and load the four IDX files of MNIST, Fashion-MNIST
or KMNIST (`datasets.py` names them); split; batch.

from cnnlab.data import load_mnist, split_train_val, iterate_batches
mnist = load_mnist()                      # --data-dir / $CNNLAB_DATA / the user cache
train_idx, val_idx = split_train_val(mnist.train_labels, val_size=5000, seed=0)
for x, y in iterate_batches(images, labels, 64, seed=0, epoch=0): ...
"""

from cnnlab.data.batches import epoch_order, iterate_batches, num_batches
from cnnlab.data.datasets import IDX_SETS, IdxSet, idx_set
from cnnlab.data.download import MIRRORS, download_mnist
from cnnlab.data.idx import FILES, SHA256
from cnnlab.data.mnist import (
    MEAN,
    STD,
    FileReport,
    Mnist,
    cache_dir,
    load_mnist,
    normalize,
    resolve_data_dir,
    split_train_val,
    verify_mnist,
)

__all__ = [
    "FILES",
    "IDX_SETS",
    "MEAN",
    "MIRRORS",
    "SHA256",
    "STD",
    "FileReport",
    "IdxSet",
    "Mnist",
    "cache_dir",
    "download_mnist",
    "epoch_order",
    "idx_set",
    "iterate_batches",
    "load_mnist",
    "normalize",
    "num_batches",
    "resolve_data_dir",
    "split_train_val",
    "verify_mnist",
]
