"""The book's figures: memory timelines, peak memory against GPU sizes, parameters, scores.

Every function draws on a new figure and returns its ``matplotlib.axes.Axes``, labelled with
units and a title, in a style that stays readable in print (no colour-only encodings).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from ._checks import require_mapping
from .gpus import CHART_GPUS, GPU_MEMORY_GIB, usable_gpu_gib

_HATCHES = ("", "//", "..", "xx", "\\\\", "oo")
#: Markers that tell methods apart in black and white too (plot_method_tradeoffs).
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")


def _new_axes(width: float = 7.0, height: float = 3.6) -> Axes:
    _, ax = plt.subplots(
        figsize=(width, height), dpi=100, layout="constrained"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def _label_bars(ax: Axes, fmt: str) -> None:
    for container in ax.containers:
        ax.bar_label(container, fmt=fmt, padding=2, fontsize=8)


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
    ax = _new_axes()
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
    ax = _new_axes()
    names, values = list(peaks_gib), list(peaks_gib.values())
    bars = ax.bar(names, values, color="#4c72b0", edgecolor="black")
    for bar, hatch in zip(bars, _HATCHES * len(bars)):
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
    ax = _new_axes()
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


def plot_scores_by_language(
    scores: pd.DataFrame, metric: str = "roc_auc", title: str | None = None
) -> Axes:
    """Grouped bars of ``metric`` per language (rows) for each run (columns), chance at 0.5."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(
            "scores must be a DataFrame, one row per language and one column per run, "
            "such as helpers.evaluate_by_language(...)[[metric]]; got "
            f"{type(scores).__name__}"
        )
    if scores.empty:
        raise ValueError("no scores to plot")
    ax = _new_axes()
    scores.plot.bar(ax=ax, rot=0, edgecolor="black", ylim=(0, 1.1))
    for container, hatch in zip(ax.containers, _HATCHES):
        for bar in container:
            bar.set_hatch(hatch)
    _label_bars(ax, "%.2f")
    ax.axhline(
        0.5, color="black", linestyle=":", linewidth=1, label="chance (0.5)"
    )
    ax.set_xlabel("test language")
    ax.set_ylabel(f"{metric} (higher is better)")
    ax.set_title(title or f"{metric} by test language")
    ax.legend(fontsize=8, loc="upper right")
    return ax


def pareto_front(
    costs: Sequence[float],
    scores: Sequence[float],
    intervals: Sequence[tuple[float, float]] | None = None,
) -> list[bool]:
    """Which points no other point beats.

    Point B beats point A when B costs no more, B does not score lower, and B is cheaper or
    scores higher. With ``intervals`` (a ``(low, high)`` score interval per point), "lower"
    and "higher" count only where the intervals separate: B beats A when B costs no more,
    B's interval does not lie wholly below A's, and B is cheaper or its interval lies wholly
    above A's. A difference inside the noise then never keeps a costlier point on the front.

    Raises
    ------
    TypeError
        If ``costs`` or ``scores`` is a dict rather than a list (one value per point).
    ValueError
        If they differ in length, a value is not finite, or a score lies outside its
        interval.
    """
    if isinstance(costs, Mapping) or isinstance(scores, Mapping):
        raise TypeError(
            "costs and scores must be lists of numbers, one per point in the same order; "
            "got a dict"
        )
    if not all(math.isfinite(value) for value in (*costs, *scores)):
        raise ValueError(
            f"costs and scores must be finite numbers; got {list(costs)} and {list(scores)}"
        )
    if len(costs) != len(scores):
        raise ValueError(f"{len(costs)} costs but {len(scores)} scores")
    if intervals is None:
        intervals = [(score, score) for score in scores]
    elif len(intervals) != len(scores):
        raise ValueError(
            f"{len(intervals)} intervals but {len(scores)} scores"
        )
    for score, (low, high) in zip(scores, intervals):
        if not low <= score <= high:
            raise ValueError(
                f"score {score} is not inside its interval ({low}, {high})"
            )
    points = list(zip(costs, intervals))

    def beats(b: int, a: int) -> bool:
        (cost_b, (low_b, high_b)), (cost_a, (low_a, high_a)) = (
            points[b],
            points[a],
        )
        return (
            cost_b <= cost_a
            and high_b >= low_a
            and (cost_b < cost_a or low_b > high_a)
        )

    return [
        not any(beats(b, a) for b in range(len(points)) if b != a)
        for a in range(len(points))
    ]


