"""What the shape and receptive-field rules of the windowed layers share: the (C, H, W) check,
the too-large-window check, and a window's (kernel, stride, padding) per axis."""

from __future__ import annotations

from cnnlab.scratch.im2col import pair

Pair = tuple[int, int]
Window = tuple[Pair, Pair, Pair]  # (kernel, stride, padding), each (rows, cols)
SAME_FIELD: Window = ((1, 1), (1, 1), (0, 0))  # a layer that acts on each position alone


class ShapeError(ValueError):
    """A layer that does not fit the shape it receives."""


def spatial(shape: tuple[int, ...], what: str = "a (C, H, W) feature map") -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeError(f"needs {what}")
    return shape  # type: ignore[return-value]


def flat(shape: tuple[int, ...], hint: str) -> int:
    if len(shape) != 1:
        raise ShapeError(f"needs a flat (features,) input, {hint}")
    return shape[0]


def fits(oh: int, ow: int, window: str, h: int, w: int) -> None:
    if oh < 1 or ow < 1:
        raise ShapeError(f"its {window} is larger than its padded {h}x{w} input")


def same_field(kwargs: dict) -> Window:
    """The receptive-field rule of an elementwise layer: a 1x1 window, stride 1, no padding."""
    return SAME_FIELD


def pool_window(kwargs: dict) -> Window:
    """(k, s, p) of a pooling layer: the stride defaults to the window, as in PyTorch."""
    k = pair(kwargs["kernel_size"])
    s = pair(kwargs["stride"]) if kwargs.get("stride") is not None else k
    return k, s, pair(kwargs.get("padding", 0))
