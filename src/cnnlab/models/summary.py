"""A text summary of an architecture: each layer's output shape and parameter count."""

from __future__ import annotations

from cnnlab.models.spec import ArchSpec


def layer_table(spec: ArchSpec, input_shape=(1, 28, 28)) -> list[tuple[str, str, tuple, int]]:
    """Rows (name, kind, output shape without batch, parameter count), computed from the spec."""
    shape, rows = tuple(input_shape), []
    for layer in spec.layers:
        params = 0
        if layer.kind == "conv":
            c_in, c_out, k = layer.args[:3]
            stride, pad = layer.kwargs.get("stride", 1), layer.kwargs.get("padding", 0)
            h, w = ((d + 2 * pad - k) // stride + 1 for d in shape[1:])
            shape, params = (c_out, h, w), c_out * c_in * k * k + c_out
        elif layer.kind == "maxpool":
            k = layer.args[0]
            stride = layer.args[1] if len(layer.args) > 1 else k
            shape = (shape[0], *((d - k) // stride + 1 for d in shape[1:]))
        elif layer.kind == "flatten":
            n = 1
            for d in shape:
                n *= d
            shape = (n,)
        elif layer.kind == "gap":
            shape = (shape[0],)
        elif layer.kind == "linear":
            f_in, f_out = layer.args[:2]
            shape, params = (f_out,), f_in * f_out + f_out
        rows.append((layer.name, layer.kind, shape, params))
    return rows


def parameter_count(spec: ArchSpec) -> int:
    return sum(row[3] for row in layer_table(spec))


def summary_markdown(spec: ArchSpec) -> str:
    """A Markdown table (TensorBoard renders it in its Text tab)."""
    lines = [
        f"**{spec.name}**: {spec.description}",
        "",
        "| layer | kind | output shape | parameters |",
        "|---|---|---|---|",
    ]
    for name, kind, shape, params in layer_table(spec):
        lines.append(f"| {name} | {kind} | {' × '.join(map(str, shape))} | {params:,} |")
    lines.append(f"| **total** | | | **{parameter_count(spec):,}** |")
    return "\n".join(lines)
