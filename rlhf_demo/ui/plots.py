"""The app's one matplotlib set-up: the Agg backend and the figure style every tab shares.

Every module that draws takes `plt` from here (``from rlhf_demo.ui.plots import plt``), so the backend is chosen once,
before any figure exists: figures become PNGs for the browser, never a window on the server.

The classroom's readability rule: every text in a PNG is at least MIN_TEXT_PX = 14 px tall, readable on a projector
from the back of the room and on a phone. A text of `pt` points in a figure of `dpi` dots per inch is
pt x dpi / 72 px tall (`text_px`): at PLOT_DPI = 100, PLOT_PT = 12 pt is 16.7 px and SMALL_PT = 11 pt (for
crowded figures: tick labels of a matrix, a histogram beside a table) is 15.3 px.
"""

from __future__ import annotations

import matplotlib
from matplotlib import pyplot as plt

matplotlib.use("Agg")  # no figure exists yet: the switch is free, and every figure from now on renders to PNG

__all__ = ["MIN_TEXT_PX", "PLOT_DPI", "PLOT_PT", "SMALL_PT", "plt", "style", "text_px"]

MIN_TEXT_PX = 14
PLOT_DPI = 100
PLOT_PT = 12  # 16.7 px at PLOT_DPI
SMALL_PT = 11  # 15.3 px at PLOT_DPI


def text_px(points: float, dpi: float = PLOT_DPI) -> float:
    """How tall a text of `points` is in a PNG saved at `dpi`, in pixels."""
    return points * dpi / 72


def style(ax, labelsize: float = PLOT_PT) -> None:
    """The house style of an axes: tick labels at `labelsize` points, no box on the top and right."""
    ax.tick_params(labelsize=labelsize)
    ax.spines[["top", "right"]].set_visible(False)
