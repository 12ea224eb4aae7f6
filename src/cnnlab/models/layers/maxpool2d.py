"""`MaxPool2d`: the largest value of each window, PyTorch's `nn.MaxPool2d`.

(C, H, W) -> (C, OH, OW); the stride defaults to the window (windows tile the input), the
padding (at most half the window) is -inf, as in PyTorch.
"""

from __future__ import annotations

from cnnlab.models.layers.geometry import ShapeError, fits, pool_window, spatial
from cnnlab.models.layers.params import Param, non_negative_int_or_pair, positive_int_or_pair
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.im2col import conv_output_size
from cnnlab.scratch.pool import MaxPool2d

PARAMS = (
    Param("kernel_size", positive_int_or_pair),
    Param("stride", positive_int_or_pair, None),  # None: PyTorch uses the kernel size
    Param("padding", non_negative_int_or_pair, 0),
)


def pool_shape(in_shape: tuple[int, ...], kw: dict):
    """The shape rule of every windowed pooling layer (max and average)."""
    c, h, w = spatial(in_shape)
    k, s, p = pool_window(kw)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:  # PyTorch's rule too: no window of padding only
        raise ShapeError(f"its padding {p[0]}x{p[1]} is more than half its {k[0]}x{k[1]} window")
    oh, ow = conv_output_size(h, k[0], s[0], p[0]), conv_output_size(w, k[1], s[1], p[1])
    fits(oh, ow, f"window {k[0]}x{k[1]}", h + 2 * p[0], w + 2 * p[1])
    return {}, (c, oh, ow), 0


def numpy_layer(kw: dict, rng) -> MaxPool2d:
    return MaxPool2d(**kw)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    from cnnlab.models.keras_builder import padded

    # "valid" windows: the floor of the size, like nn.MaxPool2d; its padding is -inf
    stride = kw.get("stride") or kw["kernel_size"]
    pool = keras.layers.MaxPooling2D(
        kw["kernel_size"], stride, data_format="channels_first", **common
    )
    return padded(keras, kw, common["name"], pool, -float("inf"))


KIND = LayerKind(
    name="MaxPool2d",
    prefix="pool",
    params=PARAMS,
    shape=pool_shape,
    numpy=numpy_layer,
    keras=keras_layers,
    field=pool_window,
    slug=lambda kw: "p",
    example="MaxPool2d(2)",
)
