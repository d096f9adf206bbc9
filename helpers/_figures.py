"""The style every figure of the book shares: a new axes of the page's width, bar labels,
and hatches and markers that tell series apart in black and white too (no colour-only
encodings)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

HATCHES = ("", "//", "..", "xx", "\\\\", "oo")
#: Markers that tell methods apart in black and white too (plot_method_tradeoffs).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")


def new_axes(width: float = 7.0, height: float = 3.6) -> Axes:
    """A new figure's axes, ``width`` by ``height`` inches (7 fits the page), with a light
    horizontal grid behind the data."""
    _, ax = plt.subplots(
        figsize=(width, height), dpi=100, layout="constrained"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def label_bars(ax: Axes, fmt: str) -> None:
    """Write each bar's value, formatted by ``fmt``, above it."""
    for container in ax.containers:
        ax.bar_label(container, fmt=fmt, padding=2, fontsize=8)
