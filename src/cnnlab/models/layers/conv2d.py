"""`Conv2d`: a bank of learned k×k filters slid over the feature map, PyTorch's `nn.Conv2d`.

Written `Conv2d(16, 3, padding=1)` (input channels inferred) or `Conv2d(1, 16, 3, 1, 1)`
(PyTorch's order). (C, H, W) -> (out_channels, OH, OW), OH = (H + 2p - k) // s + 1.
"""

from __future__ import annotations

from cnnlab.models.layers.geometry import Window, fits, spatial
from cnnlab.models.layers.params import (
    Param,
    boolean,
    non_negative_int_or_pair,
    positive_int,
    positive_int_or_pair,
)
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.conv import Conv2d
from cnnlab.scratch.im2col import conv_output_size, pair

PARAMS = (
    Param("out_channels", positive_int),
    Param("kernel_size", positive_int_or_pair),
    Param("stride", positive_int_or_pair, 1),
    Param("padding", non_negative_int_or_pair, 0),
    Param("bias", boolean, True, keyword_only=True),  # PyTorch: after dilation and groups
)


def shape(in_shape: tuple[int, ...], kw: dict):
    c, h, w = spatial(in_shape)
    (kh, kwid), (sh, sw) = pair(kw["kernel_size"]), pair(kw.get("stride", 1))
    ph, pw = pair(kw.get("padding", 0))
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kwid, sw, pw)
    fits(oh, ow, f"kernel {kh}x{kwid}", h + 2 * ph, w + 2 * pw)
    out = kw["out_channels"]
    params = out * c * kh * kwid + (out if kw.get("bias", True) else 0)
    return {"in_channels": c}, (out, oh, ow), params


def field(kw: dict) -> Window:
    """(k, s, p) per axis; k is the dilated kernel's extent."""
    s, d = pair(kw.get("stride", 1)), pair(kw.get("dilation", 1))
    k = tuple(di * (ki - 1) + 1 for ki, di in zip(pair(kw["kernel_size"]), d, strict=True))
    return k, s, pair(kw.get("padding", 0))


def numpy_layer(kw: dict, rng) -> Conv2d:
    return Conv2d(**kw, rng=rng)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    from cnnlab.models.keras_builder import padded

    # Weights start at zero: `build` overwrites every one with the NumPy model's, and a
    # random initializer would only draw from Keras' unseeded global generator for nothing.
    conv = keras.layers.Conv2D(
        kw["out_channels"], kw["kernel_size"], strides=kw.get("stride", 1),
        use_bias=kw.get("bias", True), data_format="channels_first",
        kernel_initializer="zeros", bias_initializer="zeros", **common,
    )  # fmt: skip
    return padded(keras, kw, common["name"], conv, 0.0)


KIND = LayerKind(
    name="Conv2d",
    prefix="conv",
    params=PARAMS,
    shape=shape,
    numpy=numpy_layer,
    keras=keras_layers,
    input_size="in_channels",
    field=field,
    slug=lambda kw: f"c{kw['out_channels']}",
    example="Conv2d(4, 3, padding=1)",
)
