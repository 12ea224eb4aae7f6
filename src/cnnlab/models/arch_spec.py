"""From an architecture string to an `ArchSpec`: layer names, shapes, feature layer and head.

Layer names follow the kind and the order of the layers, PyTorch-style: `conv1, conv2, ...` for
Conv2d, `bn1, ...` for BatchNorm2d/1d, `relu1, ...`, `pool1, ...` for MaxPool2d, `avgpool1, ...`,
`gap1` for AdaptiveAvgPool2d, `lrelu1`, `tanh1`, `sigmoid1`, `dropout1`, `flatten1`, `fc1, ...`
for Linear. So `Conv2d(16, 3) BatchNorm2d ReLU ...` has parameters `conv1.weight`, `bn1.weight`,
buffers `bn1.running_mean`, ... The built-in models keep their historical names through an
explicit name list (`cnnlab.models.presets`).

The feature map for CAM and Grad-CAM is the output of the last layer that still gives a
(C, H, W) map before the first Flatten or global pool (a Dropout there is skipped: in eval mode it
is the identity). The head is how the scores use that map:

- "flatten_linear": Flatten then one Linear (CAM is exact, see `cnnlab.analysis.cam`);
- "gap_linear": AdaptiveAvgPool2d(1) then Flatten then one Linear (the CAM of Zhou et al.);
- None: anything else (e.g. LeNet's three Linear layers): only Grad-CAM applies.
"""

from __future__ import annotations

from collections import Counter

from cnnlab.errors import UserError
from cnnlab.models.arch_layers import LAYERS, REQUIRED
from cnnlab.models.arch_parse import LayerCall, parse_architecture
from cnnlab.models.arch_text import canonical_string
from cnnlab.models.shapes import INPUT_SHAPE, ShapedLayer, ShapeError, infer_shapes
from cnnlab.models.spec import ArchSpec, LayerSpec

CLASSES = 10  # MNIST's digits: the last layer gives one score each

NAME_PREFIXES = {
    "Conv2d": "conv",
    "BatchNorm2d": "bn",
    "BatchNorm1d": "bn",
    "ReLU": "relu",
    "LeakyReLU": "lrelu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "MaxPool2d": "pool",
    "AvgPool2d": "avgpool",
    "AdaptiveAvgPool2d": "gap",
    "Dropout": "dropout",
    "Flatten": "flatten",
    "Linear": "fc",
}
_TO_FLAT = {"Flatten", "AdaptiveAvgPool2d", "GlobalAvgPool2d"}  # where the (C, H, W) map ends


def layer_names(calls: list[LayerCall]) -> list[str]:
    """`conv1, bn1, relu1, pool1, conv2, ...`: the kind's prefix and its count so far."""
    counts: Counter[str] = Counter()
    names = []
    for call in calls:
        prefix = NAME_PREFIXES[call.kind]
        counts[prefix] += 1
        names.append(f"{prefix}{counts[prefix]}")
    return names


def spec_kwargs(call: LayerCall) -> dict:
    """The call's arguments less those left at PyTorch's default (`Conv2d(16, 3)` ->
    {"out_channels": 16, "kernel_size": 3}), so a spec reads like the string."""
    kwargs = {}
    for param in LAYERS[call.kind]:
        value = call.kwargs[param.name]
        default = param.default
        if default is REQUIRED or type(value) is not type(default) or value != default:
            kwargs[param.name] = value
    return kwargs


def spec_from_string(
    text: str,
    name: str,
    *,
    names: tuple[str, ...] | None = None,
    description: str | None = None,
) -> ArchSpec:
    """The `ArchSpec` of an architecture string, checked against a 1x28x28 image.

    `names` overrides the derived layer names (the built-ins keep `fc`, not `fc1`). Raises
    `UserError` for a string that does not parse, a layer that does not fit the shape it
    receives, or a last layer that does not give 10 scores.
    """
    calls = parse_architecture(text)
    names = tuple(names) if names is not None else tuple(layer_names(calls))
    if len(names) != len(calls) or len(set(names)) != len(names):
        raise ValueError(f"{name}: need {len(calls)} distinct layer names, got {names}")
    layers = tuple(
        LayerSpec(n, call.kind, spec_kwargs(call)) for n, call in zip(names, calls, strict=True)
    )
    source = canonical_string(calls)
    draft = ArchSpec(name, description or "", layers, source=source)
    shaped = _shapes_or_explain(draft)
    last = shaped[-1]
    if last.out_shape != (CLASSES,):
        size = " × ".join(map(str, last.out_shape))
        raise UserError(
            f"The architecture's last layer {len(shaped)} ({last.spec.name}, {last.spec.kind}) "
            f"gives a {size} output, but a digit classifier needs {CLASSES} scores; end it with "
            f"Flatten Linear({CLASSES})."
        )
    feature_layer, head = feature_layer_and_head(shaped)
    return ArchSpec(
        name,
        description or describe(shaped, feature_layer, head),
        layers,
        feature_layer=feature_layer,
        head=head,
        source=source,
    )


def _shapes_or_explain(spec: ArchSpec) -> list[ShapedLayer]:
    try:
        return infer_shapes(spec)
    except ShapeError as err:
        image = " × ".join(map(str, INPUT_SHAPE))
        raise UserError(f"The architecture does not fit a {image} image: {err}.") from None


def feature_layer_and_head(shaped: list[ShapedLayer]) -> tuple[str | None, str | None]:
    """(name of the layer whose output is the CAM feature map, head kind), see the module doc."""
    feature, rest = None, []
    for index, layer in enumerate(shaped):
        if layer.spec.kind in _TO_FLAT:
            rest = shaped[index:]
            break
        if len(layer.out_shape) == 3 and layer.spec.kind != "Dropout":
            feature = layer.spec.name
    if feature is None:
        return None, None
    kinds = tuple(layer.spec.kind for layer in rest if layer.spec.kind != "Dropout")
    head = {
        ("Flatten", "Linear"): "flatten_linear",
        ("AdaptiveAvgPool2d", "Flatten", "Linear"): "gap_linear",
        ("GlobalAvgPool2d", "Linear"): "gap_linear",
    }.get(kinds)
    return feature, head


def describe(shaped: list[ShapedLayer], feature_layer: str | None, head: str | None) -> str:
    """A one-line description such as `3 conv layers, last feature map 7x7, flatten + linear
    head`, for the model summary."""
    convs = sum(layer.spec.kind == "Conv2d" for layer in shaped)
    linears = sum(layer.spec.kind == "Linear" for layer in shaped)
    parts = [f"{convs} conv layers" if convs else f"{linears} fully connected layers"]
    for layer in shaped:
        if layer.spec.name == feature_layer:
            parts.append(f"last feature map {layer.out_shape[1]}x{layer.out_shape[2]}")
    if convs:
        heads = {"flatten_linear": "flatten + linear head", "gap_linear": "global-average head"}
        parts.append(heads.get(head, f"{linears} linear layers"))
    return ", ".join(parts)
