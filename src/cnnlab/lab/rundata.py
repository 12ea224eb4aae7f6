"""Each run's data set as the lab needs it, read from the run's config.json (`cnnlab.data.source`):
its class names, the image shape its network takes, its normalisation, and how a picture sent
to the lab is prepared for it, exactly as `cnnlab predict` prepares a file.

Runs whose data set and image shape agree form one group: a picture is prepared once per
group, and the page shows one group at a time. The drawing pad is offered where it makes sense,
for 28x28 single-channel sets; other sets take a dropped picture or a test image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from cnnlab.errors import UserError

DIGIT_SETS = ("mnist", "kmnist")  # pictures prepared as MNIST's digits were (`load_digit`)
PAD_SHAPE = (1, 28, 28)


@dataclass(frozen=True)
class RunData:
    """What the lab knows of a run's data set."""

    name: str  # a named set, or a folder's path
    title: str
    class_names: tuple[str, ...]
    shape: tuple[int, int, int]  # (C, H, W) of one image
    mean: float
    std: float

    @property
    def key(self) -> str:
        """Runs with the same key take the same prepared picture."""
        return f"{self.name} {'x'.join(map(str, self.shape))}"

    @property
    def pad(self) -> bool:
        return self.shape == PAD_SHAPE

    @property
    def background(self) -> float:
        """A pixel of value 0 after normalisation: integrated gradients' baseline."""
        return (0.0 - self.mean) / self.std

    def summary(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "title": self.title,
            "class_names": list(self.class_names),
            "image_shape": list(self.shape),
            "pad": self.pad,
        }


def run_data(config: dict) -> RunData:
    """The data set of the run whose config.json is `config` (runs from before --dataset: MNIST)."""
    from cnnlab.data.source import (
        run_class_names,
        run_dataset,
        run_normalization,
        run_shape_and_classes,
    )

    name = run_dataset(config)
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    shape, _ = run_shape_and_classes(config)
    mean, std = run_normalization(config)
    return RunData(
        name=name,
        title=str(data.get("title") or ("MNIST" if name == "mnist" else name)),
        class_names=tuple(str(c) for c in run_class_names(config)),
        shape=tuple(int(s) for s in shape),
        mean=float(mean),
        std=float(std),
    )


def prepare_picture(raw: bytes, data: RunData) -> np.ndarray:
    """A sent picture as the run's data set's images: uint8 (H, W) for one channel, (3, H, W)
    for colour; digits as `load_digit` prepares them, other sets as their pictures are."""
    if not raw:
        raise UserError("the request has no image; send a PNG, JPEG, WebP or GIF picture.")
    if data.name in DIGIT_SETS:
        from cnnlab.data.imageprep import load_digit

        return load_digit(io.BytesIO(raw), name="the uploaded image")
    # As `cnnlab predict` prepares a picture for any other set (folder_decode.prepare_picture,
    # which takes a path): the same decoder, then the same fitting to the set's size.
    from cnnlab.data.folder_decode import _open, to_array

    pixels, why = _open(io.BytesIO(raw))
    if pixels is None:
        what = "too large to read" if why == "too large" else "not an image that can be read"
        raise UserError(f"the uploaded image is {what}; send a PNG, JPEG, WebP or GIF picture.")
    return to_array([pixels], data.shape[-1], data.shape[0])[0]


def normalized(image: np.ndarray, data: RunData) -> np.ndarray:
    """A prepared uint8 picture as the network's input (1, C, H, W), float32."""
    from cnnlab.data import normalize

    return normalize(image[None], data.mean, data.std)
