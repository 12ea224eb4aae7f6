"""The lab isolates runs and answers every error as `{"error": sentence}` with a 4xx: damaged or
oversized run directories are listed with their reasons while the other runs keep answering,
`cnnlab lab` still starts over them, and bad queries, deep JSON and repeated ids are handled."""

from __future__ import annotations

import json
import shutil
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")

from fastapi.testclient import TestClient

from browser import lab_server
from cnnlab.lab import app as lab_app
from cnnlab.lab.app import create_app
from cnnlab.lab.bench import drawn_digit_png

READY = ("cnn2-scratch", "cnn2-torch")
HUGE = {
    "huge-linear": ("Flatten Linear(1000000000) Linear(10)", "795,000,000,010 parameters"),
    "wide-maps": (
        "Conv2d(64, 3, padding=150) ReLU AdaptiveAvgPool2d(1) Flatten Linear(10)",
        "13,603,466 numbers for one image",
    ),
}


@pytest.fixture(scope="module")
def arch_run(tmp_path_factory, mnist_dir):
    """A run of the user's own architecture string (seconds to train)."""
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.trainer import train

    cfg = TrainConfig(
        model="own-net",
        arch="Conv2d(4, 3) ReLU MaxPool2d(2) Flatten Linear(10)",
        epochs=1,
        train_size=640,
        val_size=200,
        out=str(tmp_path_factory.mktemp("arch-run")),
        data_dir=str(mnist_dir),
        threads=1,
    )
    return train(cfg, quiet=True)


@pytest.fixture(scope="module")
def runs_dir(trained_runs, arch_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-isolation-runs")
    for name in READY:
        (root / name).symlink_to(trained_runs[name], target_is_directory=True)
    (root / "own-net").symlink_to(arch_run, target_is_directory=True)
    diverged = shutil.copytree(trained_runs["cnn2-scratch"], root / "diverged")
    with np.load(diverged / "checkpoint.npz", allow_pickle=False) as saved:
        arrays = dict(saved)
    arrays["model/fc.weight"] = np.full_like(arrays["model/fc.weight"], np.nan)
    np.savez(diverged / "checkpoint.npz", **arrays)
    corrupt = shutil.copytree(trained_runs["cnn2-torch"], root / "corrupt")
    (corrupt / "checkpoint.pt").write_bytes(np.random.default_rng(0).bytes(5000))
    config = json.loads((trained_runs["cnn2-scratch"] / "config.json").read_text())
    for name, (arch, _) in HUGE.items():
        (root / name).mkdir()
        (root / name / "config.json").write_text(json.dumps(config | {"model": name, "arch": arch}))
    (root / "deep").mkdir()
    (root / "deep" / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    return root


@pytest.fixture(scope="module")
def client(runs_dir, mnist_dir):
    return TestClient(create_app(runs_dir, data_dir=mnist_dir))


def listed(client) -> dict[str, dict]:
    return {run["id"]: run for run in client.get("/api/runs").json()["runs"]}


def test_damaged_and_oversized_runs_are_listed_with_their_reasons(client):
    runs = listed(client)
    assert not any(runs[name]["broken"] for name in (*READY, "own-net"))
    for name in HUGE:  # refused before anything is built (by check_size, or an earlier check)
        assert runs[name]["broken"]
        assert runs[name]["error"].endswith(".")
    assert "cannot be used" in runs["corrupt"]["error"]
    assert "RecursionError" in runs["deep"]["error"]
    # Warmed up when loaded: a run whose answers are not numbers is broken from the start.
    assert "not finite numbers" in runs["diverged"]["error"]


@pytest.mark.parametrize("name", HUGE)
def test_the_lab_refuses_a_network_too_large_to_hold_with_its_figure(name):
    from cnnlab.errors import UserError
    from cnnlab.lab.runs import check_size
    from cnnlab.models import resolve_spec

    arch, figure = HUGE[name]
    with pytest.raises(UserError, match=figure):
        check_size(resolve_spec(name, arch))


def test_a_run_that_fails_to_answer_is_reported_and_the_others_answer(client, monkeypatch):
    own = client.app.state.registry.get("own-net")

    def out_of_memory(x):
        raise MemoryError

    monkeypatch.setattr(own.engine, "logits", out_of_memory)
    answer = client.post("/api/predict", content=drawn_digit_png())
    assert answer.status_code == 200
    by_run = {result["run"]: result for result in answer.json()["runs"]}
    assert by_run["own-net"] == {
        "run": "own-net",
        "error": "the run own-net is broken: it failed to answer (MemoryError).",
    }
    assert all(by_run[name]["prediction"] in range(10) for name in READY)
    assert listed(client)["own-net"]["broken"]  # until its files change
    again = client.post("/api/predict", content=drawn_digit_png()).json()["runs"]
    assert [result["run"] for result in again] == list(READY)
    inside = client.post("/api/activations/own-net", content=drawn_digit_png())
    assert inside.status_code == 400
    assert "own-net is broken" in inside.json()["error"]


def test_a_run_answers_once_when_it_is_loaded(runs_dir, mnist_dir, monkeypatch):
    from cnnlab.lab import inference

    answered = []
    real = inference.predict_run
    monkeypatch.setattr(
        inference, "predict_run", lambda run, digit: answered.append(run.id) or real(run, digit)
    )
    create_app(runs_dir, data_dir=mnist_dir)
    assert sorted(answered) == sorted([*READY, "own-net", "diverged"])


def test_cnnlab_lab_starts_over_the_broken_runs(runs_dir, mnist_dir):
    with lab_server(runs_dir, mnist_dir) as url, urllib.request.urlopen(url + "api/runs") as answer:
        runs = {run["id"]: run for run in json.load(answer)["runs"]}
    assert {name for name, run in runs.items() if not run["broken"]} == {*READY, "own-net"}


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/api/confusion/cnn2-scratch?true=abc&predicted=1", "parameter 'true' is not valid"),
        ("/api/test-image/seven", "parameter 'index' is not valid"),
    ],
)
def test_a_bad_query_or_path_value_gets_400_with_a_sentence(client, path, words):
    answer = client.get(path)
    assert answer.status_code == 400
    assert answer.json().keys() == {"error"}
    assert words in answer.json()["error"]


