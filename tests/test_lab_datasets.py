"""The lab follows each run's data set (issue 25): class names in every answer, pictures prepared
as `cnnlab predict` prepares them for that set, the test set of the run's own set, and the
drawing pad only for 28x28 single-channel sets. Runs: MNIST's cnn2, a tiny Fashion-MNIST cnn2
(2,000 images, one epoch) and a tiny colour folder set of 20x20 pictures in three classes."""

from __future__ import annotations

import base64
import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")
from fastapi.testclient import TestClient

from cnnlab.lab.app import create_app
from cnnlab.lab.bench import drawn_digit_png

FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
COLOURS = ("blue", "green", "red")
ARCH = "Conv2d(4, 3) ReLU MaxPool2d(2) Flatten Linear(3)"


def colour_folder(root):
    """Eight 20x20 pictures per class, a bright block in the class's channel."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(COLOURS):
        (root / name).mkdir(parents=True)
        for i in range(8):
            px = rng.integers(0, 60, (20, 20, 3), dtype=np.uint8)
            px[4:-4, 4:-4, c] = 220
            Image.fromarray(px).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory, trained_runs, fashion_dir):
    """A runs folder: MNIST's cnn2-scratch, fashion-cnn2 and colour-tiny; its folder cache in
    the test's own directory."""
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.trainer import train

    base = tmp_path_factory.mktemp("lab-data")
    runs = base / "runs"
    runs.mkdir()
    (runs / "cnn2-scratch").symlink_to(trained_runs["cnn2-scratch"], target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "xdg"))
        common = {"engine": "scratch", "epochs": 1, "out": str(runs), "threads": 1}
        train(
            TrainConfig(
                model="cnn2",
                name="fashion-cnn2",
                dataset="fashion-mnist",
                data_dir=str(fashion_dir),
                train_size=2000,
                val_size=500,
                **common,
            ),
            quiet=True,
        )
        folder = str(colour_folder(base / "pictures"))
        train(TrainConfig(model="tiny", arch=ARCH, name="colour-tiny", dataset=folder, **common))
        yield runs


@pytest.fixture(scope="module")
def client(lab_runs, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(lab_runs.parent / "xdg"))
        yield TestClient(create_app(lab_runs))


def data_of(client) -> dict[str, dict]:
    return {run["id"]: run["data"] for run in client.get("/api/runs").json()["runs"]}


def post(client, body: bytes, **params):
    return client.post(
        "/api/predict", params=params, content=body, headers={"Content-Type": "image/png"}
    )


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_each_run_says_its_data_set_and_whether_it_takes_a_drawing(client):
    data = data_of(client)
    assert data["cnn2-scratch"]["class_names"] == [str(k) for k in range(10)]
    assert data["fashion-cnn2"] | {"name": None} == {
        "key": "fashion-mnist 1x28x28",
        "name": None,
        "title": "Fashion-MNIST",
        "class_names": FASHION_NAMES,
        "image_shape": [1, 28, 28],
        "pad": True,
    }
    colour = data["colour-tiny"]
    assert (colour["class_names"], colour["image_shape"], colour["pad"]) == (
        list(COLOURS),
        [3, 20, 20],
        False,
    )


def test_a_picture_goes_to_the_runs_of_one_data_set_answered_with_its_class_names(client):
    first = post(client, drawn_digit_png()).json()
    assert [r["run"] for r in first["runs"]] == ["cnn2-scratch"]  # the first run's set
    fashion = post(client, drawn_digit_png(), data="fashion-mnist 1x28x28").json()
    assert [r["run"] for r in fashion["runs"]] == ["fashion-cnn2"]
    answer = fashion["runs"][0]
    assert answer["class_name"] == FASHION_NAMES[answer["prediction"]]
    assert answer["method"] == "cam"
    unknown = post(client, drawn_digit_png(), data="cifar-10 3x32x32")
    assert unknown.status_code == 400
    assert unknown.json()["error"].startswith("no ready run was trained on the data set")


@pytest.mark.parametrize("run", ["fashion-cnn2", "colour-tiny"])
def test_the_lab_prepares_a_picture_as_cnnlab_predict_does_for_the_runs_set(
    client, lab_runs, tmp_path, run
):
    from cnnlab.cli import main

    key = data_of(client)[run]["key"]
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 256, (30, 18, 3), dtype=np.uint8)  # colour, another size
    picture[5:25, 4:14, 0] = 250
    path = tmp_path / "picture.png"
    path.write_bytes(png(picture))
    lab = post(client, path.read_bytes(), data=key).json()["runs"][0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["predict", str(lab_runs / run), str(path), "--json"]) == 0
    cli = json.loads(out.getvalue())[0]
    assert (lab["prediction"], lab["class_name"]) == (cli["prediction"], cli["class_name"])
    assert lab["probabilities"] == pytest.approx(cli["probabilities"], abs=1e-5)


