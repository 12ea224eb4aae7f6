"""The map a run draws over the picture: the attribution method the student picks, or the
run's default (CAM for a CNN with a summing head, Grad-CAM for another CNN, integrated
gradients for a network without conv layers).

CAM and Grad-CAM come from the run's own engine (`cnnlab.analysis.cam.compute_map`), as
`cnnlab cam` draws them; every other method from `cnnlab.explain` on a float64 copy of the
run's weights, as `cnnlab explain` computes it. A run asked for a method it does not have
answers with its default and says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.errors import UserError
from cnnlab.explain import METHOD_NAMES, available, explain_image, unavailable_reason
from cnnlab.lab.runs import LabRun

DEFAULT = "default"  # what the page asks for before the student picks a method
ENGINE_MAPS = ("cam", "gradcam")  # drawn by the run's engine, in its own precision


def check_method(method: str | None) -> str:
    """The method a request asks for, checked: "default" or one of `METHOD_NAMES`."""
    if method is None or method == DEFAULT:
        return DEFAULT
    if method not in METHOD_NAMES:
        raise UserError(
            f"there is no method {method!r}; ask for default or one of: {', '.join(METHOD_NAMES)}."
        )
    return method


def default_method(spec) -> str:
    """The method a run answers with unless another is asked for."""
    if spec.feature_layer is None:
        return "integrated_gradients"
    return "cam" if spec.head else "gradcam"


def method_for(run: LabRun, asked: str) -> tuple[str, str | None]:
    """(the method `run` answers `asked` with, a note saying why it is not `asked` or None)."""
    fallback = default_method(run.spec)
    if asked == DEFAULT:
        return fallback, None
    reason = unavailable_reason(run.spec, asked)
    if reason is None:
        return asked, None
    return fallback, f"{reason}; showing {fallback}"


def explain_network(run: LabRun):
    """A float64 copy of the run's network for `cnnlab.explain`, built once per loaded run; the
    run's engine keeps its own precision (a torch model's `.double()` would change it)."""
    if "explain_net" not in run.cache:
        if run.engine.name == "torch":
            from cnnlab.explain.torch_net import TorchNetwork
            from cnnlab.models.torch_builder import torch_to_numpy_state

            state = torch_to_numpy_state(run.engine.model.state_dict())
            run.cache["explain_net"] = TorchNetwork.from_state(run.spec, state)
        else:
            from cnnlab.explain.runs import network_of

            run.cache["explain_net"] = network_of(run.engine)
    return run.cache["explain_net"]


def heat_of(run: LabRun, x: np.ndarray, target: int, method: str, background: float):
    """(heat in [0, 1] (H, W) over the input, alpha (H, W) or one number) of class `target`
    for one normalised image x (1, C, H, W), by `method` (which the run has)."""
    from cnnlab.analysis.cam import compute_map
    from cnnlab.analysis.receptive_field import receptive_field, upsample_to_input
    from cnnlab.viz.maps import normalize_map

    if method in ENGINE_MAPS:
        raw = compute_map(run.engine, run.spec, x, target, method)["map"]
        field = receptive_field(run.spec, input_shape=x.shape[1:])
        heat, _ = normalize_map(upsample_to_input(raw, field, x.shape[2:]))
        return heat, 0.5
    x64 = np.asarray(x, dtype=np.float64)
    _, _, results = explain_image(explain_network(run), x64, [method], background, target)
    magnitude = np.abs(results[method]["map"][0].sum(axis=0))  # (H, W), as explain draws it
    heat = magnitude / (magnitude.max() or 1.0)
    return heat, 0.6 * heat


def attribution(
    run: LabRun, x: np.ndarray, image: np.ndarray, target: int, asked: str, background: float
) -> dict[str, Any]:
    """{"method", "note", "map": PNG data URL of the map over the picture} for class `target`;
    `image` is the prepared uint8 picture, (H, W) or (3, H, W). The caller holds run.lock."""
    from cnnlab.lab.inference import png_data_url
    from cnnlab.viz.maps import overlay

    method, note = method_for(run, asked)
    heat, alpha = heat_of(run, x, target, method, background)
    grey = image if image.ndim == 2 else image.mean(axis=0).astype(np.uint8)
    return {"method": method, "note": note, "map": png_data_url(overlay(grey, heat, alpha))}


def methods_of(run: LabRun) -> list[str]:
    """The methods a run has, for GET /api/runs."""
    return list(available(run.spec)) if run.spec is not None else []