def test_deeply_nested_json_gets_400_with_a_sentence(client):
    body = b'{"image": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = client.post("/api/predict", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["error"]


def test_a_wrong_method_gets_405_with_a_sentence(client):
    answer = client.put("/api/runs")
    assert answer.status_code == 405
    assert answer.json() == {"error": "/api/runs does not answer PUT requests."}


def test_curves_ids_are_deduplicated_and_capped(client, monkeypatch):
    repeated = ",".join(["cnn2-scratch", "cnn2-torch"] * 500)
    body = client.get("/api/curves", params={"runs": repeated}).json()
    assert [run["run"] for run in body["runs"]] == ["cnn2-scratch", "cnn2-torch"]
    assert body["note"] is None
    monkeypatch.setattr(lab_app, "MAX_CURVE_RUNS", 1)
    capped = client.get("/api/curves", params={"runs": "cnn2-scratch,cnn2-torch"}).json()
    assert [run["run"] for run in capped["runs"]] == ["cnn2-scratch"]
    assert "first 1 of the 2 runs" in capped["note"]


def test_a_bug_is_still_a_json_sentence(runs_dir, mnist_dir, monkeypatch):
    client = TestClient(create_app(runs_dir, data_dir=mnist_dir), raise_server_exceptions=False)

    def broken_png(index):
        raise TypeError("a bug")

    monkeypatch.setattr(
        lab_app.testset.TestSet, "image_png", lambda self, run, index: broken_png(index)
    )
    answer = client.get("/api/test-image/3")
    assert answer.status_code == 500
    assert answer.json() == {"error": "the lab failed on this request (TypeError); see its log."}