def test_the_colour_sets_input_and_map_stay_at_its_size(client):
    key = data_of(client)["colour-tiny"]["key"]
    picture = np.zeros((20, 20, 3), np.uint8)
    picture[4:-4, 4:-4, 2] = 220  # "red"
    body = post(client, png(picture), data=key).json()

    def shape(url):
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
            return np.asarray(img).shape

    assert shape(body["input"]) == (20, 20, 3)
    assert shape(body["runs"][0]["map"]) == (20, 20, 3)
    assert body["runs"][0]["class_name"] in COLOURS


def test_the_confusion_grid_and_test_images_are_the_runs_own_data_set(client, fashion_dir, mnist):
    from cnnlab.data import load_mnist

    fashion = load_mnist(fashion_dir, download=False, progress=False, dataset="fashion-mnist")
    grid = client.get("/api/confusion/fashion-cnn2").json()
    matrix = np.array(grid["matrix"])
    assert grid["class_names"] == FASHION_NAMES
    assert (matrix.sum(axis=1) == np.bincount(fashion.test_labels, minlength=10)).all()
    cell = client.get("/api/confusion/fashion-cnn2", params={"true": 6, "predicted": 0}).json()
    assert all(fashion.test_labels[image["index"]] == 6 for image in cell["images"])
    answer = client.get("/api/test-image/0", params={"run": "fashion-cnn2"})
    with Image.open(io.BytesIO(answer.content)) as img:
        assert (np.asarray(img) == fashion.test_images[0]).all()
    mnist_image = client.get("/api/test-image/0", params={"run": "cnn2-scratch"})
    with Image.open(io.BytesIO(mnist_image.content)) as img:
        assert (np.asarray(img) == mnist.test_images[0]).all()


def test_a_colour_sets_grid_has_its_three_classes_and_colour_test_images(client):
    grid = client.get("/api/confusion/colour-tiny").json()
    assert grid["class_names"] == list(COLOURS)
    assert np.array(grid["matrix"]).shape == (3, 3)
    answer = client.get("/api/test-image/0", params={"run": "colour-tiny"})
    with Image.open(io.BytesIO(answer.content)) as img:
        assert img.mode == "RGB"
        assert img.size == (20, 20)
    out_of_range = client.get("/api/confusion/colour-tiny", params={"true": 3, "predicted": 0})
    assert out_of_range.status_code == 400
    assert out_of_range.json()["error"] == "true and predicted are classes 0-2."


def test_the_page_offers_the_pad_only_for_28x28_grey_sets_and_names_the_classes(
    lab_runs, mnist_dir, monkeypatch
):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    from browser import CHROMIUM_FLAGS, chromium_or_skip, lab_server

    chromium = chromium_or_skip()
    monkeypatch.setenv("XDG_CACHE_HOME", str(lab_runs.parent / "xdg"))  # the folder's cache
    with lab_server(lab_runs, mnist_dir) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        groups = page.eval_on_selector_all(
            "#data option", "(options) => options.map((o) => o.value)"
        )
        assert groups[:2] == ["mnist 1x28x28", "fashion-mnist 1x28x28"]
        assert page.get_attribute("body", "data-pad") == "true"

        page.select_option("#data", "fashion-mnist 1x28x28")
        assert page.get_attribute("body", "data-pad") == "true"
        box = page.locator("#canvas").bounding_box()
        page.mouse.move(box["x"] + 140, box["y"] + 40)
        page.mouse.down()
        page.mouse.move(box["x"] + 140, box["y"] + 240, steps=8)
        page.mouse.up()
        page.wait_for_function("Number(document.body.dataset.answers || 0) > 0")
        card = ".run-card[data-run=fashion-cnn2]"
        assert page.text_content(f"{card} .prediction") in FASHION_NAMES
        labels = page.eval_on_selector_all(
            f"{card} .bar span", "(s) => s.map((e) => e.textContent)"
        )
        assert labels == FASHION_NAMES
        assert page.eval_on_selector_all(".run-card", "(cards) => cards.length") == 1

        page.select_option("#data", groups[2])  # the colour folder set: no pad
        assert page.get_attribute("body", "data-pad") == "false"
        assert not page.is_visible("#clear")
        assert "colour pictures of 20×20" in page.text_content("#pad-hint")
        page.click(".tab[data-view=testset]")
        page.wait_for_selector("#confusion button")
        headers = page.eval_on_selector_all(
            "#confusion tr th", "(h) => h.map((e) => e.textContent)"
        )
        assert headers[1:4] == list(COLOURS)
        # the first cell with test images; its most confident image is answered as the grid says
        predicted = page.evaluate(
            """[...document.querySelectorAll('#confusion button')]
                 .find((b) => Number(b.textContent) > 0).dataset.predicted"""
        )
        page.click(f"#confusion button:not(:text-is('0'))[data-predicted='{predicted}']")
        page.wait_for_selector("#cell-images figure")
        answers = int(page.evaluate("Number(document.body.dataset.answers)"))
        page.click("#cell-images figure")
        page.wait_for_function(f"Number(document.body.dataset.answers) > {answers}")
        prediction = page.text_content(".run-card[data-run=colour-tiny] .prediction")
        assert prediction == COLOURS[int(predicted)]
        assert page.evaluate("document.querySelector('#input').naturalWidth") == 20
        browser.close()
