"""`cnnlab predict RUN_DIR IMAGE ...`: classify your own digit pictures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnlab.commands.options import add_device

NAME = "predict"
HELP = "classify your own digit images (PNG/JPEG, any size) with a trained run"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a trained run directory")
    parser.add_argument(
        "images", nargs="+", metavar="IMAGE", help="digit pictures: PNG or JPEG, any size"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--cam", action="store_true", help="also save a CAM figure per image (CNN runs) in --out"
    )
    parser.add_argument(
        "--out", default="predictions", metavar="DIR", help="folder for the --cam figures"
    )
    add_device(parser)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnlab.analysis.metrics import top_classes
    from cnnlab.data import normalize
    from cnnlab.data.folder_decode import prepare_picture
    from cnnlab.data.imageprep import load_digit
    from cnnlab.data.source import (
        run_class_names,
        run_dataset,
        run_normalization,
        run_shape_and_classes,
    )
    from cnnlab.errors import UserError
    from cnnlab.rundir import RunDir
    from cnnlab.scratch.functional import softmax

    engine, config = RunDir(args.run_dir).load_trained(args.device)
    if args.cam and engine.model.spec.feature_layer is None:
        raise UserError(
            f"--cam needs a CNN run, and {args.run_dir} is a {config['model']} "
            "(no conv feature map); leave out --cam or give a cnn2/cnn3 run."
        )
    shape, _ = run_shape_and_classes(config)
    names = run_class_names(config)
    # digits and kuzushiji are prepared as MNIST's digits were; other sets as their pictures
    digits = run_dataset(config) in ("mnist", "kmnist")
    results, failed = [], False
    for number, path in enumerate(args.images, start=1):
        try:
            # (28, 28) uint8, MNIST-style; or (H, W) / (3, H, W) as the data set's pictures
            digit = load_digit(path) if digits else prepare_picture(path, shape)
        except UserError as err:
            results.append({"file": path, "error": str(err)})
            print(f"cnnlab: error: {err}", file=sys.stderr)
            failed = True
            continue
        x = normalize(digit[None], *run_normalization(config))  # the run's own statistics
        logits = engine.logits(x).astype(np.float64)[0]  # (classes,)
        probabilities = softmax(logits[None])[0]
        result = {
            "file": path,
            "prediction": int(probabilities.argmax()),
            "class_name": names[int(probabilities.argmax())],
            # full precision: rounding made every runner-up of a confident answer 0.000000
            "probabilities": [float(p) for p in probabilities],
            "logits": [float(v) for v in logits],
            "top3": [int(k) for k in top_classes(logits, 3)],
        }
        if args.cam:
            result["cam"] = str(_save_cam(args, number, path, digit))
        results.append(result)
    _print_results(results, names, args.json)
    return 2 if failed else 0


def _print_results(results: list[dict], names: list[str], as_json: bool) -> None:
    """All results as one JSON list, or a line per readable image with its top 3 classes
    (an image that could not be read was reported on stderr already)."""
    from cnnlab.analysis.metrics import format_probability

    if as_json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        if "error" in r:
            continue
        ranked = ", ".join(
            f"{names[k]} ({format_probability(r['probabilities'][k])})" for k in r["top3"]
        )
        print(f"{r['file']}: {r['class_name']}   top 3: {ranked}")
        if "cam" in r:
            print(f"  CAM figure: {r['cam']}")


def _save_cam(args: argparse.Namespace, number: int, image_path: str, digit) -> Path:
    """The CAM figure of one image into --out, never into the run; the image's position in
    the command line keeps two files of the same name (two folders' 7.png) apart."""
    from cnnlab.analysis.cam_runs import draw_cams

    name = f"{number:03d}_{Path(image_path).stem}_cam.png"
    return draw_cams(
        [Path(args.run_dir)],
        out_dir=Path(args.out),
        device=args.device,
        image=digit,
        comparison_name=name,
    )
