"""The book's figures: memory timelines, peak memory against GPU sizes, parameters, scores.

Every function draws on a new figure and returns its ``matplotlib.axes.Axes``, labelled with
units and a title, in a style that stays readable in print (no colour-only encodings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from .gpus import CHART_GPUS, GPU_MEMORY_GIB

_HATCHES = ("", "//", "..", "xx", "\\\\", "oo")


def _new_axes(width: float = 7.0, height: float = 3.6) -> Axes:
    _, ax = plt.subplots(figsize=(width, height), dpi=100, layout="constrained")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def _label_bars(ax: Axes, fmt: str) -> None:
    for container in ax.containers:
        ax.bar_label(container, fmt=fmt, padding=2, fontsize=8)


def plot_memory_timeline(samples: Mapping[str, Sequence[tuple[float, float]]], title: str = "Memory over time") -> Axes:
    """Line per run of ``(seconds, GiB)`` samples, e.g. ``{"fit": monitor.samples}``."""
    ax = _new_axes()
    styles = ("-", "--", ":", "-.")
    for i, (label, points) in enumerate(samples.items()):
        if not points:
            raise ValueError(f"no samples for {label!r}")
        seconds, gib = zip(*points)
        ax.plot(seconds, gib, linestyle=styles[i % len(styles)], label=label)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("memory in use (GiB)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_peak_memory(peaks_gib: Mapping[str, float], title: str = "Peak memory", gpus: Sequence[str] = CHART_GPUS) -> Axes:
    """Bars of peak memory (GiB) with a dashed line for the capacity of each GPU in ``gpus``.

    Lines more than 1.5 times above the tallest bar are left out so the bars stay readable;
    the smallest GPU in ``gpus`` is always drawn.
    """
    unknown = [gpu for gpu in gpus if gpu not in GPU_MEMORY_GIB]
    if unknown:
        raise ValueError(f"unknown GPUs {unknown}; known: {', '.join(GPU_MEMORY_GIB)}")
    if not peaks_gib:
        raise ValueError("no peak memory figures to plot")
    ax = _new_axes()
    names, values = list(peaks_gib), list(peaks_gib.values())
    bars = ax.bar(names, values, color="#4c72b0", edgecolor="black")
    for bar, hatch in zip(bars, _HATCHES * len(bars)):
        bar.set_hatch(hatch)
    ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    ceiling = max(values) * 1.5
    shown = [gpu for gpu in gpus if GPU_MEMORY_GIB[gpu] <= max(ceiling, min(GPU_MEMORY_GIB[g] for g in gpus))]
    for gpu in shown:
        capacity = GPU_MEMORY_GIB[gpu]
        ax.axhline(capacity, color="#c44e52", linestyle="--", linewidth=1)
        ax.annotate(f"{gpu} ({capacity:g} GiB)", (1.0, capacity), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="#c44e52")
    ax.set_ylim(0, max(max(values), *(GPU_MEMORY_GIB[g] for g in shown)) * 1.12)
    ax.set_xlabel("configuration")
    ax.set_ylabel("peak memory (GiB)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    return ax


def plot_trainable_parameters(counts: Mapping[str, tuple[int, int]], title: str = "Trainable and total parameters") -> Axes:
    """Paired bars of ``(trainable, total)`` per run on a log scale, with the trainable share."""
    ax = _new_axes()
    frame = pd.DataFrame(counts, index=["trainable", "total"]).T
    frame.plot.bar(ax=ax, logy=True, rot=0, color=["#55a868", "#8c8c8c"], edgecolor="black")
    for bar in ax.containers[0]:
        bar.set_hatch("//")
    for i, (trainable, total) in enumerate(frame.itertuples(index=False)):
        ax.annotate(f"{100 * trainable / total:.3g}%", (i - 0.12, trainable), xytext=(0, 3),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.set_xlabel("configuration")
    ax.set_ylabel("parameters (log scale)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def plot_scores_by_language(scores: pd.DataFrame, metric: str = "roc_auc", title: str | None = None) -> Axes:
    """Grouped bars of ``metric`` per language (rows) for each run (columns), chance at 0.5."""
    if scores.empty:
        raise ValueError("no scores to plot")
    ax = _new_axes()
    scores.plot.bar(ax=ax, rot=0, edgecolor="black", ylim=(0, 1.1))
    for container, hatch in zip(ax.containers, _HATCHES):
        for bar in container:
            bar.set_hatch(hatch)
    _label_bars(ax, "%.2f")
    ax.axhline(0.5, color="black", linestyle=":", linewidth=1, label="chance (0.5)")
    ax.set_xlabel("test language")
    ax.set_ylabel(f"{metric} (higher is better)")
    ax.set_title(title or f"{metric} by test language")
    ax.legend(fontsize=8, loc="upper right")
    return ax
