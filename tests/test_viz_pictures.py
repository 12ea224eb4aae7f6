"""The renderers return RGB uint8 pictures of a sensible size, and they show what they should."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnlab.analysis.metrics import confusion_matrix, most_confident_errors, top_scoring_images
from cnnlab.viz.cam_figures import NOTE_COLOUR, render_cam_comparison, render_cam_panels
from cnnlab.viz.confusion import render_confusion_matrix
from cnnlab.viz.curves import VAL, curves_figure, render_curves
from cnnlab.viz.grids import render_top_scoring, render_worst_errors
from cnnlab.viz.plots import save_png


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    labels = np.arange(60) % 10
    probabilities = rng.dirichlet(np.ones(10), size=60)
    return images, labels, probabilities


def _epoch(epoch: int) -> dict:
    return {
        "kind": "epoch",
        "epoch": epoch,
        "step": 100 * epoch,
        "train_loss": 0.5 / epoch,
        "train_accuracy": 0.9 + 0.02 * epoch,
        "val_loss": 0.3 / epoch,
        "val_accuracy": 0.95 + 0.01 * epoch,
        "seconds": 10.0,
    }


def _records(epochs: int) -> list[dict]:
    steps = [
        {"kind": "step", "epoch": 1 + (s - 1) // 100, "step": s, "loss": 2.3 / s**0.5}
        for s in range(1, 100 * epochs + 1, 5)
    ]
    return steps + [_epoch(e) for e in range(1, epochs + 1)]


def _colour_pixels(picture: np.ndarray, rgb, tolerance: int = 30) -> np.ndarray:
    """Mask of pixels within `tolerance` of an RGB colour on every channel."""
    return (np.abs(picture.astype(int) - np.array(rgb)) <= tolerance).all(axis=-1)


def _is_red(picture: np.ndarray) -> np.ndarray:
    r, g, b = (picture[..., i].astype(int) for i in range(3))
    return (r > 170) & (g < 80) & (b < 80)


def _renders(data) -> dict[str, np.ndarray]:
    images, labels, probabilities = data
    cm = confusion_matrix(labels, probabilities.argmax(axis=1))
    cam = np.random.default_rng(1).normal(size=(11, 11))
    return {
        "confusion": render_confusion_matrix(cm),
        "confusion_normalized": render_confusion_matrix(cm, normalized=True),
        "top3": render_top_scoring(
            images, labels, probabilities, top_scoring_images(probabilities, 3)
        ),
        "worst": render_worst_errors(
            images, labels, probabilities, most_confident_errors(probabilities, labels)
        ),
        "curves": render_curves(_records(3)),
        "cam_panels": render_cam_panels(images[0], cam, None, "predicted 3 (0.97)", "CAM"),
        "cam_comparison": render_cam_comparison(
            [
                {"label": "cnn2 · scratch", "image": images[0], "cam": cam, "gradcam": cam},
                {"label": "mlp3 · torch", "image": images[1], "cam": None},
            ]
        ),
    }


@pytest.fixture(scope="module")
def renders(data):
    return _renders(data)


@pytest.mark.parametrize(
    "name",
    [
        "confusion",
        "confusion_normalized",
        "top3",
        "worst",
        "curves",
        "cam_panels",
        "cam_comparison",
    ],
)
def test_renderer_returns_rgb_uint8_of_sensible_size(renders, name, tmp_path):
    picture = renders[name]
    assert picture.dtype == np.uint8
    assert picture.ndim == 3
    assert picture.shape[2] == 3
    assert 250 <= picture.shape[0] <= 2000
    assert 250 <= picture.shape[1] <= 1600
    assert picture.std() > 10  # not a blank canvas
    path = tmp_path / f"{name}.png"
    save_png(picture, path)
    assert path.stat().st_size < 300_000
    with Image.open(path) as reopened:
        assert reopened.format == "PNG"
        assert reopened.size == (picture.shape[1], picture.shape[0])
        np.testing.assert_array_equal(np.asarray(reopened.convert("RGB")), picture)


def test_save_png_rejects_float_arrays(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        save_png(np.zeros((10, 10, 3)), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_confusion_matrix_with_an_empty_row_normalizes_without_warnings():
    cm = np.diag(np.arange(10))  # class 0 has no examples: a row of zeros
    picture = render_confusion_matrix(cm, normalized=True)
    assert picture.shape[2] == 3


def test_top_scoring_red_frame_only_for_wrong_images(data):
    images = data[0][:30]
    # Image 3c + j is the j-th best of class c, and is labelled c: every cell is right.
    right = np.repeat(np.arange(10), 3)
    probabilities = np.full((30, 10), 0.01)
    probabilities[np.arange(30), right] = 0.9 - 0.01 * np.tile(np.arange(3), 10)
    indices = top_scoring_images(probabilities, 3)
    np.testing.assert_array_equal(indices, np.arange(30).reshape(10, 3))
    picture = render_top_scoring(images, right, probabilities, indices)
    assert not _is_red(picture).any()

    for row, col in ((0, 0), (9, 2)):
        wrong = right.copy()
        wrong[indices[row, col]] = (row + 1) % 10
        picture = render_top_scoring(images, wrong, probabilities, indices)
        ys, xs = np.nonzero(_is_red(picture))
        assert ys.size > 100, "the wrong image should have a red frame"
        h, w = picture.shape[:2]
        # All the red is around that one cell: its row (of 10) and column (of 3).
        assert abs(ys.mean() / h - (0.06 + 0.94 * (row + 0.5) / 10)) < 0.04
        assert abs(xs.mean() / w - (0.2 + 0.8 * (col + 0.5) / 3)) < 0.12
        assert ys.max() - ys.min() < h / 10
        assert xs.max() - xs.min() < w / 3


def test_worst_errors_without_errors_still_renders(data):
    images, labels, probabilities = data
    picture = render_worst_errors(images, labels, probabilities, np.array([], dtype=int))
    assert picture.dtype == np.uint8
    assert picture.ndim == 3


def test_curves_show_a_single_epoch_as_markers():
    fig = curves_figure([_epoch(1)])
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    assert len(lines) == 4  # train and validation, loss and accuracy
    for line in lines:
        assert len(line.get_xdata()) == 1
        assert line.get_marker() not in (None, "None", "", " ")  # a lone point needs a marker
        left, right = line.axes.get_xlim()
        assert left < line.get_xdata()[0] < right
    picture = render_curves([_epoch(1)])
    orange = _colour_pixels(picture, tuple(int(VAL[i : i + 2], 16) for i in (1, 3, 5)))
    assert orange.sum() > 40


def test_curves_without_records_say_so():
    picture = render_curves([])
    assert picture.dtype == np.uint8
    assert picture.std() > 0


def test_cam_panels_say_when_the_map_is_empty(data):
    images = data[0]
    note = tuple(int(NOTE_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    empty = render_cam_panels(images[0], -np.ones((3, 3)), None, "t", "")
    full = render_cam_panels(images[0], np.eye(3), None, "t", "")
    assert _colour_pixels(empty, note, tolerance=25).sum() > 20
    assert _colour_pixels(full, note, tolerance=25).sum() == 0


def test_cam_comparison_has_a_gradcam_column_only_when_given(data):
    images = data[0]
    cam = np.eye(3)
    without = render_cam_comparison([{"label": "cnn3 · torch", "image": images[0], "cam": cam}])
    with_grad = render_cam_comparison(
        [{"label": "cnn3 · torch", "image": images[0], "cam": cam, "gradcam": cam}]
    )
    assert with_grad.shape[1] > without.shape[1] * 1.2
