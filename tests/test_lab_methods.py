"""The lab's method chooser through its API: every attribution method for every run, the MLP
answering with integrated gradients, the inside view with any method's map, and the maps the
lab draws equal to `cnnlab.explain`'s."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")
from fastapi.testclient import TestClient

from cnnlab.explain import METHOD_NAMES, available
from cnnlab.lab.app import create_app
from cnnlab.lab.bench import drawn_digit_png

RUNS = ("cnn2-scratch", "cnn2-torch", "mlp3-scratch")


@pytest.fixture(scope="module")
def client(trained_runs, mnist_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-method-runs")
    for name in RUNS:
        (root / name).symlink_to(trained_runs[name], target_is_directory=True)
    return TestClient(create_app(root, data_dir=mnist_dir))


def predict(client, method: str | None = None) -> dict:
    params = {"method": method} if method else {}
    answer = client.post(
        "/api/predict",
        params=params,
        content=drawn_digit_png(),
        headers={"Content-Type": "image/png"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def pixels(data_url: str) -> np.ndarray:
    with Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))) as img:
        return np.asarray(img.convert("RGB"))


def test_the_runs_list_each_runs_methods_and_default(client):
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert runs["cnn2-torch"]["methods"] == list(METHOD_NAMES)
    assert runs["mlp3-scratch"]["methods"] == [
        "saliency",
        "input_x_gradient",
        "integrated_gradients",
        "smoothgrad",
        "occlusion",
        "guided_backprop",
    ]
    assert runs["mlp3-scratch"]["default_method"] == "integrated_gradients"


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_method_gives_every_run_a_map(client, method):
    body = predict(client, method)
    assert [r["run"] for r in body["runs"]] == list(RUNS)
    for result in body["runs"]:
        spec = client.app.state.registry.get(result["run"]).spec
        if method in available(spec):
            assert (result["method"], result["note"]) == (method, None)
        else:  # the MLP and the CAM family: its default, and why
            assert result["method"] == "integrated_gradients"
            assert result["note"] == (
                f"mlp3 has no conv layer, which {method} needs; showing integrated_gradients"
            )
        assert pixels(result["map"]).shape == (28, 28, 3)


def test_the_methods_draw_different_maps(client):
    maps = {m: predict(client, m)["runs"][1]["map"] for m in ("cam", "saliency", "occlusion")}
    assert len(set(maps.values())) == 3


def test_the_mlps_default_map_is_explains_integrated_gradients(client, trained_runs):
    """The overlay the lab draws is |integrated gradients| of the predicted class, as
    `cnnlab.explain` computes them for the run, over the input the lab shows."""
    from cnnlab.data import MEAN, STD, normalize
    from cnnlab.explain import explain_image
    from cnnlab.explain.runs import network_of
    from cnnlab.rundir import RunDir
    from cnnlab.viz.maps import overlay

    body = predict(client)
    mlp = body["runs"][2]
    assert mlp["method"] == "integrated_gradients"
    digit = pixels(body["input"])[..., 0]  # (28, 28) grey
    engine, _ = RunDir(trained_runs["mlp3-scratch"]).load_trained("cpu")
    x = normalize(digit[None]).astype(np.float64)
    target, _, results = explain_image(network_of(engine), x, ["integrated_gradients"], -MEAN / STD)
    assert target == mlp["prediction"]
    magnitude = np.abs(results["integrated_gradients"]["map"][0].sum(axis=0))
    heat = magnitude / magnitude.max()
    expected = overlay(digit, heat, 0.6 * heat)
    assert np.abs(pixels(mlp["map"]).astype(int) - expected.astype(int)).max() <= 1


def test_the_inside_view_shows_the_chosen_methods_map(client):
    def inside(run: str, method: str) -> dict:
        answer = client.post(
            f"/api/activations/{run}",
            params={"method": method},
            content=drawn_digit_png(),
            headers={"Content-Type": "image/png"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["attribution"]

    saliency = inside("cnn2-torch", "saliency")
    assert (saliency["method"], saliency["note"]) == ("saliency", None)
    assert saliency["map"] == predict(client, "saliency")["runs"][1]["map"]
    fallback = inside("mlp3-scratch", "layercam")
    assert fallback["method"] == "integrated_gradients"
    assert "layercam" in fallback["note"]
    assert pixels(inside("mlp3-scratch", "guided_backprop")["map"]).shape == (28, 28, 3)


@pytest.mark.parametrize("path", ["/api/predict", "/api/activations/cnn2-torch"])
def test_an_unknown_method_gets_400_with_the_names(client, path):
    answer = client.post(
        path,
        params={"method": "lime"},
        content=drawn_digit_png(),
        headers={"Content-Type": "image/png"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(
        "there is no method 'lime'; ask for default or one of:"
    )
    assert "integrated_gradients" in answer.json()["error"]
