"""CAM and Grad-CAM for trained runs: the same test image through every given model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.analysis.cam import METHODS, compute_map
from cnnlab.analysis.metrics import format_probability
from cnnlab.analysis.receptive_field import OUTSIDE_NOTE, receptive_field, upsample_to_input
from cnnlab.data import normalize
from cnnlab.data.source import load_run_data, run_class_names, run_normalization
from cnnlab.errors import UserError
from cnnlab.fileio import write_json
from cnnlab.outdir import OutputDir
from cnnlab.rundir import RunDir
from cnnlab.training.tracking import AnalysisLog
from cnnlab.viz.plots import png_bytes

COMPARISON_FILE = "cam_comparison.png"
DISAGREEMENT_FILE = "cam_comparison_disagreement.png"


def draw_cams(
    run_dirs: list[Path],
    index: int = 0,
    target: int | None = None,
    methods: tuple[str, ...] = METHODS,
    out_dir: Path | None = None,
    data_dir=None,
    device: str = "cpu",
    image: np.ndarray | None = None,
    comparison_name: str | None = None,
) -> Path:
    """Per-model panels (`methods`) into RUN_DIR/cam/ and its TensorBoard; one comparison figure
    with CAM and Grad-CAM of every run into `out_dir`; returns its path.

    The figure is named `comparison_name`, by default cam_comparison_test<index>.png: only
    `cnnlab run` writes the report's own cam_comparison.png. Its caption (`caption_text`: the
    image, its true label, each network's prediction) is stored in the PNG for the report.
    `image` (28, 28) uint8 replaces test image `index` (used by `cnnlab predict --cam`); then
    nothing is written into the runs, only `out_dir / comparison_name`.
    """
    from cnnlab.viz.cam_figures import render_cam_comparison

    run_dirs = [Path(r) for r in run_dirs]
    if comparison_name is None:
        comparison_name = f"cam_comparison_test{index}.png"
    out_dir = Path(out_dir) if out_dir is not None else run_dirs[0].resolve().parent
    into_runs = image is None
    OutputDir(out_dir).check([comparison_name])  # every target checked before the first write
    for run_dir in run_dirs if into_runs else []:
        RunDir(run_dir).check_links()
    if image is None:
        image, name, true_label = _test_image(run_dirs[0], index, data_dir)
    else:
        name, true_label = "image", None
    rows = []
    for run_dir in run_dirs:
        engine, config = RunDir(run_dir).load_trained(device)
        # (1, C, H, W), with the statistics of the run's training pixels
        x = normalize(image[None], *run_normalization(config)).astype(np.float32)
        label = f"{config['model']} · {config['engine']}"
        row = _run_maps(engine, x, target, run_class_names(config))
        if into_runs and "maps" in row:
            panels = [m for m in methods if m in row["maps"]]
            _write_run_panels(run_dir, row, panels, image, name, f"{label} · ")
        rows.append(row | {"label": label, "image": image})
    what = f"test image {index}" if true_label is not None else "the given image"
    names = run_class_names(RunDir(run_dirs[0]).config())
    caption = caption_text(what, true_label, rows, names)
    title = _comparison_title(what, true_label, names)
    picture = render_cam_comparison(rows, title=title)
    png = png_bytes(picture, {"caption": caption})
    return OutputDir(out_dir).write_bytes(comparison_name, png)


def _test_image(run_dir: Path, index: int, data_dir) -> tuple[np.ndarray, str, int]:
    """Test image `index` of the run's data set, its name ("test7") and its true label."""
    data = load_run_data(RunDir(run_dir).config(), data_dir)
    if not 0 <= index < len(data.test_images):
        last = len(data.test_images) - 1
        raise UserError(f"--index {index} is out of range: the test set has 0..{last}.")
    return data.test_images[index], f"test{index}", int(data.test_labels[index])


def _comparison_title(what: str, true_label: int | None, names: list[str]) -> str:
    """ "Class activation maps, test image 7, true label 3 (dress)": the class name only where
    it says more than the label's number."""
    return f"Class activation maps, {what}" + (
        f", true label {named_class(true_label, names)}" if true_label is not None else ""
    )


def _row_caption(k: int, p: np.ndarray, names: list[str]) -> str:
    """ "class 3 (p=0.9973), predicted 3"; with names that are not digits, "class 3 (dress),
    p=0.9731, predicted 6 (shirt)"."""
    predicted, probability = int(p.argmax()), format_probability(p[k])
    if names[k] == str(k) and names[predicted] == str(predicted):
        return f"class {k} (p={probability}), predicted {predicted}"
    return (
        f"class {named_class(k, names)}, p={probability}, predicted {named_class(predicted, names)}"
    )


def named_class(k: int, names: list[str]) -> str:
    """ "3 (dress)": a class's number, with its name where that says more (not for digits)."""
    return str(k) if names[k] == str(k) else f"{k} ({names[k]})"


