"""Seeing what a network learned: pictures as RGB uint8 arrays (the numbers are in
`cnnlab.analysis.metrics`). Import each picture from its module:

    from cnnlab.viz.confusion import render_confusion_matrix
    from cnnlab.viz.plots import save_png
    save_png(render_confusion_matrix(confusion_matrix(labels, predicted)), "cm.png")

| module | what |
|---|---|
| `maps` | CAM helpers: normalize, bilinear upsampling, colour overlay (pure NumPy) |
| `plots` | figure -> RGB array, `save_png` |
| `confusion`, `grids`, `curves`, `compare`, `cam_figures`, `seeds` | one kind of picture each |

This package file imports nothing, so `import cnnlab.viz.maps` never loads matplotlib.
"""
