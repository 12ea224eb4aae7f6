"""`cnnlab predict` on digits drawn with a font, dark-on-light and light-on-dark."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cnnlab.analysis.metrics import format_probability, top_classes
from cnnlab.cli import main


def _draw_digit(path, digit: int, size: int, shift: tuple[int, int], light_background: bool):
    """A digit in Pillow's bundled font on a canvas of another size, off-centre."""
    canvas = Image.new("L", (size + 60, size + 40), 255 if light_background else 0)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(canvas)
    ink = 0 if light_background else 255
    draw.text((20 + shift[0], 5 + shift[1]), str(digit), fill=ink, font=font)
    canvas.save(path)


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    files = {}
    for digit in range(10):
        for size, shift, light in ((90, (0, 0), True), (60, (15, 8), False), (140, (-10, 4), True)):
            path = folder / f"{digit}_{size}_{'light' if light else 'dark'}.png"
            _draw_digit(path, digit, size, shift, light)
            files[path] = digit
    return files


@pytest.mark.parametrize("run", ["cnn2-scratch", "cnn2-torch"])
def test_predict_classifies_most_drawn_digits(run, trained_runs, digit_files, capsys):
    args = ["predict", str(trained_runs[run]), *map(str, digit_files), "--json"]
    assert main(args) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == len(digit_files)
    truth = {str(path): digit for path, digit in digit_files.items()}
    wrong = [
        (r["file"].split("/")[-1], r["prediction"])
        for r in results
        if r["prediction"] != truth[r["file"]]
    ]
    correct = len(results) - len(wrong)
    print(f"{run}: {correct}/{len(results)} drawn digits classified correctly; wrong: {wrong}")
    # a one-epoch model on 6,000 images, and typeset digits are not handwriting: most, not all
    assert correct > len(results) / 2
    for r in results:
        assert len(r["probabilities"]) == 10
        assert abs(sum(r["probabilities"]) - 1) < 1e-4


def test_a_bad_image_is_reported_and_the_others_still_classified(
    tmp_path, trained_runs, digit_files, capsys
):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    good = next(iter(digit_files))
    args = ["predict", str(trained_runs["cnn2-scratch"]), str(broken), str(good), str(blank)]
    assert main([*args, "--json"]) == 2
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert [("error" in r) for r in results] == [True, False, True]
    assert "broken.png" in results[0]["error"]
    assert "blank.png" in results[2]["error"]
    assert "Traceback" not in captured.err


def test_predict_cam_writes_only_into_out_and_keeps_same_named_images_apart(
    tmp_path, trained_runs, digit_files, capsys, monkeypatch
):
    run_dir = trained_runs["cnn2-torch"]
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    sevens = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sevens.append(tmp_path / folder / "7.png")
        _draw_digit(sevens[-1], 7, 90 if folder == "a" else 60, (0, 0), folder == "a")
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(run_dir), *map(str, sevens), "--cam"]) == 0
    out = capsys.readouterr().out
    assert "top 3:" in out
    figures = [line.split("CAM figure:")[1].strip() for line in out.splitlines() if "CAM" in line]
    assert len(set(figures)) == 2
    for figure in figures:
        assert (tmp_path / figure).parent == tmp_path / "predictions"  # the default --out
        with Image.open(tmp_path / figure) as image:
            assert image.width > 200
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before


def test_predict_cam_on_an_mlp_says_it_needs_a_cnn(trained_runs, digit_files, capsys):
    path = next(iter(digit_files))
    assert main(["predict", str(trained_runs["mlp3-scratch"]), str(path), "--cam"]) == 2
    assert "needs a CNN" in capsys.readouterr().err


def test_predict_ranks_runner_ups_on_full_precision_scores(tmp_path, trained_runs, capsys):
    path = tmp_path / "one.png"
    _draw_digit(path, 1, 90, (0, 0), light_background=True)
    assert main(["predict", str(trained_runs["cnn2-torch"]), str(path), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    probabilities, logits = np.array(result["probabilities"]), np.array(result["logits"])
    assert result["top3"] == list(np.argsort(-logits, kind="stable")[:3])
    assert result["top3"] == list(np.argsort(-probabilities, kind="stable")[:3])
    # full precision: the JSON numbers are the float64 softmax of the logits, not rounded
    assert np.allclose(probabilities, np.exp(logits) / np.exp(logits).sum(), rtol=1e-12, atol=0)
    assert main(["predict", str(trained_runs["cnn2-torch"]), str(path)]) == 0
    table = capsys.readouterr().out
    ranked = table.split("top 3:")[1].split(",")
    assert [int(item.split("(")[0]) for item in ranked] == result["top3"]


def test_tiny_runner_ups_keep_their_order():
    # a drawn 1 of a confident network: rounded to 6 decimals, every runner-up would tie at 0
    probabilities = np.full(10, 1e-12)
    probabilities[[1, 7, 4]] = [1 - 2.6e-8 - 1.7e-8, 2.6e-8, 1.7e-8]
    assert top_classes(probabilities).tolist() == [1, 7, 4]
    assert top_classes(np.log(probabilities)).tolist() == [1, 7, 4]
    assert [format_probability(p) for p in probabilities[[7, 4]]] == ["2.6e-08", "1.7e-08"]
