"""Runs side by side: validation curves of several runs overlaid on one chart."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, PercentFormatter

from cnnlab.viz.plots import figure_to_rgb, new_figure

LINE_STYLES = ("-", "--", ":", "-.")  # one per engine, in the registry's order


def engine_style(engine: str | None) -> str:
    from cnnlab.training.engines import ENGINES

    order = list(ENGINES)
    return LINE_STYLES[order.index(engine) % len(LINE_STYLES)] if engine in order else "-"


def render_run_comparison(
    runs: list[dict], title: str = "Validation curves of every run"
) -> np.ndarray:
    """Validation loss | validation accuracy against epochs, one line per run.

    runs: [{"label": "cnn2 · scratch", "engine": "scratch", "epochs": [epoch records]}];
    engines are told apart by line style, runs by colour. Returns RGB uint8.
    """
    fig = new_figure(9.0, 3.6)
    fig.suptitle(title, fontsize=12)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for i, run in enumerate(runs):
        epochs = [r for r in run["epochs"] if r.get("val_loss") is not None]
        x = [r["epoch"] for r in epochs]
        style = dict(
            color=f"C{i % 10}",
            linestyle=engine_style(run.get("engine")),
            marker="o",
            markersize=3,
            label=run["label"],
        )
        ax_loss.plot(x, [r["val_loss"] for r in epochs], **style)
        ax_acc.plot(x, [r["val_accuracy"] for r in epochs], **style)
    ax_loss.set_yscale("log")
    ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax_loss.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax_loss.set_title("validation loss", fontsize=10)
    ax_acc.set_title("validation accuracy", fontsize=10)
    ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0))
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    # beside the panels, not over the lines
    fig.legend(*ax_acc.get_legend_handles_labels(), fontsize=8, loc="outside right center")
    return figure_to_rgb(fig)
