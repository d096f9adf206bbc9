"""The book's figures of scores: ROC-AUC by language, the methods' trade-offs and their
Pareto front, and a fit's training curve.

Every function draws on a new figure and returns its ``matplotlib.axes.Axes``, labelled with
units and a title, in a style that stays readable in print (:mod:`helpers._figures`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from ._checks import require_mapping
from ._figures import HATCHES, MARKERS, label_bars, new_axes


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
    ax = new_axes()
    scores.plot.bar(ax=ax, rot=0, edgecolor="black", ylim=(0, 1.1))
    for container, hatch in zip(ax.containers, HATCHES):
        for bar in container:
            bar.set_hatch(hatch)
    label_bars(ax, "%.2f")
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
        _tradeoff_panel(ax, table, score, column, label, interval, bounds)
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


def _tradeoff_panel(
    ax: Axes,
    table: pd.DataFrame,
    score: str,
    column: str,
    label: str,
    interval: tuple[str, str] | None,
    bounds: list[tuple[float, float]] | None,
) -> None:
    """One panel of :func:`plot_method_tradeoffs`: ``score`` against the cost
    ``column``, the methods on the Pareto front filled."""
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
    for i, ((method, row), best) in enumerate(zip(table.iterrows(), front)):
        colour = plt.get_cmap("tab20")(i % 20)
        ax.scatter(
            row[column],
            row[score],
            marker=MARKERS[i % len(MARKERS)],
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
    ax = new_axes()
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