def plot_method_tradeoffs(
    table: pd.DataFrame,
    score: str,
    costs: Mapping[str, str],
    title: str,
    interval: tuple[str, str] | None = None,
) -> Axes:
    """Score against each cost, one panel per cost; Pareto-optimal methods filled.

    ``table`` has one row per method (its index), a ``score`` column and the columns named
    in ``costs`` (``{column: axis label}``). With ``interval`` (the names of the columns
    holding each score's low and high ends), scores get error bars and the Pareto front
    counts only differences beyond them (:func:`pareto_front`). Costs are drawn on a log
    scale. Every method has its own marker and colour in every panel, named in a legend
    below the panels (clustered points would hide labels written beside them); the
    methods on a panel's front are filled. Returns the first panel.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a DataFrame, one row per method; got {type(table).__name__}"
        )
    require_mapping(costs, "costs", "{'trainable': 'trainable parameters'}")
    missing = [
        column
        for column in (score, *costs, *(interval or ()))
        if column not in table.columns
    ]
    if missing:
        raise ValueError(
            f"columns {missing} not in the table; it has {list(table.columns)}"
        )
    bounds = (
        list(zip(table[interval[0]], table[interval[1]]))
        if interval
        else None
    )
    figure, axes = plt.subplots(
        1,
        len(costs),
        figsize=(4.6 * len(costs), 4.0),
        dpi=100,
        layout="constrained",
        squeeze=False,
    )
    for ax, (column, label) in zip(axes[0], costs.items()):
        front = pareto_front(list(table[column]), list(table[score]), bounds)
        if interval:
            ax.errorbar(
                table[column],
                table[score],
                yerr=[
                    table[score] - table[interval[0]],
                    table[interval[1]] - table[score],
                ],
                fmt="none",
                ecolor="0.55",
                elinewidth=1,
                capsize=2,
                zorder=1,
            )
        for i, ((method, row), best) in enumerate(
            zip(table.iterrows(), front)
        ):
            colour = plt.get_cmap("tab20")(i % 20)
            ax.scatter(
                row[column],
                row[score],
                marker=_MARKERS[i % len(_MARKERS)],
                s=44,
                facecolors=colour if best else "white",
                edgecolors=colour,
                linewidths=1.4,
                zorder=2,
                label=str(method),
            )
        ordered = table[front].sort_values(column)
        ax.step(
            ordered[column],
            ordered[score],
            where="post",
            linestyle="--",
            linewidth=1,
            color="C0",
            alpha=0.6,
        )
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(score)
        ax.grid(alpha=0.3)
        ax.set_title(f"{score} against {label.split(' (')[0]}", fontsize=10)
    figure.suptitle(title)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(len(labels), 6),
        fontsize=8,
        title="method (filled: on that panel's front)",
        title_fontsize=8,
    )
    return axes[0][0]


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
    ax = _new_axes(6.0, 5.0)
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


def plot_training_curve(
    curve: pd.DataFrame, title: str = "Training curve"
) -> Axes:
    """The losses (left axis) and the validation score (right axis) by optimizer step,
    from :func:`helpers.training_curve`."""
    if not isinstance(curve, pd.DataFrame) or "train_loss" not in curve:
        raise TypeError(
            "expected the frame of helpers.training_curve(predictor), with a "
            "train_loss column"
        )
    ax = _new_axes()
    lines = []
    for column, style in (("train_loss", "-"), ("val_loss", "--")):
        if column in curve:
            points = curve[column].dropna()
            lines += ax.plot(
                points.index, points, style, marker=".", label=column
            )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    scores = [c for c in curve if c.startswith("val_") and c != "val_loss"]
    if scores:
        right = ax.twinx()
        points = curve[scores[0]].dropna()
        lines += right.plot(
            points.index,
            points,
            ":",
            marker="s",
            color="tab:green",
            label=f"{scores[0]} (right)",
        )
        right.set_ylabel(scores[0])
    ax.legend(handles=lines, loc="center right")
    ax.set_title(title)
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
    ax = _new_axes(height=0.7 * len(errors.columns) + 1.4)
    names = list(errors.columns)[::-1]
    kinds = list(dict.fromkeys(groups))
    for k, group in enumerate(kinds):
        rows = [i for i, g in enumerate(groups) if g == group]
        for y, name in enumerate(names):
            ax.scatter(
                1 + errors[name].iloc[rows],
                [y + 0.12 * (k - (len(kinds) - 1) / 2)] * len(rows),
                marker=_MARKERS[k % len(_MARKERS)],
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
