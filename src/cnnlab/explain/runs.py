"""Attribution maps of trained runs: a run's network as a `ScratchNetwork` or `TorchNetwork`
in float64, one image through the chosen methods, and the JSON record of the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.errors import UserError
from cnnlab.explain.methods import METHOD_NAMES, available, explain_image, unavailable_reason

# What the run directory holds: the NumPy engine explains its own and Keras' weights with its
# own backward (Keras has no guided backward to offer), PyTorch with autograd.
ENGINE_NETWORKS = {"scratch": "scratch", "keras": "scratch", "torch": "torch"}


def network_of(engine, dtype=np.float64):
    """The trained network of a loaded engine, as the plain float64 network `explain` runs (or
    in `dtype`: the trust step's float32)."""
    spec = engine.model.spec
    if ENGINE_NETWORKS[engine.name] == "torch":
        from cnnlab.explain.torch_net import TorchNetwork

        return TorchNetwork(engine.model, dtype)
    from cnnlab.explain.scratch_net import ScratchNetwork

    state = (
        engine.convert.keras_to_numpy(engine.model)
        if engine.name == "keras"
        else engine.model.state_dict()
    )
    return ScratchNetwork.from_state(spec, state, dtype)


def parse_methods(text: str) -> tuple[str, ...] | None:
    """`all` -> None (every method the network has); `m1,m2` -> the names, checked."""
    if text == "all":
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in METHOD_NAMES]
    if unknown or not names:
        what = f"names no method {unknown[0]!r}" if unknown else "is empty"
        raise UserError(
            f"--methods {what}; give 'all' or a comma-separated list of: {', '.join(METHOD_NAMES)}."
        )
    return names


def methods_for(spec, chosen: tuple[str, ...] | None, run: str) -> tuple[str, ...]:
    if chosen is None:
        return available(spec)
    for method in chosen:
        reason = unavailable_reason(spec, method)
        if reason is not None:
            raise UserError(f"{run}: {reason}; leave {method} out of --methods.")
    return chosen


def explain_run(net, x: np.ndarray, methods, background: float, target: int | None):
    """(target, predicted, probabilities, results) of one normalised image x (1, C, H, W)."""
    classes = net.logits(x).shape[1]
    if target is not None and not 0 <= target < classes:
        raise UserError(f"--target {target} is not a class of this network (0..{classes - 1}).")
    target, probabilities, results = explain_image(net, x, methods, background, target)
    return target, int(probabilities.argmax()), probabilities, results


def run_record(run: Path, index, image, target, predicted, probabilities, results) -> dict:
    """The JSON of one run: `{"run", "index", "image", "target", "predicted", "methods"}`,
    each method with its input-resolution `map` (H, W; summed over channels, each channel in
    `map_channels` for colour inputs), its `layer_map` or null, `seconds` and settings."""
    methods = {}
    for name, result in results.items():
        attribution = result["map"][0]  # (C, H, W)
        layer_map = result.get("layer_map")
        record = {
            "map": attribution.sum(axis=0).tolist(),
            "layer_map": None if layer_map is None else np.asarray(layer_map).tolist(),
            "seconds": result["seconds"],
        }
        if attribution.shape[0] > 1:
            record["map_channels"] = attribution.tolist()
        for key, value in result.items():
            if key not in ("map", "layer_map", "seconds"):
                record[key] = value.item() if isinstance(value, np.generic) else value
        methods[name] = record
    return {
        "run": str(run),
        "index": index,
        "image": image,
        "target": target,
        "predicted": predicted,
        "probabilities": [float(p) for p in probabilities],
        "methods": methods,
    }
