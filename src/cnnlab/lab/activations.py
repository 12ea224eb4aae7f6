"""Inside one network: each layer's output for the current drawing, the first layer's filters,
the class scores, and each layer's receptive field (so the page can show, for a hovered map
cell, the input pixels it sees).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnlab.errors import UserError
from cnnlab.lab.attribution import DEFAULT, attribution
from cnnlab.lab.inference import picture_url, png_data_url
from cnnlab.lab.runs import LabRun
from cnnlab.models.layers import conv2d, flatten
from cnnlab.training.engines import REFERENCE, SCRATCH

GAP = 1  # pixels between tiles of a grid picture


def receptive_fields(spec) -> dict[str, dict[str, float]]:
    """Per map layer's name: `size` (pixels a cell sees), `jump` (input pixels between
    neighbouring cells) and `start` (input coordinate of cell 0's centre), along each axis alike
    (the recurrence of `cnnlab.analysis.receptive_field`)."""
    from cnnlab.analysis.receptive_field import receptive_fields as fields_of

    return {
        name: {"size": float(f.size[0]), "jump": float(f.jump[0]), "start": float(f.rows[0])}
        for name, f in fields_of(spec).items()
    }


def layer_outputs(run: LabRun, x: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(name, kind, output of one image) for every layer, in order, model in eval mode.

    Each output is a float64 copy taken before the next layer runs: an in-place ReLU would
    otherwise overwrite the layer output it receives (a float64 array is not copied by a cast).
    """
    kinds = {layer.name: layer.kind for layer in run.spec.layers}
    model = run.engine.model
    outputs = []
    if run.engine.name == SCRATCH:
        model.eval()
        for name, layer in model.named_children():
            x = layer(x)
            outputs.append((name, kinds.get(name, ""), np.array(x[0], dtype=np.float64)))
    elif run.engine.name == REFERENCE:
        import torch

        model.eval()
        with torch.inference_mode():
            t = torch.from_numpy(x).to(run.engine.device)
            for name, layer in model.named_children():
                t = layer(t)
                outputs.append((name, kinds.get(name, ""), t[0].clone().double().cpu().numpy()))
    else:
        raise UserError("the inside view shows NumPy and PyTorch runs; this run is Keras.")
    return outputs


def tile_grid(tiles: np.ndarray, fill: float = 0.35) -> tuple[np.ndarray, int]:
    """Tiles (C, H, W) as one picture (float, `fill` between tiles), about square; returns it
    and the number of columns."""
    C, H, W = tiles.shape
    columns = math.ceil(math.sqrt(C))
    rows = math.ceil(C / columns)
    grid = np.full((rows * (H + GAP) - GAP, columns * (W + GAP) - GAP), fill)
    for c in range(C):  # one loop over channels, not pixels
        top, left = (c // columns) * (H + GAP), (c % columns) * (W + GAP)
        grid[top : top + H, left : left + W] = tiles[c]
    return grid, columns


def _scaled(maps: np.ndarray) -> np.ndarray:
    """Each map (first axis) divided by its own largest magnitude: values in [-1, 1]."""
    flat = np.abs(maps.reshape(len(maps), -1)).max(axis=1)
    scale = np.where(flat > 0, flat, 1.0).reshape(-1, *([1] * (maps.ndim - 1)))
    return maps / scale


def picture(values: np.ndarray, signed: bool) -> np.ndarray:
    """Values in [-1, 1] (NaN between tiles) as uint8 pixels: grey 0..1 for a layer without
    negatives, else blue (negative) - white (zero) - red (positive), as the filters are shown."""
    from matplotlib import colormaps

    if not signed:
        return np.round(np.nan_to_num(values, nan=0.35).clip(0, 1) * 255).astype(np.uint8)
    rgb = colormaps["RdBu_r"]((values + 1.0) / 2.0)[..., :3]  # (..., 3)
    rgb[np.isnan(values)] = 0.35
    return np.round(rgb * 255).astype(np.uint8)


def describe_layer(name: str, kind: str, output: np.ndarray, field: dict) -> dict[str, Any]:
    """One layer for the page: a grid of its maps, or a strip of its units; a layer with
    negative outputs (a conv or linear layer before its ReLU) in blue and red."""
    signed = bool(output.min() < 0)
    described = {"name": name, "kind": kind, "shape": list(output.shape), "signed": signed}
    if output.ndim == 3:  # (C, H, W)
        grid, columns = tile_grid(_scaled(output), fill=np.nan)
        return described | {
            "image": png_data_url(picture(grid, signed)),
            "columns": columns,
            "gap": GAP,
            "receptive_field": field,
        }
    strip = _scaled(output[None])  # (1, D)
    return described | {
        "image": png_data_url(picture(strip, signed)),
        "values": [round(float(v), 4) for v in output[:1024]],
    }


def first_filters(run: LabRun) -> dict[str, Any] | None:
    """The first conv layer's weights (C_out, 1, k, k) as a grid, red positive, blue negative."""
    first = next((layer for layer in run.spec.layers if layer.kind == conv2d.KIND.name), None)
    if first is None:
        return None
    if run.engine.name == SCRATCH:
        weight = run.engine.model.state_dict()[f"{first.name}.weight"]
    else:
        weight = getattr(run.engine.model, first.name).weight.detach().cpu().numpy()
    w = np.asarray(weight, dtype=np.float64).mean(axis=1)  # (C_out, k, k): over input channels
    limit = max(float(np.abs(w).max()), 1e-12)
    grid, columns = tile_grid(w / limit, fill=np.nan)  # -limit..limit -> -1..1
    return {
        "name": first.name,
        "shape": list(weight.shape),
        "image": png_data_url(picture(grid, signed=True)),
        "columns": columns,
    }


def inside(run: LabRun, image: np.ndarray, method: str = DEFAULT) -> dict[str, Any]:
    """POST /api/activations/{run}: every layer's output, the filters, the class scores and the
    map of the predicted class by `method` (`attribution`)."""
    from cnnlab.lab.rundata import normalized
    from cnnlab.scratch.functional import softmax

    x = normalized(image, run.data)  # (1, C, H, W)
    fields = receptive_fields(run.spec)
    with run.lock:
        outputs = layer_outputs(run, x)
        filters = first_filters(run)
        logits = outputs[-1][2]  # (classes,)
        target = int(np.argmax(logits))
        shown = attribution(run, x, image, target, method, run.data.background)
    return {
        "run": run.id,
        "input": picture_url(image),
        "layers": [
            describe_layer(name, kind, out, fields.get(name, {}))
            for name, kind, out in outputs
            if kind != flatten.KIND.name
        ],
        "filters": filters,
        "logits": [round(float(v), 4) for v in logits],
        "probabilities": [round(float(v), 6) for v in softmax(logits[None])[0]],
        "attribution": shown,
    }
