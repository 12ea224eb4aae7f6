"""Build a NumPy (`cnnlab.scratch`) network from an `ArchSpec`."""

from __future__ import annotations

import numpy as np

from cnnlab.models.shapes import ShapedLayer, infer_shapes
from cnnlab.models.spec import ArchSpec
from cnnlab.scratch import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from cnnlab.scratch.fused import fuse_conv_pool
from cnnlab.scratch.reorder import pool_before_relu

LAYER_CLASSES: dict[str, type[Module]] = {
    cls.__name__: cls
    for cls in (
        Conv2d,
        BatchNorm2d,
        BatchNorm1d,
        ReLU,
        LeakyReLU,
        Tanh,
        Sigmoid,
        MaxPool2d,
        AvgPool2d,
        AdaptiveAvgPool2d,
        GlobalAvgPool2d,
        Dropout,
        Flatten,
        Linear,
    )
}
RANDOM_KINDS = {"Conv2d", "Linear", "Dropout"}  # layers that draw from the generator


class ScratchModel(Sequential):
    """A `Sequential` built from a spec, which also keeps the last conv feature map for CAM.

    After `forward`, `feature_map` is the output of the layer `spec.feature_layer`, (N, C, H, W);
    after `backward`, `feature_grad` is dL/d(feature_map), same shape. Both are references to
    arrays the layers make anyway (no copy), and stay None for a spec without a feature layer.

    The layers run in `order`: the order of `pool_before_relu` (an exact rewrite, see there),
    with each conv and the max-pool after it as one `ConvPool` step (`cnnlab.scratch.fused`).
    `named_children()` keeps the written layers and their order.
    """

    def __init__(self, spec: ArchSpec, layers: list[tuple[str, Module]]) -> None:
        super().__init__(layers)
        self.spec = spec
        keep = {spec.feature_layer}
        self.order = fuse_conv_pool(pool_before_relu(list(self.named_children()), keep), keep)
        self.feature_map: np.ndarray | None = None
        self.feature_grad: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        for name, layer in self.order:
            x = layer(x)
            if name == self.spec.feature_layer:
                self.feature_map = x
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        for name, layer in reversed(self.order):
            if name == self.spec.feature_layer:
                self.feature_grad = dy
            dy = layer.backward(dy)
            if dy is None:
                return None
        return dy


def _make_layer(layer: ShapedLayer, rng: np.random.Generator, after: str | None) -> Module:
    kind = layer.spec.kind
    cls = LAYER_CLASSES[kind]
    if kind in RANDOM_KINDS:
        return cls(**layer.kwargs, rng=rng)
    if kind == "ReLU" and after in ("Conv2d", "Linear"):
        # Their output is a new array that nothing else keeps: rectify it in place.
        return cls(**layer.kwargs, inplace=True)
    return cls(**layer.kwargs)


def build(spec: ArchSpec, seed: int = 0) -> ScratchModel:
    """The network of `spec` in float32, initialised from `np.random.default_rng(seed)`.

    The layers up to and including the first one with parameters (conv1; flatten and fc1 for
    an MLP) compute no input gradient: nobody needs dL/dimage, in training or for a CAM.
    """
    rng = np.random.default_rng(seed)
    kinds_before = [None, *(layer.kind for layer in spec.layers[:-1])]
    model = ScratchModel(
        spec,
        [
            (layer.spec.name, _make_layer(layer, rng, after))
            for layer, after in zip(infer_shapes(spec), kinds_before, strict=True)
        ],
    )
    for layer in model:
        layer.needs_input_grad = False
        if any(True for _ in layer.parameters()):
            break
    return model
