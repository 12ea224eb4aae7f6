"""The registry of layer kinds: the one place a kind an architecture may name is listed.

Each kind is one record (`LayerKind`, see `record.py`) in a file of its own, holding its
signature, shape rule, text form, receptive-field rule, NumPy layer and the way its PyTorch and
Keras twins are built. The parser, the spec, the shape inference, the three builders and the
receptive-field code all read `KINDS`; adding a kind is its file and one line in `RECORD_FILES`.
"""

from __future__ import annotations

from importlib import import_module

from cnnlab.models.layers.geometry import ShapeError
from cnnlab.models.layers.record import LayerKind

# The files of this package that hold a record, `KIND`, each.
RECORD_FILES = (
    "conv2d",
    "batchnorm2d",
    "batchnorm1d",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "maxpool2d",
    "avgpool2d",
    "adaptive_avgpool2d",
    "dropout",
    "flatten",
    "linear",
    "gelu",
    "dropout2d",
)

KINDS: dict[str, LayerKind] = {
    kind.name: kind for kind in (import_module(f"{__name__}.{file}").KIND for file in RECORD_FILES)
}
KNOWN_LAYERS: tuple[str, ...] = tuple(sorted(KINDS))

__all__ = ["KINDS", "KNOWN_LAYERS", "RECORD_FILES", "LayerKind", "ShapeError"]
