"""`cnnlab predict RUN_DIR IMAGE ...`: classify your own digit pictures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAME = "predict"
HELP = "classify your own digit images (PNG/JPEG, any size) with a trained run"
ORDER = 55


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--cam", action="store_true", help="also save a CAM overlay per image")
    parser.add_argument("--device", default="cpu", help="torch runs: cpu, cuda or mps")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnlab.analysis.metrics import format_probability, top_classes
    from cnnlab.data import normalize
    from cnnlab.errors import UserError
    from cnnlab.imageprep import load_digit
    from cnnlab.rundir import RunDir
    from cnnlab.scratch.functional import softmax

    engine, config = RunDir(args.run_dir).load_trained(args.device)
    results, failed = [], False
    for path in args.images:
        try:
            digit = load_digit(path)  # (28, 28) uint8, MNIST-style
        except UserError as err:
            results.append({"file": path, "error": str(err)})
            print(f"cnnlab: error: {err}", file=sys.stderr)
            failed = True
            continue
        logits = engine.logits(normalize(digit[None])).astype(np.float64)[0]  # (10,)
        probabilities = softmax(logits[None])[0]
        result = {
            "file": path,
            "prediction": int(probabilities.argmax()),
            # full precision: rounding made every runner-up of a confident answer 0.000000
            "probabilities": [float(p) for p in probabilities],
            "logits": [float(v) for v in logits],
            "top3": [int(k) for k in top_classes(logits, 3)],
        }
        if args.cam and config["model"] != "mlp3":
            result["cam"] = str(_save_cam(args.run_dir, path, digit, args.device))
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if "error" in r:
                continue
            ranked = ", ".join(
                f"{k} ({format_probability(r['probabilities'][k])})" for k in r["top3"]
            )
            print(f"{r['file']}: {r['prediction']}   top 3: {ranked}")
            if "cam" in r:
                print(f"  CAM overlay: {r['cam']}")
    return 2 if failed else 0


def _save_cam(run_dir: str, image_path: str, digit, device: str) -> Path:
    from cnnlab.analysis.cam_runs import draw_cams

    out = Path(run_dir) / "cam" / "predict"
    comparison = draw_cams([Path(run_dir)], out_dir=out, device=device, image=digit)
    target = out / f"{Path(image_path).stem}_cam.png"
    comparison.replace(target)
    return target
