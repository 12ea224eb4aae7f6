"""A request's picture through every run: the 28x28 input, predictions and CAM overlays.

The picture is prepared exactly as `cnnlab predict` prepares a file (`load_digit`, then
`normalize`); predictions come from each engine's own `logits`, maps from
`cnnlab.analysis.cam.compute_map`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import time
from typing import Any

import numpy as np

from cnnlab.errors import UserError
from cnnlab.lab.runs import LabRun, RunFailedError, UnusableAnswerError, answering

DATA_URL_PREFIX = "data:image/"


def image_bytes(body: bytes, content_type: str) -> bytes:
    """The picture's bytes from a request body: raw image bytes, or JSON {"image": data URL}."""
    if not content_type.lower().startswith("application/json"):
        return body
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError("the request body is not valid JSON.") from None
    except RecursionError:
        raise UserError('the JSON body is nested too deeply; send {"image": data URL}.') from None
    image = payload.get("image") if isinstance(payload, dict) else None
    if not isinstance(image, str) or not image.startswith(DATA_URL_PREFIX) or "," not in image:
        raise UserError('the JSON body needs "image": a data URL such as data:image/png;base64,...')
    header, data = image.split(",", 1)
    if not header.endswith(";base64"):
        raise UserError("the image data URL must be base64-encoded.")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UserError("the image data URL is not valid base64.") from None


def decode_digit(body: bytes, content_type: str) -> np.ndarray:
    """The MNIST-like uint8 (28, 28) input a request's picture becomes; UserError when the
    picture cannot be read or is blank."""
    from cnnlab.data.imageprep import load_digit

    raw = image_bytes(body, content_type)
    if not raw:
        raise UserError("the request has no image; send a PNG of one digit.")
    return load_digit(io.BytesIO(raw), name="the uploaded image")


def png_data_url(array: np.ndarray) -> str:
    """An RGB (H, W, 3) or grey (H, W) uint8 array as a PNG data URL."""
    from cnnlab.viz.plots import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(array)).decode("ascii")


def heat_on_input(raw_map: np.ndarray, spec) -> np.ndarray:
    """A raw CAM (h, w) as a [0, 1] heat map over the 28x28 input: each cell placed at the
    centre of its receptive field, as in `cnnlab cam` (`cnnlab.analysis.receptive_field`)."""
    from cnnlab.analysis.receptive_field import receptive_field, upsample_to_input
    from cnnlab.viz.maps import normalize_map

    heat, _ = normalize_map(upsample_to_input(raw_map, receptive_field(spec)))
    return heat


def probabilities(run: LabRun, x: np.ndarray) -> np.ndarray:
    """Softmax of the run's logits for one normalised image (1, 1, 28, 28) -> (10,)."""
    from cnnlab.scratch.functional import softmax

    p = softmax(run.engine.logits(x).astype(np.float64))[0]
    if not np.isfinite(p).all():
        raise UnusableAnswerError(
            "its scores are not finite numbers: its training diverged; retrain it with a "
            "smaller --lr."
        )
    return p


def cam_overlay(run: LabRun, x: np.ndarray, digit: np.ndarray, target: int) -> str | None:
    """The CAM (or Grad-CAM) of class `target` over the input, as a PNG data URL; None for a
    network without conv layers."""
    from cnnlab.analysis.cam import compute_map
    from cnnlab.viz.maps import overlay

    if not run.has_conv:
        return None
    method = "cam" if run.spec.head else "gradcam"
    result = compute_map(run.engine, run.spec, x, target, method)
    return png_data_url(overlay(digit, heat_on_input(result["map"], run.spec)))


def predict_run(run: LabRun, digit: np.ndarray, with_cam: bool = True) -> dict[str, Any]:
    """One run's answer for one prepared digit (28, 28) uint8."""
    from cnnlab.data import normalize

    x = normalize(digit[None])  # (1, 1, 28, 28) float32
    with run.lock, answering(run):
        p = probabilities(run, x)
        prediction = int(p.argmax())
        cam = cam_overlay(run, x, digit, prediction) if with_cam else None
    return {
        "run": run.id,
        "prediction": prediction,
        "probabilities": [float(v) for v in p],
        "cam": cam,
    }


def predict_all(runs: list[LabRun], digit: np.ndarray) -> dict[str, Any]:
    """POST /api/predict's answer: the input the models see and every run's answer; a run that
    fails answers its reason instead, and is listed as broken from then on."""
    started = time.perf_counter()
    answers = []
    for run in runs:
        try:
            answers.append(predict_run(run, digit))
        except RunFailedError as err:
            answers.append({"run": run.id, "error": str(err)})
    return {
        "input": png_data_url(digit),
        "runs": answers,
        "milliseconds": round(1000 * (time.perf_counter() - started), 2),
    }


def warm_up(run: LabRun) -> None:
    """Answer one made-up digit (a bar) right after the run is loaded, CAM included: the first
    call of an engine pays for library set-up and caches, and a student's first stroke should
    not. A run that fails here is listed as broken from the start."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255  # (28, 28): a "1"
    with contextlib.suppress(RunFailedError):  # answering() recorded the reason in run.error
        predict_run(run, digit)
