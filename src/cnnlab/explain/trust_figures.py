"""The report's attribution pictures, drawn by `cnnlab run` into the output folder: grids of
maps (rows × columns), each map scaled on its own (`pictures._show_map`), the image first.

- `trust_cascade.png`: one network on test image 0, each method's map for the trained network
  and after each randomisation stage (the top layer first), as Adebayo et al. draw it;
- `trust_test0.png` and `trust_disagreement.png`: every network (rows) × every method
  (columns) on test image 0, and on the test image the networks disagree on most.
Each PNG carries its caption (the image, its label, each network's prediction), which the
report reads back, as for the CAM comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.explain.pictures import _show_map
from cnnlab.outdir import OutputDir
from cnnlab.rundir import RunDir
from cnnlab.viz.plots import figure_to_rgb, new_figure, png_bytes, show_digit

CELL_WIDTH = 0.95  # inches per map column


def render_map_grid(image, rows: list[list], row_names, column_names, title: str) -> np.ndarray:
    """RGB figure: the uint8 image, then one row per name of maps (H, W) or None (a method
    that network has not: left empty)."""
    n_rows, n_cols = len(rows), len(column_names) + 1
    fig = new_figure(CELL_WIDTH * n_cols + 0.6, 1.0 * n_rows + 0.7)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for r, (name, maps) in enumerate(zip(row_names, rows, strict=True)):
        show_digit(axes[r, 0], image)
        axes[r, 0].set_ylabel(name, fontsize=7)
        for c, attribution in enumerate(maps, start=1):
            if attribution is None:
                axes[r, c].set_axis_off()
                continue
            _show_map(axes[r, c], attribution)
            if not np.abs(attribution).max() > 0:
                axes[r, c].text(0.5, 0.5, "empty map", ha="center", va="center", fontsize=6,
                                transform=axes[r, c].transAxes)  # fmt: skip
    for c, name in enumerate(["image", *column_names]):
        axes[0, c].set_title(name.replace("_", " "), fontsize=6)  # shown on an empty panel too
    fig.suptitle(title, fontsize=9)
    return figure_to_rgb(fig)


def _networks(run_dirs):
    from cnnlab.explain.runs import network_of

    for run_dir in run_dirs:
        engine, config = RunDir(run_dir).load_trained("cpu")
        yield Path(run_dir).name, network_of(engine), config


def draw_trust_figures(run_dirs: list[Path], out_dir: Path, data_dir) -> None:
    from cnnlab.analysis.cam_runs import disagreement_index, named_class
    from cnnlab.data.source import load_run_data, run_class_names
    from cnnlab.explain import trust_runs
    from cnnlab.explain.methods import METHOD_NAMES, explain_images

    config = RunDir(run_dirs[0]).config()
    labels = load_run_data(config, data_dir).test_labels.astype(np.int64)
    classes = run_class_names(config)
    index = disagreement_index(run_dirs, labels)
    shown = [0] if index in (None, 0) else [0, index]
    names, rows, captions = [], {i: [] for i in shown}, {i: [] for i in shown}
    images, cascade = {}, None
    for name, net, config in _networks(run_dirs):
        x, background, pictures = trust_runs.first_test_images(config, data_dir, max(shown) + 1)
        x, pictures = x[shown], pictures[shown]
        targets, probabilities, results = explain_images(net, x, _available(net), background)
        names.append(name)
        for k, i in enumerate(shown):
            images.setdefault(i, pictures[k])
            rows[i].append([_map(results, m, k) for m in METHOD_NAMES])
            predicted = named_class(int(targets[k]), classes)
            captions[i].append(f"{name} predicts {predicted} ({probabilities[k].max():.4f})")
        if cascade is None and net.spec.feature_layer is not None:
            cascade = (name, net, x[:1], background, pictures[0])
    out = OutputDir(out_dir)
    for i, file in zip(shown, (trust_runs.TEST0_FILE, trust_runs.DISAGREEMENT_FILE), strict=False):
        had = [c for c, _ in enumerate(METHOD_NAMES) if any(row[c] is not None for row in rows[i])]
        grid = [[row[c] for c in had] for row in rows[i]]
        what = f"test image {i}, true label {named_class(int(labels[i]), classes)}"
        columns = [METHOD_NAMES[c] for c in had]
        picture = render_map_grid(images[i], grid, names, columns, f"Every method on {what}")
        caption = f"{what}; " + ", ".join(captions[i])
        out.write_bytes(file, png_bytes(picture, {"caption": caption}))
    if cascade is not None:
        cascade_png = _cascade_png(*cascade, label=int(labels[0]), classes=classes)
        out.write_bytes(trust_runs.CASCADE_FILE, cascade_png)


def _available(net):
    from cnnlab.explain.methods import available

    return available(net.spec)


def _map(results: dict, method: str, k: int):
    return results[method]["map"][k].sum(axis=0) if method in results else None


def _cascade_png(name: str, net, x, background: float, picture, label: int, classes) -> bytes:
    """The cascading randomisation of `net` on one image x (1, C, H, W)."""
    from cnnlab.analysis.cam_runs import named_class
    from cnnlab.explain.methods import explain_images
    from cnnlab.explain.sanity import cascade_states

    methods = _available(net)
    target, probabilities, trained = explain_images(net, x, methods, background)
    stages, maps = ["trained"], [[trained[m]["map"][0].sum(axis=0) for m in methods]]
    for layer, state in cascade_states(net.spec, net.state()):
        random_net = net.randomised(state)
        _, _, results = explain_images(random_net, x, methods, background, target)
        stages.append(f"{layer} random" if len(stages) == 1 else f"{layer} and above\nrandom")
        maps.append([results[m]["map"][0].sum(axis=0) for m in methods])
    title = f"{name}: each method as the layers are randomised, top first (one row per stage)"
    picture = render_map_grid(picture, maps, stages, methods, title)
    caption = (
        f"{name} on test image 0, true label {named_class(label, classes)}, "
        f"predicted {named_class(int(target[0]), classes)} "
        f"({probabilities[0].max():.4f}); the trained network's class explained at every stage"
    )
    return png_bytes(picture, {"caption": caption})
