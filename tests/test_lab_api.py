"""The lab's JSON API through FastAPI's test client, over three short real trainings and one
broken run directory: every endpoint, and every error it can answer."""

from __future__ import annotations

import base64
import io
import itertools
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")
from fastapi.testclient import TestClient

from cnnlab.lab.app import create_app
from cnnlab.lab.bench import drawn_digit_png

READY = ("cnn2-scratch", "cnn2-torch", "mlp3-scratch")
BROKEN = "half-trained"


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def runs_dir(trained_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-runs")
    for name in READY:
        (root / name).symlink_to(trained_runs[name], target_is_directory=True)
    broken = root / BROKEN  # a config but no checkpoint: training never finished an epoch
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model": "cnn2", "engine": "scratch"}))
    (root / "notes").mkdir()  # no config: not a run, not listed
    return root


@pytest.fixture(scope="module")
def client(runs_dir, mnist_dir):
    return TestClient(create_app(runs_dir, data_dir=mnist_dir))


def post_png(client, path: str, body: bytes):
    return client.post(path, content=body, headers={"Content-Type": "image/png"})


def test_runs_lists_every_run_and_the_broken_one_with_its_reason(client):
    runs = client.get("/api/runs").json()["runs"]
    assert [r["id"] for r in runs] == [*READY, BROKEN]  # twins side by side, broken last
    by_id = {r["id"]: r for r in runs}
    assert by_id["cnn2-torch"] | {"test_accuracy": None} == by_id["cnn2-torch"] | {
        "model": "cnn2",
        "engine": "torch",
        "engine_label": "PyTorch",
        "cam": "cam",
        "default_method": "cam",
        "broken": False,
        "error": None,
        "test_accuracy": None,
    }
    assert by_id["mlp3-scratch"]["cam"] is None
    assert by_id[BROKEN]["broken"]
    assert "train it first" in by_id[BROKEN]["error"]
    assert "notes" not in by_id


def test_predict_answers_for_every_ready_run_with_its_default_map(client):
    answer = post_png(client, "/api/predict", drawn_digit_png())
    assert answer.status_code == 200
    body = answer.json()
    assert body["input"].startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(body["input"].split(",", 1)[1]))) as img:
        assert img.size == (28, 28)
    assert [r["run"] for r in body["runs"]] == list(READY)
    for result in body["runs"]:
        assert len(result["probabilities"]) == 10
        assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert result["prediction"] == int(np.argmax(result["probabilities"]))
        # the default map: CAM for the CNNs, integrated gradients for the MLP
        expected = "integrated_gradients" if result["run"].startswith("mlp3") else "cam"
        assert result["method"] == expected
        assert result["map"].startswith("data:image/png;base64,")
    assert body["milliseconds"] >= 0


def test_predict_reads_the_same_picture_as_a_json_data_url(client):
    raw = post_png(client, "/api/predict", drawn_digit_png()).json()
    data_url = "data:image/png;base64," + base64.b64encode(drawn_digit_png()).decode()
    as_json = client.post("/api/predict", json={"image": data_url}).json()
    assert as_json["input"] == raw["input"]
    assert [r["probabilities"] for r in as_json["runs"]] == [
        r["probabilities"] for r in raw["runs"]
    ]


def test_predict_prepares_the_picture_exactly_as_cnnlab_predict(client, trained_runs, tmp_path):
    from cnnlab.cli import main

    path = tmp_path / "seven.png"
    path.write_bytes(drawn_digit_png())
    lab = post_png(client, "/api/predict", path.read_bytes()).json()["runs"][0]
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["predict", str(trained_runs["cnn2-scratch"]), str(path), "--json"]) == 0
    cli = json.loads(out.getvalue())[0]
    assert lab["prediction"] == cli["prediction"]
    assert lab["probabilities"] == pytest.approx(cli["probabilities"], abs=1e-5)


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"not a picture", "image/png", "not an image that can be read"),
        (png(np.full((40, 40), 255, np.uint8)), "image/png", "looks blank"),
        (b"", "image/png", "has no image"),
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"image": "http://example.com/x.png"}', "application/json", "data URL"),
        (b'{"image": "data:image/png;base64,@@@"}', "application/json", "not valid base64"),
    ],
)
def test_undecodable_or_blank_pictures_get_400_with_one_sentence(client, body, content_type, words):
    answer = client.post("/api/predict", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_a_body_over_2_mb_gets_413_whether_or_not_its_length_is_announced(client):
    big = b"\0" * (2 * 2**20 + 1)
    assert post_png(client, "/api/predict", big).status_code == 413
    streamed = client.post(
        "/api/predict",
        content=iter([big[: 2**20], big[2**20 :]]),
        headers={"Content-Type": "image/png"},
    )
    assert streamed.status_code == 413
    assert "2 MB" in streamed.json()["error"]


def test_activations_give_every_layer_the_filters_and_the_scores(client):
    answer = post_png(client, "/api/activations/cnn2-torch", drawn_digit_png())
    assert answer.status_code == 200
    body = answer.json()
    shapes = {layer["name"]: layer["shape"] for layer in body["layers"]}
    assert shapes["conv1"] == [16, 26, 26]
    assert shapes["pool1"] == [16, 13, 13]
    assert shapes["fc"] == [10]
    conv2 = next(layer for layer in body["layers"] if layer["name"] == "conv2")
    # 3x3 conv, 2x2 pool, 3x3 conv: each conv2 cell sees 8x8 input pixels, 2 apart.
    assert conv2["receptive_field"] == {"size": 8.0, "jump": 2.0, "start": 3.5}
    assert body["filters"]["shape"] == [16, 1, 3, 3]
    assert np.argmax(body["probabilities"]) == np.argmax(body["logits"])


def test_activations_of_the_numpy_twin_match_the_pytorch_one(client):
    numpy_run = post_png(client, "/api/activations/cnn2-scratch", drawn_digit_png()).json()
    torch_run = post_png(client, "/api/activations/cnn2-torch", drawn_digit_png()).json()
    assert numpy_run["logits"] == pytest.approx(torch_run["logits"], abs=1e-3)


def test_an_mlp_has_strips_and_no_filters(client):
    body = post_png(client, "/api/activations/mlp3-scratch", drawn_digit_png()).json()
    assert body["filters"] is None
    assert [layer["shape"] for layer in body["layers"]][:2] == [[256], [256]]


def test_confusion_grid_and_one_cell(client, mnist):
    grid = client.get("/api/confusion/mlp3-scratch").json()
    matrix = np.array(grid["matrix"])
    assert matrix.shape == (10, 10)
    assert matrix.sum() == 10_000
    assert (matrix.sum(axis=1) == np.bincount(mnist.test_labels, minlength=10)).all()
    assert grid["accuracy"] > 0.8
    cell = client.get("/api/confusion/mlp3-scratch", params={"true": 4, "predicted": 9}).json()
    assert cell["count"] == matrix[4, 9]
    scores = [image["score"] for image in cell["images"]]
    assert scores == sorted(scores, reverse=True)
    assert all(mnist.test_labels[image["index"]] == 4 for image in cell["images"])


@pytest.mark.parametrize("query", [{"true": 4}, {"true": 4, "predicted": 12}])
def test_a_half_or_out_of_range_cell_gets_400(client, query):
    answer = client.get("/api/confusion/mlp3-scratch", params=query)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_test_image_is_the_28x28_png_of_that_index(client, mnist):
    answer = client.get("/api/test-image/7")
    assert answer.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(answer.content)) as img:
        assert (np.asarray(img) == mnist.test_images[7]).all()
    assert client.get("/api/test-image/10000").status_code == 404
    assert client.get("/api/test-image/-1").status_code == 404


