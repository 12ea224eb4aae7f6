"""`Dropout2d(p)`: in training, each whole channel of each image zeroed with probability p and
the others scaled by 1/(1-p); the identity in eval mode. PyTorch's `nn.Dropout2d`.
(C, H, W) -> (C, H, W).

Neighbouring pixels of a feature map are strongly correlated, so dropping single values (as
`Dropout` does) hardly regularises a conv layer; dropping whole maps does (Tompson et al. 2015).
The mask is drawn from the layer's `rng`, the generator every engine seeds and checkpoints
(`cnnlab.training.rng_state`), and, being a `Dropout`, the layer runs its batch in one piece in
`DataParallel`, so masks follow the batch order.
"""

from __future__ import annotations

import numpy as np

from cnnlab.models.layers.elementwise import same_shape
from cnnlab.models.layers.geometry import same_field, spatial
from cnnlab.models.layers.params import Param, probability
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.activation import Dropout


class Dropout2d(Dropout):
    """The NumPy layer: `Dropout` with one draw per (image, channel), (N, C, 1, 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        keep = self.rng.random((*x.shape[:2], 1, 1), dtype=x.dtype) >= self.p
        factor = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self._scale = keep * x.dtype.type(factor)  # (N, C, 1, 1), x's dtype
        return x * self._scale  # backward: Dropout's, dy * the same scale


def shape(in_shape: tuple[int, ...], kw: dict):
    spatial(in_shape, "a (C, H, W) feature map; use Dropout after Flatten")
    return same_shape(in_shape, kw)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    rate, first = kw.get("p", 0.5), dict(data_format="channels_first")
    return [keras.layers.SpatialDropout2D(rate, seed=seed, **first, **common)]


KIND = LayerKind(
    name="Dropout2d",
    prefix="dropout",
    params=(Param("p", probability, 0.5),),
    shape=shape,
    numpy=lambda kw, rng: Dropout2d(**kw, rng=rng),
    keras=keras_layers,
    field=same_field,
    slug=lambda kw: "d2",
    identity_in_eval=True,
    example="Dropout2d(0.25)",
    ignored=("inplace",),
)
