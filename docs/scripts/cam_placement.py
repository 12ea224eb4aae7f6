"""docs/cam-placement.png: cnn3 CAM on test image 0, stretched vs receptive-field aligned.

Usage: PYTHONPATH=src python docs/scripts/cam_placement.py RUN_DIR docs/cam-placement.png
"""
import sys
import numpy as np
from cnnlab.analysis.cam import compute_map
from cnnlab.analysis.receptive_field import receptive_field, stretched_centres, upsample_to_input
from cnnlab.data import load_mnist, normalize
from cnnlab.models import get_spec
from cnnlab.rundir import RunDir
from cnnlab.viz.maps import normalize_map, overlay, upsample_bilinear
from cnnlab.viz.plots import figure_to_rgb, new_figure, show_digit, save_png

run = RunDir(sys.argv[1]); out = sys.argv[2]
engine, config = run.load_trained("cpu")
spec = get_spec(config["model"])
image = load_mnist(progress=False).test_images[0]
res = compute_map(engine, spec, normalize(image[None]).astype(np.float32), None, "cam")
raw = res["map"]
field = receptive_field(spec)
stretched = upsample_bilinear(raw, (28, 28))
aligned = upsample_to_input(raw, field)
def peak(m):
    r, c = np.unravel_index(np.argmax(m), m.shape); return int(r), int(c)
i, j = np.unravel_index(np.argmax(raw), raw.shape)
print("cell centres rows", field.rows.tolist(), "cols", field.cols.tolist(), "size", field.size)
print("stretched centres", stretched_centres(3).round(2).tolist())
print("hottest cell", (int(i), int(j)), "stretched centre", (stretched_centres(3)[i], stretched_centres(3)[j]), "aligned centre", (field.rows[i], field.cols[j]))
print("peak stretched", peak(stretched), "peak aligned", peak(aligned))
print("class", res["target"])
fig = new_figure(8.4, 3.6)
axes = fig.subplots(1, 3)
show_digit(axes[0], image); axes[0].set_title("test image 0", fontsize=10)
for ax, m, centres, title in ((axes[1], stretched, (stretched_centres(3), stretched_centres(3)), "naive: stretched over 28×28"),
                              (axes[2], aligned, (field.rows, field.cols), "aligned: cells at their\nreceptive-field centres")):
    heat, _ = normalize_map(m)
    ax.imshow(overlay(image, heat), interpolation="nearest")
    yy, xx = np.meshgrid(*centres, indexing="ij")
    ax.scatter(xx.ravel(), yy.ravel(), s=14, c="white", edgecolors="black", linewidths=0.5)
    r, c = centres[0][i], centres[1][j]
    ax.plot(c, r, marker="+", color="white", markersize=12, mew=2)
    ax.set_title(title, fontsize=10); ax.set_xticks([]); ax.set_yticks([])
fig.suptitle(f"{config['model']} · {config['engine']}: CAM of class {res['target']} (3×3 map); dots = cell centres, + = hottest cell's centre", fontsize=10)
fig.supxlabel("aligned: linear between cell centres, edge value outside them", fontsize=8)
save_png(figure_to_rgb(fig), out)
