"""The attribution methods by name, and `explain_image`, which runs the chosen ones on one image.

A method is a function (net, x, target, background) -> dict with the input-space `map`
(1, C, H, W) and/or the feature-layer `layer_map` (h, w), plus the settings it used. `net` is a
`ScratchNetwork` or a `TorchNetwork`; the methods are written once, over their answers.
"""

from __future__ import annotations

import time

import numpy as np

from cnnlab.analysis.receptive_field import receptive_field, upsample_to_input
from cnnlab.explain import gradients, layer_cams
from cnnlab.explain.integrated import integrated_gradients
from cnnlab.explain.occlusion import occlusion
from cnnlab.explain.score_cam import scorecam

INPUT_METHODS = {
    "saliency": gradients.saliency,
    "input_x_gradient": gradients.input_x_gradient,
    "integrated_gradients": integrated_gradients,
    "smoothgrad": gradients.smoothgrad,
    "occlusion": occlusion,
    "guided_backprop": gradients.guided_backprop,
}
# At the last conv block: CNNs only (`cam` also needs a head that sums the map).
LAYER_METHODS = {
    "cam": layer_cams.cam,
    "gradcam": layer_cams.gradcam,
    "gradcam_plus_plus": layer_cams.gradcam_plus_plus,
    "hirescam": layer_cams.hirescam,
    "xgradcam": layer_cams.xgradcam,
    "layercam": layer_cams.layercam,
    "scorecam": scorecam,
    "eigencam": layer_cams.eigencam,
    "guided_gradcam": layer_cams.guided_gradcam,
}
METHODS = INPUT_METHODS | LAYER_METHODS
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def available(spec) -> tuple[str, ...]:
    """The methods this architecture has: all for a CNN with a summing head, no CAM without
    one, the input-space ones only without a conv layer."""
    names = list(INPUT_METHODS)
    if spec.feature_layer is not None:
        names += [m for m in LAYER_METHODS if m != "cam" or spec.head is not None]
    return tuple(names)


def unavailable_reason(spec, method: str) -> str | None:
    """Why `spec` has no `method` (one phrase), or None when it has it."""
    if method in available(spec):
        return None
    if spec.feature_layer is None:
        return f"{spec.name} has no conv layer, which {method} needs"
    return f"{spec.name} has no flatten or global-pool head with one linear layer, which cam needs"


def explain_images(net, x: np.ndarray, methods, background: float, targets=None):
    """Run `methods` on normalised images x (N, C, H, W), all of them in one batch per method,
    for the classes `targets` (N,) (default: each image's predicted class). Returns (targets
    (N,), probabilities (N, K), {name: result}); every result has an input-resolution `map`
    (N, C, H, W) and its `seconds` for the whole batch; a layer method's map is its
    `layer_map` (N, h, w) placed on the input by receptive field, as `cnnlab cam` draws it."""
    from cnnlab.scratch.functional import softmax

    probabilities = softmax(net.logits(x))
    if targets is None:
        targets = probabilities.argmax(axis=1)
    targets = np.broadcast_to(np.asarray(targets, dtype=np.int64), len(x))
    results = {}
    for name in methods:
        start = time.perf_counter()
        result = METHODS[name](net, x, targets, background)
        if "map" not in result:
            field = receptive_field(net.spec, input_shape=x.shape[1:])
            result["map"] = upsample_to_input(result["layer_map"], field, x.shape[2:])[:, None]
        results[name] = result | {"seconds": time.perf_counter() - start}
    return targets, probabilities, results


def explain_image(net, x: np.ndarray, methods, background: float, target: int | None = None):
    """`explain_images` for one image x (1, C, H, W): (target, probabilities (K,), {name:
    result}) with the `map` (1, C, H, W), the `layer_map` (h, w) and per-image figures."""
    targets, probabilities, batch = explain_images(net, x, methods, background, target)
    results = {}
    for name, result in batch.items():
        one = {
            k: v[0] if isinstance(v, np.ndarray) and k != "map" else v for k, v in result.items()
        }
        results[name] = one | {"map": result["map"]}
    return int(targets[0]), probabilities[0], results