def test_curves_of_several_runs(client):
    body = client.get("/api/curves", params={"runs": "cnn2-scratch,mlp3-scratch"}).json()
    assert [r["run"] for r in body["runs"]] == ["cnn2-scratch", "mlp3-scratch"]
    for run in body["runs"]:
        assert run["epochs"] == [1]
        assert 0.5 < run["val_accuracy"][0] <= 1.0


@pytest.mark.parametrize(
    "path",
    [
        "/api/confusion/..%2F..%2Fetc%2Fpasswd",
        "/api/confusion/%2Fetc%2Fpasswd",
        "/api/confusion/../../etc/passwd",
        "/api/confusion/nonexistent-run",
        "/api/confusion/notes",
        "/api/curves?runs=..%2Fnotes",
        "/api/curves?runs=%2Fetc",
        "/static/../app.py",
        "/static/%2e%2e/runs.py",
        "/static/..%2F..%2Fcnnlab%2Frundir.py",
        "/etc/passwd",
    ],
)
def test_paths_never_reach_files_outside_the_listed_runs_and_static(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "error" in answer.json()


def test_a_traversal_run_id_gets_404_on_post(client):
    answer = post_png(client, "/api/activations/..%2Fcnn2-torch", drawn_digit_png())
    assert answer.status_code == 404


def test_a_broken_run_answers_400_and_the_others_still_serve(client):
    answer = post_png(client, "/api/activations/" + BROKEN, drawn_digit_png())
    assert answer.status_code == 400
    assert "broken" in answer.json()["error"]
    assert len(post_png(client, "/api/predict", drawn_digit_png()).json()["runs"]) == len(READY)


def test_the_page_and_its_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "lab.js" in page.text
    for name in ("lab.js", "lab.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_a_new_or_changed_run_directory_is_picked_up_without_a_restart(client, runs_dir):
    late = runs_dir / "late-run"
    late.mkdir()
    (late / "config.json").write_text(json.dumps({"model": "nonsense", "engine": "scratch"}))
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert runs["late-run"]["broken"]
    (late / "config.json").unlink()
    late.rmdir()
    assert "late-run" not in {r["id"] for r in client.get("/api/runs").json()["runs"]}


@pytest.mark.parametrize("name", ["cnn2-scratch", "mlp3-scratch"])
def test_the_inside_view_captures_each_output_before_an_in_place_relu_changes_it(client, name):
    from cnnlab.lab.activations import layer_outputs

    run = client.app.state.registry.get(name)
    x = np.random.default_rng(0).normal(size=(1, 1, 28, 28))  # float64: casts do not copy
    outputs = layer_outputs(run, x)
    for (_, kind, before), (_, next_kind, after) in itertools.pairwise(outputs):
        if next_kind == "ReLU" and kind in ("Conv2d", "Linear"):
            assert before.min() < 0  # the negatives the ReLU then removes
            assert np.array_equal(after, np.maximum(before, 0))


def test_a_linear_layer_and_its_relu_look_different(client):
    layers = post_png(client, "/api/activations/mlp3-scratch", drawn_digit_png()).json()["layers"]
    by_name = {layer["name"]: layer for layer in layers}
    assert by_name["fc1"]["signed"]
    assert not by_name["relu1"]["signed"]
    assert by_name["fc1"]["image"] != by_name["relu1"]["image"]
