"""Every layer's output shape, computed from the spec itself: the input sizes the spec leaves out
(`in_channels`, `in_features`), the layer table and the parameter count all come from here."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from cnnlab.models.spec import ArchSpec, LayerSpec
from cnnlab.scratch.im2col import conv_output_size, pair

INPUT_SHAPE = (1, 28, 28)  # (C, H, W) of one MNIST image


@dataclass(frozen=True)
class ShapedLayer:
    """A layer of a spec with its sizes worked out, for an input of a known shape."""

    spec: LayerSpec
    kwargs: dict  # the full constructor arguments: the spec's, plus the inferred input size
    in_shape: tuple[int, ...]  # without the batch axis
    out_shape: tuple[int, ...]
    parameters: int


class ShapeError(ValueError):
    """A layer that does not fit the shape it receives."""


def _conv(shape, kw):
    c, h, w = _spatial(shape, "a (C, H, W) feature map")
    (kh, kwid), (sh, sw) = pair(kw["kernel_size"]), pair(kw.get("stride", 1))
    ph, pw = pair(kw.get("padding", 0))
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kwid, sw, pw)
    _fits(oh, ow, f"kernel {kh}x{kwid}", h + 2 * ph, w + 2 * pw)
    out = kw["out_channels"]
    params = out * c * kh * kwid + (out if kw.get("bias", True) else 0)
    return {"in_channels": c}, (out, oh, ow), params


def _pool(shape, kw):
    c, h, w = _spatial(shape, "a (C, H, W) feature map")
    k = pair(kw["kernel_size"])
    s = pair(kw["stride"]) if kw.get("stride") is not None else k
    p = pair(kw.get("padding", 0))
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:  # PyTorch's rule too: no window of padding only
        raise ShapeError(f"its padding {p[0]}x{p[1]} is more than half its {k[0]}x{k[1]} window")
    oh, ow = conv_output_size(h, k[0], s[0], p[0]), conv_output_size(w, k[1], s[1], p[1])
    _fits(oh, ow, f"window {k[0]}x{k[1]}", h + 2 * p[0], w + 2 * p[1])
    return {}, (c, oh, ow), 0


def _global_pool(shape, kw):
    c, _, _ = _spatial(shape, "a (C, H, W) feature map")
    return {}, (c,), 0


def _adaptive_pool(shape, kw):
    c, _, _ = _spatial(shape, "a (C, H, W) feature map")
    return {}, (c, 1, 1), 0  # output_size 1 only (the grammar refuses others): global average


def _batch_norm_2d(shape, kw):
    c, _, _ = _spatial(shape, "a (C, H, W) feature map; use BatchNorm1d after Flatten")
    return {"num_features": c}, shape, 2 * c  # weight and bias; the running stats are buffers


def _batch_norm_1d(shape, kw):
    if len(shape) != 1:
        raise ShapeError("needs a flat (features,) input; use BatchNorm2d on a feature map")
    return {"num_features": shape[0]}, shape, 2 * shape[0]


def _flatten(shape, kw):
    return {}, (math.prod(shape),), 0


def _linear(shape, kw):
    if len(shape) != 1:
        raise ShapeError("needs a flat (features,) input, add Flatten before it")
    out = kw["out_features"]
    return {"in_features": shape[0]}, (out,), shape[0] * out + (out if kw.get("bias", True) else 0)


def _same(shape, kw):
    return {}, shape, 0


SHAPE_RULES: dict[str, Callable] = {
    "Conv2d": _conv,
    "MaxPool2d": _pool,
    "AvgPool2d": _pool,
    "AdaptiveAvgPool2d": _adaptive_pool,
    "GlobalAvgPool2d": _global_pool,
    "BatchNorm2d": _batch_norm_2d,
    "BatchNorm1d": _batch_norm_1d,
    "Flatten": _flatten,
    "Linear": _linear,
    "ReLU": _same,
    "LeakyReLU": _same,
    "Tanh": _same,
    "Sigmoid": _same,
    "Dropout": _same,
}


def _spatial(shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeError(f"needs {what}")
    return shape  # type: ignore[return-value]


def _fits(oh: int, ow: int, window: str, h: int, w: int) -> None:
    if oh < 1 or ow < 1:
        raise ShapeError(f"its {window} is larger than its padded {h}x{w} input")


def infer_shapes(spec: ArchSpec, input_shape: tuple[int, ...] = INPUT_SHAPE) -> list[ShapedLayer]:
    """Every layer's sizes for an input of `input_shape` (C, H, W).

    Raises ShapeError naming the first layer that does not fit the shape it receives.
    """
    shape, out = tuple(input_shape), []
    for position, layer in enumerate(spec.layers, start=1):
        try:
            inferred, out_shape, params = SHAPE_RULES[layer.kind](shape, layer.kwargs)
        except ShapeError as err:
            size = " × ".join(map(str, shape))
            raise ShapeError(
                f"layer {position} ({layer.name}, {layer.kind}) receives a {size} input but {err}"
            ) from None
        out.append(ShapedLayer(layer, inferred | layer.kwargs, shape, out_shape, params))
        shape = out_shape
    return out


def feature_shape(spec: ArchSpec) -> tuple[int, ...] | None:
    """(C, H, W) of the CAM feature map for a 28x28 input; None for a spec without one."""
    for layer in infer_shapes(spec):
        if layer.spec.name == spec.feature_layer:
            return layer.out_shape
    return None


def parameter_count(spec: ArchSpec) -> int:
    return sum(layer.parameters for layer in infer_shapes(spec))


def summary_markdown(spec: ArchSpec) -> str:
    """A Markdown table (TensorBoard renders it in its Text tab)."""
    lines = [
        f"**{spec.name}**: {spec.description}",
        "",
        "| layer | kind | output shape | parameters |",
        "|---|---|---|---|",
    ]
    for layer in infer_shapes(spec):
        shape = " × ".join(map(str, layer.out_shape))
        lines.append(f"| {layer.spec.name} | {layer.spec.kind} | {shape} | {layer.parameters:,} |")
    lines.append(f"| **total** | | | **{parameter_count(spec):,}** |")
    if spec.source is not None:
        lines += ["", f"Architecture: `{spec.source}`"]
    return "\n".join(lines)
