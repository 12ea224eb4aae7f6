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

    from cnnlab.data import normalize
    from cnnlab.errors import UserError
    from cnnlab.imageprep import load_digit
    from cnnlab.rundir import RunDir
    from cnnlab.scratch.functional import softmax

    engine, _ = RunDir(args.run_dir).load_trained(args.device)
    results, failed = [], False
    for path in args.images:
        try:
            digit = load_digit(path)  # (28, 28) uint8, MNIST-style
        except UserError as err:
            results.append({"file": path, "error": str(err)})
            print(f"cnnlab: error: {err}", file=sys.stderr)
            failed = True
            continue
        probabilities = softmax(engine.logits(normalize(digit[None])).astype(np.float64))[0]
        result = {
            "file": path,
            "prediction": int(probabilities.argmax()),
            "probabilities": [round(float(p), 6) for p in probabilities],
        }
        if args.cam and engine.model.spec.feature_layer is not None:  # not an MLP
            result["cam"] = str(_save_cam(args.run_dir, path, digit, args.device))
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if "error" in r:
                continue
            top3 = np.argsort(r["probabilities"])[::-1][:3]
            ranked = ", ".join(f"{k} ({r['probabilities'][k]:.3f})" for k in top3)
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
