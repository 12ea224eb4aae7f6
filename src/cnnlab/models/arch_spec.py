"""From an architecture string to an `ArchSpec`: layer names, shapes, feature layer and head.

Layer names follow the kind and the order of the layers, PyTorch-style: the kind's prefix
(`LayerKind.prefix`: `conv` for Conv2d, `bn` for BatchNorm2d/1d, `pool` for MaxPool2d, `fc` for
Linear, ...) and its count so far. So `Conv2d(16, 3) BatchNorm2d ReLU ...` has parameters
`conv1.weight`, `bn1.weight`, buffers `bn1.running_mean`, ... The built-in models keep their
historical names through an explicit name list (`cnnlab.models.presets`).

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
from cnnlab.models.arch_parse import LayerCall, parse_architecture
from cnnlab.models.arch_text import canonical_string
from cnnlab.models.layers import KINDS
from cnnlab.models.layers.params import REQUIRED
from cnnlab.models.shapes import INPUT_SHAPE, ShapedLayer, ShapeError, infer_shapes
from cnnlab.models.spec import ArchSpec, LayerSpec

CLASSES = 10  # MNIST's digits: the last layer gives one score each
# How the layers after the feature map use it, by the kinds' `head_role`s (Dropout skipped).
HEADS = {("flatten", "linear"): "flatten_linear", ("gap", "flatten", "linear"): "gap_linear"}


def layer_names(calls: list[LayerCall]) -> list[str]:
    """`conv1, bn1, relu1, pool1, conv2, ...`: the kind's prefix and its count so far."""
    counts: Counter[str] = Counter()
    names = []
    for call in calls:
        prefix = KINDS[call.kind].prefix
        counts[prefix] += 1
        names.append(f"{prefix}{counts[prefix]}")
    return names


def spec_kwargs(call: LayerCall) -> dict:
    """The call's arguments less those left at PyTorch's default (`Conv2d(16, 3)` ->
    {"out_channels": 16, "kernel_size": 3}), so a spec reads like the string."""
    kwargs = {}
    for param in KINDS[call.kind].params:
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
    input_shape: tuple[int, ...] = INPUT_SHAPE,
    classes: int = CLASSES,
) -> ArchSpec:
    """The `ArchSpec` of an architecture string, checked against an image of `input_shape`
    (C, H, W; MNIST's 1x28x28 by default) and a data set of `classes` classes.

    `names` overrides the derived layer names (the built-ins keep `fc`, not `fc1`). Raises
    `UserError` for a string that does not parse, a layer that does not fit the shape it
    receives, or a last layer that does not give one score per class.
    """
    calls = parse_architecture(text)
    names = tuple(names) if names is not None else tuple(layer_names(calls))
    if len(names) != len(calls) or len(set(names)) != len(names):
        raise ValueError(f"{name}: need {len(calls)} distinct layer names, got {names}")
    layers = tuple(
        LayerSpec(n, call.kind, spec_kwargs(call)) for n, call in zip(names, calls, strict=True)
    )
    source = canonical_string(calls)
    draft = ArchSpec(name, description or "", layers, source=source, input_shape=input_shape)
    shaped = _shapes_or_explain(draft)
    _check_input_sizes(calls, shaped)
    last = shaped[-1]
    if last.out_shape != (classes,):
        size = " × ".join(map(str, last.out_shape))
        raise UserError(
            f"The architecture's last layer {len(shaped)} ({last.spec.name}, {last.spec.kind}) "
            f"gives a {size} output, but a classifier of {classes} classes needs {classes} "
            f"scores; end it with Flatten Linear({classes})."
        )
    feature_layer, head = feature_layer_and_head(shaped)
    return ArchSpec(
        name,
        description or describe(shaped, feature_layer, head),
        layers,
        feature_layer=feature_layer,
        head=head,
        source=source,
        input_shape=tuple(input_shape),
    )


def _shapes_or_explain(spec: ArchSpec) -> list[ShapedLayer]:
    try:
        return infer_shapes(spec)
    except ShapeError as err:
        image = " × ".join(map(str, spec.input_shape))
        raise UserError(f"The architecture does not fit a {image} image: {err}.") from None


def _check_input_sizes(calls: list[LayerCall], shaped: list[ShapedLayer]) -> None:
    """A written input size (`Conv2d(3, 16, 3)`) must be the one the layer receives."""
    for call, layer in zip(calls, shaped, strict=True):
        key = KINDS[call.kind].input_size
        if call.input_size is not None and call.input_size != layer.kwargs[key]:
            raise UserError(
                f"Layer {call.position} ({layer.spec.name}, {call.kind}) is given "
                f"{key}={call.input_size}, but the input it receives has {layer.kwargs[key]}; "
                f"write {layer.kwargs[key]} or leave the argument out."
            )


def feature_layer_and_head(shaped: list[ShapedLayer]) -> tuple[str | None, str | None]:
    """(name of the layer whose output is the CAM feature map, head kind), see the module doc."""
    feature, rest = None, []
    for index, layer in enumerate(shaped):
        kind = KINDS[layer.spec.kind]
        if kind.field is None:  # the (C, H, W) map ends at the first layer mixing positions
            rest = shaped[index:]
            break
        if len(layer.out_shape) == 3 and not kind.identity_in_eval:
            feature = layer.spec.name
    if feature is None:
        return None, None
    kinds = (KINDS[layer.spec.kind] for layer in rest)
    head = HEADS.get(tuple(kind.head_role for kind in kinds if not kind.identity_in_eval))
    return feature, head


def describe(shaped: list[ShapedLayer], feature_layer: str | None, head: str | None) -> str:
    """A one-line description such as `3 conv layers, last feature map 7x7, flatten + linear
    head`, for the model summary."""
    convs = sum(KINDS[layer.spec.kind].prefix == "conv" for layer in shaped)
    linears = sum(KINDS[layer.spec.kind].head_role == "linear" for layer in shaped)
    parts = [f"{convs} conv layers" if convs else f"{linears} fully connected layers"]
    for layer in shaped:
        if layer.spec.name == feature_layer:
            parts.append(f"last feature map {layer.out_shape[1]}x{layer.out_shape[2]}")
    if convs:
        heads = {"flatten_linear": "flatten + linear head", "gap_linear": "global-average head"}
        parts.append(heads.get(head, f"{linears} linear layers"))
    return ", ".join(parts)
