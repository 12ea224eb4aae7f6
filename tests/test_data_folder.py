"""A folder of your own pictures as a data set: layouts, size and colour, the cache, bad input
in one sentence, and colour pictures of an odd size trained and evaluated in every engine."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from cnnlab.analysis.evaluation import evaluate_run
from cnnlab.data import folder_decode
from cnnlab.data.folder import load_folder
from cnnlab.errors import UserError
from cnnlab.training.config import TrainConfig
from cnnlab.training.trainer import train

FORMATS = ("png", "jpg", "bmp", "gif", "tiff")
ARCH = "Conv2d(4, 3) ReLU MaxPool2d(2) Flatten Linear(3)"


def make_folder(root, classes=("blue", "green", "red"), count=10, size=(24, 20), colour=True):
    """`count` pictures per class, H x W = `size`, a bright block in the class's channel."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            px = rng.integers(0, 60, (*size, 3), dtype=np.uint8)
            px[4:-4, 4:-4, c % 3] = 220
            if not colour:
                px[...] = px.max(axis=2, keepdims=True)
            Image.fromarray(px).save(root / name / f"{i}.{FORMATS[i % len(FORMATS)]}")
    return root


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "cnnlab" / "folders"


def test_classes_split_size_and_colour(tmp_path):
    data = load_folder(make_folder(tmp_path / "pics"))
    assert data.dataset.class_names == ("blue", "green", "red")
    assert data.train_images.shape == (24, 3, 24, 24)  # the longer side, colour kept
    assert data.test_images.shape == (6, 3, 24, 24)  # 20% of each class, stratified
    assert np.bincount(data.test_labels).tolist() == [2, 2, 2]
    # 20 wide in a 24 square: the aspect is kept and two black columns pad each side
    assert (data.train_images[:, :, :, :2] == 0).all()
    assert data.train_images[:, :, :, 2:-2].any()


def test_options_size_channels_and_grey_pictures(tmp_path):
    root = make_folder(tmp_path / "pics")
    data = load_folder(root, image_size=12, channels=1, test_fraction=0.5)
    assert data.train_images.shape == (15, 12, 12)
    grey = load_folder(make_folder(tmp_path / "grey", colour=False))
    assert grey.train_images.ndim == 3  # (N, H, W): one channel, found from the pixels


def test_train_and_test_folders_are_the_split(tmp_path):
    for split, count in (("train", 5), ("test", 2)):
        make_folder(tmp_path / "pics" / split, count=count)
    data = load_folder(tmp_path / "pics")
    assert len(data.train_labels) == 15
    assert len(data.test_labels) == 6


def test_the_cache_starts_at_once_and_follows_a_change(tmp_path, cache, monkeypatch):
    root = make_folder(tmp_path / "pics")
    first = load_folder(root)
    assert not list(root.rglob("*.npz"))  # nothing written beside the pictures
    assert len(list(cache.iterdir())) == 1
    decode = folder_decode.open_all
    monkeypatch.setattr(folder_decode, "open_all", lambda *a: pytest.fail("decoded again"))
    again = load_folder(root)
    assert again.digests == first.digests
    picture = root / "red" / "0.png"
    Image.fromarray(np.full((24, 20, 3), 255, np.uint8)).save(picture)
    os.utime(picture, ns=(1, 1))
    monkeypatch.setattr(folder_decode, "open_all", decode)
    changed = load_folder(root)
    assert changed.digests["pictures"] != first.digests["pictures"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: (r / "solo").mkdir(), "found only 'solo'"),
        (lambda r: (r / "empty").mkdir() or (r / "full").mkdir(), "holds no pictures"),
        (lambda r: _pictures(r / "a", 5) or _pictures(r / "b", 1), "too few for both"),
        (lambda r: _pictures(r / "a", 5) or _pictures(r / "b", 5, notes=2), "2 files in"),
        (lambda r: _pictures(r / "a", 5) or _pictures(r / "b", 5, corrupt=1), "can be read"),
        (lambda r: _pictures(r / "a", 5) or (r / "b").symlink_to("b"), "symbolic-link loop"),
    ],
    ids=["one class", "empty class", "no test picture", "not pictures", "corrupt", "link loop"],
)
def test_bad_folders_are_one_sentence(tmp_path, damage, message):
    root = tmp_path / "pics"
    root.mkdir()
    damage(root)
    with pytest.raises(UserError, match=message) as err:
        load_folder(root)
    assert "\n" not in str(err.value)


