"""Build a NumPy (`cnnlab.scratch`) network from an `ArchSpec`: each layer by its kind's record
(`LayerKind.numpy`, `cnnlab.models.layers`), run in the order written."""

from __future__ import annotations

import numpy as np

from cnnlab.models.layers import KINDS
from cnnlab.models.shapes import infer_shapes
from cnnlab.models.spec import ArchSpec
from cnnlab.scratch import Module, Sequential
from cnnlab.scratch.speed import fast_order


class ScratchModel(Sequential):
    """A `Sequential` built from a spec, which also keeps the last conv feature map for CAM.

    After `forward`, `feature_map` is the output of the layer `spec.feature_layer`, (N, C, H, W);
    after `backward`, `feature_grad` is dL/d(feature_map), same shape. Both are references to
    arrays the layers make anyway (no copy), and stay None for a spec without a feature layer.

    The layers run in `order`: as written, until `speed_up()` puts the engine's exact rewrites
    in its place (`cnnlab.scratch.speed.fast_order`). `named_children()` keeps the written
    layers and their order either way.
    """

    def __init__(self, spec: ArchSpec, layers: list[tuple[str, Module]]) -> None:
        super().__init__(layers)
        self.spec = spec
        self.order: list[tuple[str, Module]] = list(self.named_children())
        self.feature_map: np.ndarray | None = None
        self.feature_grad: np.ndarray | None = None

    def speed_up(self) -> ScratchModel:
        """Run the layers in the engine's fast order (pool before ReLU, conv + pool fused,
        ReLU in place), keeping the CAM feature layer's output as written. Returns self."""
        self.order = fast_order(list(self.named_children()), {self.spec.feature_layer})
        return self

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


def build(spec: ArchSpec, seed: int = 0) -> ScratchModel:
    """The network of `spec` in float32, initialised from `np.random.default_rng(seed)` (each
    layer that draws, in the order written), its layers run as written.

    The layers up to and including the first one with parameters (conv1; flatten and fc1 for
    an MLP) compute no input gradient: nobody needs dL/dimage, in training or for a CAM.
    """
    rng = np.random.default_rng(seed)
    layers = [
        (layer.spec.name, KINDS[layer.spec.kind].numpy(layer.kwargs, rng))
        for layer in infer_shapes(spec)
    ]
    model = ScratchModel(spec, layers)
    for layer in model:
        layer.needs_input_grad = False
        if any(True for _ in layer.parameters()):
            break
    return model
