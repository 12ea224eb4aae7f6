"""A request's picture through every run of one data set: the input the models see,
predictions and the maps of the chosen attribution method.

The picture is prepared exactly as `cnnlab predict` prepares a file for the run's data set
(`rundata.prepare_picture`, then the run's normalisation); predictions come from each engine's
own `logits`, maps from `attribution`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from typing import Any

import numpy as np

from cnnlab.errors import UserError
from cnnlab.lab.attribution import DEFAULT, attribution
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


def decode_picture(body: bytes, content_type: str, data) -> np.ndarray:
    """The uint8 picture a request's body becomes for runs of the data set `data`
    (`rundata.RunData`): (28, 28) MNIST-like for digits; UserError when it cannot be read."""
    from cnnlab.lab.rundata import prepare_picture

    return prepare_picture(image_bytes(body, content_type), data)


def png_data_url(array: np.ndarray) -> str:
    """An RGB (H, W, 3) or grey (H, W) uint8 array as a PNG data URL."""
    from cnnlab.viz.plots import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(array)).decode("ascii")


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


def predict_run(
    run: LabRun, image: np.ndarray, method: str = DEFAULT, with_map: bool = True
) -> dict[str, Any]:
    """One run's answer for one prepared picture (uint8, as `rundata.prepare_picture` gives it):
    prediction, probabilities and the map of the predicted class by `method`."""
    from cnnlab.lab.rundata import normalized

    x = normalized(image, run.data)  # (1, C, H, W) float32
    with run.lock, answering(run):
        p = probabilities(run, x)
        prediction = int(p.argmax())
        shown = {"method": None, "note": None, "map": None}
        if with_map:
            shown = attribution(run, x, image, prediction, method, run.data.background)
    return {
        "run": run.id,
        "prediction": prediction,
        "class_name": run.data.class_names[prediction],
        "probabilities": [float(v) for v in p],
        **shown,
    }


def picture_url(image: np.ndarray) -> str:
    """A prepared picture, (H, W) or (3, H, W) uint8, as a PNG data URL."""
    pixels = image if image.ndim == 2 else image.transpose(1, 2, 0)  # (H, W, 3) for PNG
    return png_data_url(np.ascontiguousarray(pixels))


def predict_all(runs: list[LabRun], image: np.ndarray, method: str = DEFAULT) -> dict[str, Any]:
    """POST /api/predict's answer: the input the models see and every run's answer; a run that
    fails answers its reason instead, and is listed as broken from then on."""
    started = time.perf_counter()
    answers = []
    for run in runs:
        try:
            answers.append(predict_run(run, image, method))
        except RunFailedError as err:
            answers.append({"run": run.id, "error": str(err)})
    return {
        "input": picture_url(image),
        "runs": answers,
        "milliseconds": round(1000 * (time.perf_counter() - started), 2),
    }


def warm_up(run: LabRun) -> None:
    """Answer one made-up digit (a bar) right after the run is loaded, CAM included: the first
    call of an engine pays for library set-up and caches, and a student's first stroke should
    not. A run that fails here is listed as broken from the start."""
    C, H, W = run.data.shape
    image = np.zeros((H, W) if C == 1 else (C, H, W), np.uint8)
    image[..., H // 7 : H - H // 7, W // 2 - W // 14 : W // 2 + W // 14] = 255  # a "1"
    with contextlib.suppress(RunFailedError):  # answering() recorded the reason in run.error
        predict_run(run, image)
