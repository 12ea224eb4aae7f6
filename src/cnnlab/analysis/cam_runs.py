"""CAM and Grad-CAM for trained runs: the same test image through every given model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.analysis.cam import METHODS, compute_map
from cnnlab.data import load_mnist, normalize
from cnnlab.errors import UserError
from cnnlab.fileio import write_json
from cnnlab.rundir import CAM_DIR, RunDir
from cnnlab.training.tracking import TensorBoardLog

COMPARISON_FILE = "cam_comparison.png"


def draw_cams(
    run_dirs: list[Path],
    index: int = 0,
    target: int | None = None,
    methods: tuple[str, ...] = METHODS,
    out_dir: Path | None = None,
    data_dir=None,
    device: str = "cpu",
    image: np.ndarray | None = None,
) -> Path:
    """Per-model panels (`methods`) into RUN_DIR/cam/; one comparison figure with CAM and Grad-CAM
    of every run into `out_dir`; returns its path.

    `image` (28, 28) uint8 replaces test image `index` (used by `cnnlab predict --cam`).
    """
    from cnnlab import viz

    run_dirs = [Path(r) for r in run_dirs]
    out_dir = Path(out_dir) if out_dir is not None else run_dirs[0].resolve().parent
    if image is None:
        test_images = load_mnist(data_dir, progress=False).test_images
        if not 0 <= index < len(test_images):
            raise UserError(f"--index {index} is out of range: the test set has 0..9999.")
        image, name = test_images[index], f"test{index}"
    else:
        name = "image"
    x = normalize(image[None])  # (1, 1, 28, 28)
    rows = []
    for run_dir in run_dirs:
        engine, config = RunDir(run_dir).load_trained(device)
        spec = engine.model.spec
        label = f"{config['model']} · {config['engine']}"
        if spec.feature_layer is None:
            rows.append({"label": label, "image": image, "cam": None, "caption": "no conv layer"})
            continue
        # Both maps always go into the comparison figure (one forward and backward each);
        # `methods` picks the per-model panels written into RUN_DIR/cam/.
        maps = {m: compute_map(engine, spec, x.astype(np.float32), target, m) for m in METHODS}
        k, p = maps["cam"]["target"], maps["cam"]["probabilities"]
        caption = f"class {k} (p={p[k]:.3f}), predicted {int(p.argmax())}"
        tb = TensorBoardLog(run_dir)
        try:
            for method in methods:
                result = maps[method]
                title = f"{label} · {_method_title(method)}: {caption}"
                rgb = viz.render_cam_panels(image, result["map"], title=title)
                path = run_dir / CAM_DIR / f"{method}_{name}_class{k}.png"
                viz.save_png(rgb, path)
                tb.image(f"cam/{method}_{name}_class{k}", rgb)
                write_json(path.with_suffix(".json"), _map_record(result, name))
        finally:
            tb.close()
        rows.append(
            {
                "label": label,
                "image": image,
                "cam": maps["cam"]["map"],
                "gradcam": maps["gradcam"]["map"],
                "caption": caption,
            }
        )
    comparison = out_dir / COMPARISON_FILE
    title = f"Class activation maps, {name.replace('test', 'test image ')}"
    viz.save_png(viz.render_cam_comparison(rows, title=title), comparison)
    return comparison


def _method_title(method: str) -> str:
    return {"cam": "CAM", "gradcam": "Grad-CAM"}[method]


def _map_record(result: dict, name: str) -> dict:
    return {
        "image": name,
        "method": result["method"],
        "target": result["target"],
        "probabilities": result["probabilities"].tolist(),
        "map": np.asarray(result["map"]).tolist(),
    }
