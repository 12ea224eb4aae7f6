"""top3.png: scores that fit under a digit, tell near-certain images apart, and never overlap."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from cnnlab.analysis.metrics import top_scoring_images
from cnnlab.viz.grids import top_scoring_figure
from cnnlab.viz.scores import short_score


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.99999999999944, "1 − 5.6e-13"),
        (0.9999999, "1 − 1.0e-07"),
        (0.8734, "0.8734"),
        (0.99903, "1 − 9.7e-04"),  # with 0.99897 below: four decimals gave 0.9990 twice
        (0.99897, "1 − 1.0e-03"),
        (2.6e-08, "2.6e-08"),
        (1.0, "1"),
        (0.0, "0.0000"),
    ],
)
def test_short_score_writes_near_certain_scores_by_their_distance_from_one(p, text):
    assert short_score(p) == text


def test_the_default_runs_top_scores_are_told_apart_in_eleven_characters():
    scores = [0.99999999999944, 0.99999999999919, 0.99999999999880]
    texts = [short_score(p) for p in scores]
    assert len(set(texts)) == 3
    assert max(len(t) for t in texts) <= 11


def _hard_case():
    """Every class's top images near-certain (the longest labels), one wrong image per row."""
    rng = np.random.default_rng(3)
    n = 40
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 10
    probabilities = np.full((n, 10), 1e-14)
    probabilities[np.arange(n), labels] = 1 - rng.uniform(1e-13, 9e-13, size=n)
    # image 10 + c is scored highest for class c + 1 but is labelled c: a red "true c"
    for c in range(10):
        probabilities[10 + c, (c + 1) % 10] = 1 - 1e-14
    return images, labels, probabilities


def _label_boxes(fig):
    """The window extents of every visible, non-empty text: titles, axis labels, fig texts."""
    renderer = fig.canvas.get_renderer()
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for t in texts
        if t.get_visible() and t.get_text()
    ]


def test_no_two_labels_of_top3_overlap_and_none_covers_a_digit():
    images, labels, probabilities = _hard_case()
    top = top_scoring_images(probabilities, 3)
    fig = top_scoring_figure(images, labels, probabilities, top)
    fig.canvas.draw()
    boxes = _label_boxes(fig)
    assert sum(text.startswith("true ") for text, _ in boxes) >= 10
    assert sum(text.startswith("1 − ") for text, _ in boxes) >= 20
    overlapping = [
        (a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if box_a.overlaps(box_b)
    ]
    assert overlapping == []
    renderer = fig.canvas.get_renderer()
    digits = [ax.get_window_extent(renderer) for ax in fig.axes]
    covering = [text for text, box in boxes for digit in digits if box.overlaps(digit)]
    assert covering == []
    width, height = fig.canvas.get_width_height()
    for text, box in boxes:
        assert 0 <= box.x0 <= box.x1 <= width, text
        assert 0 <= box.y0 <= box.y1 <= height, text


def test_tensorboard_tags_each_class_image_with_its_scores(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboardX import SummaryWriter

    from cnnlab.analysis.tensorboard_summary import write_top3_images

    images, labels, probabilities = _hard_case()
    top = top_scoring_images(probabilities, 3)
    writer = SummaryWriter(logdir=str(tmp_path))
    write_top3_images(writer, images, probabilities, top, labels)
    writer.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"images": 0})
    acc.Reload()
    tags = [t for t in acc.Tags()["images"] if t.startswith("top3/")]
    assert len(tags) == 10
    for c in range(10):
        expected = [short_score(probabilities[i, c]) for i in top[c]]
        wrong = [f" (true {labels[i]})" if labels[i] != c else "" for i in top[c]]
        tag = f"top3/class {c}: " + " · ".join(s + w for s, w in zip(expected, wrong, strict=True))
        assert tag in tags
        (event,) = acc.Images(tag)
        assert (event.width, event.height) == (3 * 118, 118)
    assert "top3/class 0: 1 − 1.0e-14 (true 9) · 1 − " in " ".join(tags)
