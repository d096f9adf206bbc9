"""The book's figures of memory and parameters: memory timelines, peak memory against GPU
sizes, trainable parameters, the planner against measured steps and against its peers.

Every function draws on a new figure and returns its ``matplotlib.axes.Axes``, labelled with
units and a title, in a style that stays readable in print (:mod:`helpers._figures`).
The figures of scores are in :mod:`helpers.score_plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.axes import Axes

from ._checks import require_mapping
from ._figures import HATCHES, MARKERS, new_axes
from .gpus import CHART_GPUS, GPU_MEMORY_GIB, usable_gpu_gib


def plot_memory_timeline(
    samples: Mapping[str, Sequence[tuple[float, float]]],
    title: str = "Memory over time",
) -> Axes:
    """Line per run of ``(seconds, GiB)`` samples, e.g. ``{"fit": monitor.samples}``."""
    require_mapping(samples, "samples", "{'fit': monitor.samples}")
    if not samples:
        raise ValueError("no samples to plot")
    for label, points in samples.items():
        if not points:
            raise ValueError(f"no samples for {label!r}")
        if not all(isinstance(p, Sequence) and len(p) == 2 for p in points):
            raise TypeError(
                f"the samples of {label!r} must be (seconds, GiB) pairs, as "
                "MemoryMonitor.samples holds them"
            )
    ax = new_axes()
    styles = ("-", "--", ":", "-.")
    for i, (label, points) in enumerate(samples.items()):
        seconds, gib = zip(*points)
        ax.plot(seconds, gib, linestyle=styles[i % len(styles)], label=label)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("memory in use (GiB)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_peak_memory(
    peaks_gib: Mapping[str, float],
    title: str = "Peak memory",
    gpus: Sequence[str] = CHART_GPUS,
) -> Axes:
    """Bars of peak memory (GiB) with a dashed line for each GPU in ``gpus`` at what its
    allocator can hand out (:func:`helpers.usable_gpu_gib`: CUDA's total less the
    context and the allocator's slack), so a bar under a line fits that GPU.

    Lines more than 1.5 times above the tallest bar are left out so the bars stay readable;
    the smallest GPU in ``gpus`` is always drawn.

    Raises
    ------
    TypeError
        For figures that are not a mapping, or ``gpus`` given as one string.
    ValueError
        For a GPU not in :data:`helpers.GPU_MEMORY_GIB`, or no figures.
    """
    require_mapping(peaks_gib, "peaks_gib", "{'batch 8': 7.56}")
    if isinstance(gpus, str):
        raise TypeError(
            f"gpus must be a tuple of GPU names, such as ({gpus!r},); got a string"
        )
    unknown = [gpu for gpu in gpus if gpu not in GPU_MEMORY_GIB]
    if unknown:
        raise ValueError(
            f"unknown GPUs {unknown}; known: {', '.join(GPU_MEMORY_GIB)}"
        )
    if not peaks_gib:
        raise ValueError("no peak memory figures to plot")
    ax = new_axes()
    names, values = list(peaks_gib), list(peaks_gib.values())
    bars = ax.bar(names, values, color="#4c72b0", edgecolor="black")
    for bar, hatch in zip(bars, HATCHES * len(bars)):
        bar.set_hatch(hatch)
    ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    usable = {gpu: usable_gpu_gib(gpu) for gpu in gpus}
    ceiling = max(max(values) * 1.5, min(usable.values()))
    shown = [gpu for gpu in gpus if usable[gpu] <= ceiling]
    for gpu in shown:
        ax.axhline(usable[gpu], color="#c44e52", linestyle="--", linewidth=1)
        ax.annotate(
            f"{gpu}: {usable[gpu]:.1f} GiB usable",
            (1.0, usable[gpu]),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color="#c44e52",
        )
    ax.set_ylim(0, max(*values, *(usable[g] for g in shown)) * 1.12)
    ax.set_xlabel("configuration")
    ax.set_ylabel("peak memory (GiB)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    return ax


def plot_trainable_parameters(
    counts: Mapping[str, tuple[int, int]],
    title: str = "Trainable and total parameters",
) -> Axes:
    """Paired bars of ``(trainable, total)`` per run on a log scale, with the trainable share."""
    require_mapping(
        counts, "counts", "{'ia3_bias': count_parameters(predictor)}"
    )
    if not counts:
        raise ValueError("no parameter counts to plot")
    for label, pair in counts.items():
        if not (isinstance(pair, Sequence) and len(pair) == 2):
            raise TypeError(
                f"the count of {label!r} must be a (trainable, total) pair, as "
                f"helpers.count_parameters returns it; got {pair!r}"
            )
        if not 0 <= pair[0] <= pair[1] or pair[1] == 0:
            raise ValueError(
                f"the count of {label!r} must be (trainable, total) with trainable at "
                f"most total and total above 0; got {pair!r}"
            )
    ax = new_axes()
    frame = pd.DataFrame(counts, index=["trainable", "total"]).T
    frame.plot.bar(
        ax=ax,
        logy=True,
        rot=0,
        color=["#55a868", "#8c8c8c"],
        edgecolor="black",
    )
    for bar in ax.containers[0]:
        bar.set_hatch("//")
    for i, (trainable, total) in enumerate(frame.itertuples(index=False)):
        ax.annotate(
            f"{100 * trainable / total:.3g}%",
            (i - 0.12, trainable),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    ax.set_xlabel("configuration")
    ax.set_ylabel("parameters (log scale)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def plot_predicted_vs_measured(
    predicted_gib: Sequence[float],
    measured_gib: Sequence[float],
    labels: Sequence[str],
    title: str,
    tolerance: float = 0.1,
) -> Axes:
    """Predicted against measured memory (GiB, log scales), with the ``tolerance`` band around equality."""
    if (
        not len(predicted_gib) == len(measured_gib) == len(labels)
        or not labels
    ):
        raise ValueError(
            "need as many predictions, measurements and labels, at least one"
        )
    if not all(value > 0 for value in (*predicted_gib, *measured_gib)):
        raise ValueError(
            "memory figures must be above 0 GiB (the scales are logarithmic); got "
            f"{list(predicted_gib)} and {list(measured_gib)}"
        )
    if not 0 <= tolerance < 1:
        raise ValueError(
            f"tolerance is a fraction, such as 0.1 for 10%; got {tolerance}"
        )
    ax = new_axes(6.0, 5.0)
    low, high = (
        min(*predicted_gib, *measured_gib) * 0.8,
        max(*predicted_gib, *measured_gib) * 1.25,
    )
    line = [low, high]
    ax.plot(
        line,
        line,
        color="black",
        linewidth=1,
        label="prediction = measurement",
    )
    ax.fill_between(
        line,
        [v * (1 - tolerance) for v in line],
        [v * (1 + tolerance) for v in line],
        alpha=0.15,
        label=f"within {tolerance:.0%}",
    )
    markers: dict[str, str] = {}
    for predicted, measured, label in zip(
        predicted_gib, measured_gib, labels
    ):
        new = label not in markers
        marker = markers.setdefault(label, "os^Dv<>ph"[len(markers) % 9])
        ax.scatter(
            measured,
            predicted,
            marker=marker,
            facecolors="none",
            edgecolors="C1",
            label=label if new else None,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("measured peak (GiB)")
    ax.set_ylabel("predicted peak (GiB)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_estimator_errors(
    errors: pd.DataFrame,
    groups: Sequence[str],
    title: str = "Estimate / measured peak",
) -> Axes:
    """One row per estimator, one dot per measured step at estimate / measured (log
    scale; 1 is exact), marked by the step's group, such as its method.

    ``errors`` is :func:`helpers.estimator_errors`'s table, ``groups`` one label per row.
    """
    if not isinstance(errors, pd.DataFrame) or errors.empty:
        raise TypeError(
            "expected the table of helpers.estimator_errors(steps), with rows"
        )
    if len(groups) != len(errors):
        raise ValueError(
            f"one group per step: {len(groups)} groups for {len(errors)} steps"
        )
    ax = new_axes(height=0.7 * len(errors.columns) + 1.4)
    names = list(errors.columns)[::-1]
    kinds = list(dict.fromkeys(groups))
    for k, group in enumerate(kinds):
        rows = [i for i, g in enumerate(groups) if g == group]
        for y, name in enumerate(names):
            ax.scatter(
                1 + errors[name].iloc[rows],
                [y + 0.12 * (k - (len(kinds) - 1) / 2)] * len(rows),
                marker=MARKERS[k % len(MARKERS)],
                color=f"C{k}",
                alpha=0.6,
                label=group if y == 0 else None,
            )
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ticks = [t for t in (0.25, 0.5, 1, 2, 4, 8) if _within(t, errors)]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(range(len(names)), names)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("estimate / measured peak (log; 1x = exact)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def _within(tick: float, errors: pd.DataFrame) -> bool:
    """Whether ``tick`` lies within the range of the ratios, widened by half."""
    ratios = 1 + errors.to_numpy()
    return ratios.min() / 1.5 <= tick <= ratios.max() * 1.5
