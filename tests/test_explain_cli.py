"""`cnnlab explain`: the JSON the issue gives, pictures only where asked, one sentence and exit
code 2 for bad input with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.explain import INPUT_METHODS, METHOD_NAMES

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def explained(trained_runs, mnist_dir, tmp_path_factory):
    """All methods of test image 3 for cnn2 in both engines and mlp3, with --json and --out."""
    out = tmp_path_factory.mktemp("explain")
    runs = [str(trained_runs[k]) for k in ("cnn2-scratch", "cnn2-torch", "mlp3-scratch")]
    argv = ["explain", *runs, "--index", "3", "--data-dir", str(mnist_dir)]
    code = main([*argv, "--json", str(out / "maps.json"), "--out", str(out / "figures")])
    return code, json.loads((out / "maps.json").read_text()), out / "figures"


def test_explain_writes_one_record_per_run_with_every_method_the_network_has(explained):
    code, records, _ = explained
    assert code == 0
    assert [len(r["methods"]) for r in records] == [len(METHOD_NAMES)] * 2 + [len(INPUT_METHODS)]
    for record in records:
        assert record["index"] == 3
        assert record["image"] is None
        assert record["target"] == record["predicted"] == int(np.argmax(record["probabilities"]))
        for name, method in record["methods"].items():
            assert np.asarray(method["map"]).shape == (28, 28), name
            assert method["seconds"] > 0
            layer = method["layer_map"]
            assert (layer is None) == (name in INPUT_METHODS), name
            if layer is not None:
                assert np.asarray(layer).shape == (11, 11)  # cnn2's last conv map
        ig = record["methods"]["integrated_gradients"]
        assert abs(ig["completeness_error"]) < 0.05 * np.abs(ig["map"]).sum()
        assert record["methods"]["occlusion"]["window"] == 4
        assert record["methods"]["smoothgrad"]["samples"] == 25


def test_explain_draws_one_figure_per_run_into_out(explained):
    _, _, figures = explained
    names = sorted(p.name for p in figures.glob("*.png"))
    assert names == [
        "explain_test3_01_cnn2-scratch.png",
        "explain_test3_02_cnn2-torch.png",
        "explain_test3_03_mlp3-scratch.png",
    ]


def test_a_chosen_target_and_method_list_and_an_image_file(trained_runs, tmp_path, mnist):
    from PIL import Image

    picture = tmp_path / "digit.png"
    Image.fromarray(mnist.test_images[0]).save(picture)
    out = tmp_path / "one.json"
    argv = ["explain", str(trained_runs["cnn2-torch"]), "--image", str(picture)]
    assert main([*argv, "--methods", "gradcam,saliency", "--target", "4", "--json", str(out)]) == 0
    record = json.loads(out.read_text())  # one run: one object, not a list
    assert record["target"] == 4
    assert record["image"] == str(picture)
    assert record["index"] is None
    assert list(record["methods"]) == ["gradcam", "saliency"]
    assert not list(tmp_path.glob("*.png"))[1:]  # no figure without --out: only the picture


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--methods", "saliency,nosuch"], "names no method 'nosuch'"),
        (["--methods", ","], "--methods is empty"),
        (["--target", "10"], "--target 10 is not a class"),
        (["--index", "10000"], "--index 10000 is out of range"),
        (["--methods", "cam"], "mlp3 has no conv layer, which cam needs"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(
    trained_runs, mnist_dir, tmp_path, capsys, extra, words
):
    run = trained_runs["mlp3-scratch"]
    index = [] if "--index" in extra else ["--index", "0"]
    out, figures = tmp_path / "maps.json", tmp_path / "figures"
    argv = ["explain", str(run), *index, *extra, "--data-dir", str(mnist_dir)]
    assert main([*argv, "--json", str(out), "--out", str(figures)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert err.count("\n") == 0
    assert not out.exists()
    assert not figures.exists()


def test_a_json_path_that_is_a_folder_is_refused_before_any_work(trained_runs, tmp_path, capsys):
    argv = ["explain", str(trained_runs["mlp3-scratch"]), "--index", "0", "--json", str(tmp_path)]
    assert main(argv) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_colour_map_is_summed_over_channels_and_kept_per_channel():
    from pathlib import Path

    from cnnlab.explain.runs import run_record

    attribution = np.arange(3 * 2 * 2, dtype=np.float64).reshape(1, 3, 2, 2)
    results = {
        "occlusion": {"map": attribution, "seconds": 0.5, "window": 4, "fill": np.float64(-0.4)},
        "gradcam": {"map": attribution, "layer_map": np.ones((1, 1)), "seconds": 0.1},
    }
    record = run_record(Path("runs/x"), 0, None, 1, 1, np.full(10, 0.1), results)
    json.dumps(record)  # plain JSON types only
    occlusion = record["methods"]["occlusion"]
    assert occlusion["map"] == attribution[0].sum(axis=0).tolist()
    assert occlusion["map_channels"] == attribution[0].tolist()
    assert occlusion["layer_map"] is None
    assert occlusion["fill"] == -0.4
    assert record["methods"]["gradcam"]["layer_map"] == [[1.0]]
    grey = run_record(Path("runs/x"), 0, None, 1, 1, np.full(10, 0.1), {
        "saliency": {"map": attribution[:, :1], "seconds": 0.1}
    })  # fmt: skip
    assert "map_channels" not in grey["methods"]["saliency"]


def test_a_picture_of_another_shape_than_the_run_takes_is_one_sentence(
    trained_runs, tmp_path, monkeypatch, capsys
):
    import cnnlab.data.imageprep

    # as if the picture were read in colour: (3, 28, 28) where the run takes (1, 28, 28)
    monkeypatch.setattr(
        cnnlab.data.imageprep, "load_digit", lambda path: np.zeros((3, 28, 28), np.uint8)
    )
    argv = ["explain", str(trained_runs["mlp3-scratch"]), "--image", "any.png"]
    assert main([*argv, "--json", str(tmp_path / "m.json")]) == 2
    assert "takes 1x28x28 images" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
