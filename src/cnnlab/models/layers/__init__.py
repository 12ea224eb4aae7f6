"""The registry of layer kinds: the one place a kind an architecture may name is listed.

Each kind is one record (`LayerKind`, see `record.py`) in a file of its own, holding its
signature, shape rule, text form, receptive-field rule, NumPy layer and the way its PyTorch and
Keras twins are built. The parser, the spec, the shape inference, the three builders and the
receptive-field code all read `KINDS`; adding a kind is its file and one line below.
"""

from __future__ import annotations

from cnnlab.models.layers import (
    adaptive_avgpool2d,
    avgpool2d,
    batchnorm1d,
    batchnorm2d,
    conv2d,
    dropout,
    flatten,
    leaky_relu,
    linear,
    maxpool2d,
    relu,
    sigmoid,
    tanh,
)
from cnnlab.models.layers.geometry import ShapeError
from cnnlab.models.layers.record import LayerKind

KINDS: dict[str, LayerKind] = {
    record.name: record
    for record in (
        conv2d.KIND,
        batchnorm2d.KIND,
        batchnorm1d.KIND,
        relu.KIND,
        leaky_relu.KIND,
        tanh.KIND,
        sigmoid.KIND,
        maxpool2d.KIND,
        avgpool2d.KIND,
        adaptive_avgpool2d.KIND,
        dropout.KIND,
        flatten.KIND,
        linear.KIND,
    )
}
KNOWN_LAYERS: tuple[str, ...] = tuple(sorted(KINDS))

__all__ = ["KINDS", "KNOWN_LAYERS", "LayerKind", "ShapeError"]
