"""The NumPy engine's speed rewrites of a network, in one named step: `fast_order`.

A network built from a spec runs its layers as written (`model.order` is the written list),
which is what the README teaches and what PyTorch would do. The engine then calls
`model.speed_up()`, which replaces that order with `fast_order(...)`:

1. pool before ReLU (`reorder.pool_before_relu`): the ReLU runs on the 4x smaller pooled map;
2. conv + pool as one step (`fused.fuse_conv_pool`): the pool reads the conv's product by
   window offset, in contiguous blocks;
3. ReLU in place (`rectify_in_place`): a ReLU right after a Conv2d or Linear overwrites that
   output, which nothing else keeps, instead of allocating another array.

Each is exact, and each is tested against the plain network (`tests/test_scratch_reorder.py`,
`tests/test_scratch_fused.py`, `tests/test_scratch_speed.py`). The fourth speed-up, the batch
split over the cores (`cnnlab.training.parallel.DataParallel`), wraps the model in the engine.
The layers keep their names, parameters and written order in `named_children()`.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from cnnlab.scratch.activation import ReLU
from cnnlab.scratch.conv import Conv2d
from cnnlab.scratch.fused import fuse_conv_pool
from cnnlab.scratch.linear import Linear
from cnnlab.scratch.module import Module
from cnnlab.scratch.reorder import pool_before_relu

Order = list[tuple[str, Module]]


def fast_order(layers: Sequence[tuple[str, Module]], keep: Container[str] = ()) -> Order:
    """The layers in the order the engine runs them, with the three rewrites of the module doc;
    pairs with a layer named in `keep` (whose output someone reads) are left as written."""
    order = fuse_conv_pool(pool_before_relu(layers, keep), keep)
    rectify_in_place(order)
    return order


def rectify_in_place(order: Sequence[tuple[str, Module]]) -> None:
    """The one place that sets `ReLU.inplace`: True for a ReLU whose input, in `order`, is a
    Conv2d's or Linear's fresh output, False for every other ReLU (after a pool, its input is
    the pool's kept output; first in line, it is the caller's array)."""
    previous: Module | None = None
    for _, layer in order:
        if type(layer) is ReLU:
            layer.inplace = type(previous) in (Conv2d, Linear)
        previous = layer