def _run_maps(engine, x: np.ndarray, target: int | None, names: list[str]) -> dict:
    """One run's maps of image `x` (1, 1, 28, 28), as a row of the comparison figure.

    Grad-CAM works for any CNN; CAM needs a head that sums the last map (flatten or global
    average pool, then one linear layer), so other CNNs (lenet5) show Grad-CAM only.
    """
    spec = engine.model.spec
    if spec.feature_layer is None:
        return {"cam": None, "caption": "no conv layer"}
    field = receptive_field(spec)
    methods = METHODS if spec.head is not None else ("gradcam",)
    maps = {m: compute_map(engine, spec, x, target, m) for m in methods}
    for result in maps.values():
        result["upsampled"] = upsample_to_input(result["map"], field, spec.input_shape[1:])
    k, p = maps["gradcam"]["target"], maps["gradcam"]["probabilities"]
    return {
        "maps": maps,
        "field": field,
        "cam": maps["cam"]["map"] if "cam" in maps else None,
        "cam_note": None if "cam" in maps else "no CAM head:\nGrad-CAM only",
        "gradcam": maps["gradcam"]["map"],
        "centers": (field.rows, field.cols),
        "caption": _row_caption(k, p, names),
        "target": k,
        "predicted": int(p.argmax()),
        "probability": float(p.max()),
    }


def _write_run_panels(run_dir, row: dict, methods, image, name: str, label: str) -> None:
    """PNG + JSON per method into RUN_DIR/cam/, and the same pictures into the run's
    TensorBoard file for this image, which a re-run replaces."""
    from cnnlab.viz.cam_figures import render_cam_panels
    from cnnlab.viz.plots import save_png

    maps, field, caption = row["maps"], row["field"], row["caption"]
    tb = AnalysisLog(run_dir, f"cam-{name}")
    try:
        for method in methods:
            result = maps[method]
            k = result["target"]
            title = f"{label}{_method_title(method)}: {caption}"
            rgb = render_cam_panels(
                image,
                result["map"],
                upsampled=result["upsampled"],
                centers=(field.rows, field.cols),
                title=title,
                target=k,
            )
            path = RunDir(run_dir).cam_dir() / f"{method}_{name}_class{k}.png"
            save_png(rgb, path)
            tb.image(f"cam/{method}_{name}", rgb)
            write_json(path.with_suffix(".json"), _map_record(result, name, field))
    finally:
        tb.close()


def caption_text(what: str, true_label: int | None, rows: list[dict], names: list[str]) -> str:
    """What a comparison figure shows, from the data: "test image 5 (true label 1); cnn2 ·
    scratch predicts 1 (0.9973), cnn3 · torch predicts 7 (0.61)"; with class names where they
    are not digits: "true label 3 (dress); ... predicts 3 (dress) (0.97)"."""
    truth = f" (true label {named_class(true_label, names)})" if true_label is not None else ""
    predictions = [
        f"{row['label']} predicts {named_class(row['predicted'], names)} "
        f"({format_probability(row['probability'])})"
        for row in rows
        if "predicted" in row
    ]
    return f"{what}{truth}" + ("; " + ", ".join(predictions) if predictions else "")


def _method_title(method: str) -> str:
    return {"cam": "CAM", "gradcam": "Grad-CAM"}[method]


def _map_record(result: dict, name: str, field) -> dict:
    """The JSON of one map: the raw cells, where they sit in the image, and the 28x28 map."""
    return {
        "image": name,
        "method": result["method"],
        "target": result["target"],
        "probabilities": result["probabilities"].tolist(),
        "map": np.asarray(result["map"]).tolist(),
        **field.as_dict(),
        "upsampled_map": np.asarray(result["upsampled"]).tolist(),
        "upsampling": OUTSIDE_NOTE,
    }


def disagreement_index(run_dirs: list[Path], labels: np.ndarray) -> int | None:
    """A test image the runs disagree on or get wrong, from their `probabilities.npy`: the
    one with the most distinct answers, then the most wrong runs, then the lowest index;
    None when every run is right on every image (or none was evaluated)."""
    from cnnlab.rundir import PROBABILITIES

    answers = [
        np.load(Path(d) / PROBABILITIES, allow_pickle=False).argmax(axis=1)
        for d in run_dirs
        if (Path(d) / PROBABILITIES).is_file()
    ]
    if not answers:
        return None
    predicted = np.stack(answers)  # (runs, N)
    distinct = np.array([len(set(column)) for column in predicted.T])  # (N,)
    wrong = (predicted != labels[None]).sum(axis=0)  # (N,)
    if not (distinct > 1).any() and not wrong.any():
        return None
    return int(np.lexsort((np.arange(len(wrong)), -wrong, -distinct))[0])


def draw_comparison_cams(cnn_runs: list[Path], out_dir: Path, data_dir=None) -> None:
    """CAM and Grad-CAM of the CNNs on test image 0 and on one test image they disagree on or
    get wrong, into the report's two comparison figures in `out_dir`."""
    print("CAM and Grad-CAM of the CNNs on test image 0", flush=True)
    draw_cams(
        cnn_runs, index=0, out_dir=out_dir, data_dir=data_dir, comparison_name=COMPARISON_FILE
    )
    labels = load_run_data(RunDir(cnn_runs[0]).config(), data_dir).test_labels.astype(np.int64)
    index = disagreement_index(cnn_runs, labels)
    if index is not None:
        print(f"... and on test image {index}, which they disagree on or get wrong", flush=True)
        draw_cams(
            cnn_runs, index=index, out_dir=out_dir, data_dir=data_dir,
            comparison_name=DISAGREEMENT_FILE,
        )  # fmt: skip
