"""Where each cell of a feature map looks in the input: receptive-field centres and sizes.

A cell (i, j) of a conv feature map is not at pixel (i, j) * 28 / H: unpadded convolutions and
poolings shave the border off, so cnn3's 3x3 cells sit over input rows 8.5, 12.5 and 16.5, not
spread over 0..27. The standard recurrence over the layers, per axis, with `j` the distance in
input pixels between neighbouring cells, `r` the receptive-field size and `start` the centre of
cell 0 (pixel-index coordinates: pixel r has centre r):

    j_out = j_in * s
    r_out = r_in + (k - 1) * j_in
    start_out = start_in + ((k - 1) / 2 - p) * j_in

for a window of (dilated) size k, stride s and padding p. Elementwise layers leave all three
alone (a 1x1 window). Each kind gives its (k, s, p) in its record (`LayerKind.field`,
`cnnlab.models.layers`). `upsample_to_input` places a map on the pixel grid by interpolating
between the centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.models.layers import KINDS
from cnnlab.models.shapes import INPUT_SHAPE, infer_shapes
from cnnlab.models.spec import ArchSpec

OUTSIDE_NOTE = "linear between cell centres (dots), edge value outside them"


@dataclass(frozen=True)
class ReceptiveField:
    """The cells of one feature map in input pixel-index coordinates, per axis (rows, cols)."""

    rows: np.ndarray  # (H,) centre row of each cell
    cols: np.ndarray  # (W,) centre column of each cell
    size: tuple[int, int]  # receptive-field height and width in input pixels
    jump: tuple[int, int]  # input pixels between neighbouring cells

    def as_dict(self) -> dict:
        """JSON-ready: {"cell_centers": {"rows", "cols"}, "receptive_field": {"size", "jump"}}."""
        return {
            "cell_centers": {"rows": self.rows.tolist(), "cols": self.cols.tolist()},
            "receptive_field": {"size": list(self.size), "jump": list(self.jump)},
        }


def _walk(spec: ArchSpec, input_shape) -> tuple[dict[str, ReceptiveField], object | None]:
    """Every layer's output cells, in order, up to the first layer that mixes all positions
    (Flatten, a global pool, Linear), which is returned too (None when there is none).

    The usual recurrence per axis: size' = size + (k - 1) jump, jump' = jump s,
    start' = start + ((k - 1) / 2 - p) jump.
    """
    jump, size, start = np.ones(2), np.ones(2), np.zeros(2)  # per axis (rows, cols)
    fields = {}
    for layer in infer_shapes(spec, input_shape):
        window = KINDS[layer.spec.kind].field  # the kind's rule: its (k, s, p), or None
        if window is None:
            return fields, layer
        k, s, p = (np.array(v, dtype=np.float64) for v in window(layer.kwargs))
        start = start + ((k - 1) / 2 - p) * jump
        size = size + (k - 1) * jump
        jump = jump * s
        _, h, w = layer.out_shape
        fields[layer.spec.name] = ReceptiveField(
            rows=start[0] + jump[0] * np.arange(h),
            cols=start[1] + jump[1] * np.arange(w),
            size=(int(size[0]), int(size[1])),
            jump=(int(jump[0]), int(jump[1])),
        )
    return fields, None


def receptive_fields(spec: ArchSpec, input_shape=None) -> dict[str, ReceptiveField]:
    """Cell centres and receptive-field size of every layer whose output is still a map, for
    images of `input_shape` (default: the spec's own)."""
    return _walk(spec, input_shape or spec.input_shape)[0]


def receptive_field(
    spec: ArchSpec, layer_name: str | None = None, input_shape=None
) -> ReceptiveField:
    """Cell centres and receptive-field size of `layer_name`'s output (default: the spec's
    CAM feature layer). Raises ValueError for a layer that mixes all positions on the way."""
    target = layer_name or spec.feature_layer
    if target is None:
        raise ValueError(f"{spec.name} has no conv feature map")
    fields, mixer = _walk(spec, input_shape or spec.input_shape)
    if target in fields:
        return fields[target]
    if mixer is not None and target in [layer.name for layer in spec.layers]:
        kind, name = mixer.spec.kind, mixer.spec.name
        raise ValueError(f"cannot follow a receptive field through {kind} ({name})")
    raise ValueError(f"{spec.name} has no layer named {target!r}")


def _interpolation_weights(centres: np.ndarray, n_out: int) -> np.ndarray:
    """(n_out, n_cells): pixel x gets the linear interpolation between the two cells whose
    centres bracket it; beyond the first or last centre, that cell's value (np.interp's rule)."""
    pixels = np.arange(n_out, dtype=np.float64)
    identity = np.eye(len(centres))
    return np.stack([np.interp(pixels, centres, identity[i]) for i in range(len(centres))], 1)


def upsample_to_input(m: np.ndarray, field: ReceptiveField, size=INPUT_SHAPE[1:]) -> np.ndarray:
    """A (H, W) map on the (size) pixel grid, each cell's value at its receptive-field centre,
    linear in between (separable), the edge value outside. Returns float64 (size)."""
    m = np.asarray(m, dtype=np.float64)
    rows = _interpolation_weights(field.rows, size[0])  # (28, H)
    cols = _interpolation_weights(field.cols, size[1])  # (28, W)
    return rows @ m @ cols.T


def stretched_centres(cells: int, pixels: int = INPUT_SHAPE[1]) -> np.ndarray:
    """Where a plain resize (align_corners=False) puts the cell centres: evenly over the image."""
    return (np.arange(cells) + 0.5) * pixels / cells - 0.5
