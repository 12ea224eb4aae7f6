"""Every layer's output shape, computed from the spec by each kind's shape rule (its record in
`cnnlab.models.layers`): the input sizes the spec leaves out (`in_channels`, `in_features`),
the layer table and the parameter count all come from here."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.models.layers import KINDS, ShapeError
from cnnlab.models.spec import ArchSpec, LayerSpec

INPUT_SHAPE = (1, 28, 28)  # (C, H, W) of one MNIST image


@dataclass(frozen=True)
class ShapedLayer:
    """A layer of a spec with its sizes worked out, for an input of a known shape."""

    spec: LayerSpec
    kwargs: dict  # the full constructor arguments: the spec's, plus the inferred input size
    in_shape: tuple[int, ...]  # without the batch axis
    out_shape: tuple[int, ...]
    parameters: int


def infer_shapes(spec: ArchSpec, input_shape: tuple[int, ...] | None = None) -> list[ShapedLayer]:
    """Every layer's sizes for an input of `input_shape` (C, H, W; default: the spec's own,
    the data set's image shape).

    Raises ShapeError naming the first layer that does not fit the shape it receives.
    """
    shape, out = tuple(input_shape or spec.input_shape), []
    for position, layer in enumerate(spec.layers, start=1):
        try:
            inferred, out_shape, params = KINDS[layer.kind].shape(shape, layer.kwargs)
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


def summary_table(spec: ArchSpec) -> str:
    """The architecture as plain text, like Keras' `model.summary()`: one row per layer with
    its output shape (batch axis left out) and parameter count, then the total."""
    rows = [("layer", "output shape", "parameters")]
    for layer in infer_shapes(spec):
        shape = " × ".join(map(str, layer.out_shape))
        rows.append((f"{layer.spec.name} ({layer.spec.kind})", shape, f"{layer.parameters:,}"))
    rows.append(("total", "", f"{parameter_count(spec):,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
    rule = "-" * len(lines[0])
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])
