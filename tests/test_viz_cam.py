"""CAM figures that say what they show: a colour bar and its scale, an empty map explained
inside its panel, and no colour painted where a small map has no cells."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from cnnlab.viz.cam_figures import SCALE_NOTE, cam_comparison_figure, cam_panels_figure
from cnnlab.viz.maps import cell_coverage, normalize_map, overlay

CNN3_CENTRES = (np.array([8.5, 12.5, 16.5]), np.array([8.5, 12.5, 16.5]))


@pytest.fixture(scope="module")
def digit():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:22, 12:16] = 255
    return image


def _texts(fig):
    renderer = fig.canvas.get_renderer()
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]


def _comparison(digit, gradcam):
    rows = [
        {"label": "cnn3 · scratch", "image": digit, "cam": np.eye(3), "gradcam": gradcam}
        | {"centers": CNN3_CENTRES, "caption": "class 7 (p=0.91), predicted 7", "target": 7},
        {"label": "cnn2 · torch", "image": digit, "cam": np.eye(11), "gradcam": np.eye(11)}
        | {"caption": "class 7 (p=0.99), predicted 7", "target": 7},
    ]
    fig = cam_comparison_figure(rows, title="Class activation maps, test image 0, true label 7")
    fig.canvas.draw()
    return fig


def test_an_empty_gradcam_says_why_inside_its_panel_without_touching_a_caption(digit):
    fig = _comparison(digit, gradcam=np.zeros((3, 3)))
    texts = _texts(fig)
    notes = [box for text, box in texts if text.startswith("no positive evidence")]
    assert [t for t, _ in texts if t.startswith("no positive")] == [
        "no positive evidence\nfor class 7\nat this layer"
    ]
    overlapping = [(a, b) for (a, x), (b, y) in combinations(texts, 2) if x.overlaps(y)]
    assert overlapping == []
    renderer = fig.canvas.get_renderer()
    grad_panel = fig.axes[3].get_window_extent(renderer)  # row 0, Grad-CAM overlay
    assert grad_panel.x0 <= notes[0].x0
    assert notes[0].x1 <= grad_panel.x1
    assert grad_panel.y0 <= notes[0].y0
    assert notes[0].y1 <= grad_panel.y1


def test_figures_carry_a_colour_bar_and_say_how_maps_are_scaled(digit):
    for fig in (
        _comparison(digit, gradcam=np.eye(3)),
        cam_panels_figure(digit, np.eye(3), centers=CNN3_CENTRES, target=3),
    ):
        fig.canvas.draw()
        texts = [text for text, _ in _texts(fig)]
        assert any(SCALE_NOTE in text for text in texts)
        assert "blue = weakest evidence in that map" in SCALE_NOTE
        assert "evidence in that map" in texts  # the colour bar's label
        assert not any("none" in text for text in texts)


def test_a_small_map_paints_no_colour_out_to_the_image_edge(digit):
    coverage = cell_coverage(CNN3_CENTRES, (28, 28))
    assert coverage[7:19, 7:19].min() == 1.0  # within half a spacing (2 px) of the outer centres
    assert coverage[:5].max() == 0.0
    assert coverage[21:].max() == 0.0
    assert coverage[:, :5].max() == 0.0
    assert coverage[:, 21:].max() == 0.0
    heat, _ = normalize_map(np.random.default_rng(0).random((28, 28)))
    painted = overlay(digit, heat, 0.5 * coverage)
    grey = np.repeat(digit[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(painted[:4], grey[:4])  # the top rows stay the plain digit
    assert not np.array_equal(painted[10:14], grey[10:14])


def test_cnn2s_eleven_by_eleven_map_keeps_its_colour_wherever_it_has_cells():
    centres = np.arange(11) * 2.0 + 3.5  # cnn2's receptive-field centres, 3.5 .. 23.5
    coverage = cell_coverage((centres, centres), (28, 28))
    assert coverage[3:25, 3:25].min() == 1.0
    assert coverage[0].max() == coverage[27].max() == 0.0