def _pictures(folder, count, notes=0, corrupt=0):
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((8, 8), 30 * i, np.uint8)).save(folder / f"{i}.png")
    for i in range(notes):
        (folder / f"note{i}.txt").write_text("not a picture")
    for i in range(corrupt):
        (folder / f"broken{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))


def test_pictures_over_the_pixel_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(folder_decode, "MAX_PIXELS", 100)
    with pytest.raises(UserError, match=r"30 files in .* are not a picture of at most 100"):
        load_folder(make_folder(tmp_path / "pics"))


@pytest.fixture(scope="module")
def colour_runs(tmp_path_factory):
    """Colour 24x20 pictures of 3 classes, brought to 20x20, trained in every engine."""
    base = tmp_path_factory.mktemp("colour")
    root = make_folder(base / "pics<&>")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "xdg"))
        for engine in ("scratch", "torch", "keras"):
            runs[engine] = _train_tiny(base, root, engine)
    return runs


def _train_tiny(base, root, engine):
    cfg = TrainConfig(
        model="tiny",
        arch=ARCH,
        engine=engine,
        epochs=2,
        out=str(base / "runs"),
        name=f"tiny-{engine}",
        dataset=str(root),
        image_size=20,
        threads=1,
    )
    run = train(cfg, quiet=True)
    evaluate_run(run, quiet=True)
    return run


@pytest.mark.parametrize("engine", ["scratch", "torch", "keras"])
def test_colour_pictures_of_an_odd_size_train_and_evaluate(colour_runs, engine):
    run = colour_runs[engine]
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["image_shape"] == [3, 20, 20]
    assert config["data"]["class_names"] == ["blue", "green", "red"]
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["test_count"] == 6
    assert len(evaluation["confusion_matrix"]) == 3
    assert evaluation["accuracy"] == 1.0  # one bright channel per class: easy


def test_the_report_escapes_the_folder_name(colour_runs, tmp_path):
    from cnnlab.cli import main

    out = tmp_path / "report.html"
    assert main(["report", str(colour_runs["torch"]), "-o", str(out)]) == 0
    html = out.read_text()
    assert "pics&lt;&amp;&gt;" in html
    assert "pics<&>" not in html


def test_a_model_that_does_not_fit_the_classes_is_one_sentence(colour_runs, tmp_path):
    root = colour_runs["torch"].parent.parent / "pics<&>"
    cfg = TrainConfig(model="cnn2", dataset=str(root), out=str(tmp_path), threads=1)
    with pytest.raises(UserError, match=r"gives 10 scores but .* has 3 classes.*Linear\(3\)"):
        train(cfg, quiet=True)


def test_a_changed_folder_under_a_resumed_run_is_refused(colour_runs, tmp_path):
    import shutil

    root = colour_runs["torch"].parent.parent / "pics<&>"
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    run = tmp_path / "tiny-scratch"
    shutil.copytree(colour_runs["scratch"], run)
    config = json.loads((run / "config.json").read_text())
    config["dataset"] = config["data"]["dataset"] = str(copy)
    (run / "config.json").write_text(json.dumps(config))
    Image.fromarray(np.zeros((24, 20, 3), np.uint8)).save(copy / "red" / "0.png")
    cfg = TrainConfig(
        model="tiny",
        arch=ARCH,
        epochs=3,
        out=str(tmp_path),
        name="tiny-scratch",
        dataset=str(copy),
        image_size=20,
        threads=1,
    )
    with pytest.raises(UserError, match="not the ones this run was trained on"):
        train(cfg, resume=True, quiet=True, given={"epochs"})


def test_predict_prepares_a_picture_as_the_folder_s_pictures(colour_runs, tmp_path, capsys):
    from cnnlab.cli import main

    picture = tmp_path / "mine.jpg"
    px = np.zeros((60, 50, 3), np.uint8)
    px[10:50, 10:40, 1] = 230  # a green block, larger than the training pictures
    Image.fromarray(px).save(picture)
    assert main(["predict", str(colour_runs["torch"]), str(picture), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["class_name"] == "green"
    assert len(result["probabilities"]) == 3


def test_cam_overlays_keep_the_colour(colour_runs, tmp_path):
    from cnnlab.analysis.cam_runs import draw_cams
    from cnnlab.viz.maps import overlay

    path = draw_cams([colour_runs["torch"]], index=0, out_dir=tmp_path)
    with Image.open(path) as figure:
        caption = figure.info["caption"]
    assert re.search(r"^test image 0 \(true label \d \((blue|green|red)\)\)", caption), caption
    assert re.search(r"predicts \d \((blue|green|red)\) \(\d", caption), caption  # the names
    red = np.zeros((3, 4, 4), np.uint8)
    red[0] = 200
    shown = overlay(red, np.zeros((4, 4)), 0.0)  # no heat: the picture itself, in colour
    assert (shown[..., 0] == 200).all()
    assert (shown[..., 1:] == 0).all()
