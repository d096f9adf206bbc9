from __future__ import annotations

from helpers.gpus import CHART_GPUS, GPU_MEMORY_GIB, usable_gpu_gib
from helpers.plots import (
    plot_memory_timeline,
    plot_peak_memory,
    plot_trainable_parameters,
)
from helpers.score_plots import plot_scores_by_language

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer

SCORES = pd.DataFrame(
    {
        "full finetuning": [0.99, 0.52, 0.5, 0.49],
        "ia3_bias": [0.98, 0.5, 0.51, 0.5],
    },
    index=pd.Index(
        ["English", "German", "French", "Japanese"], name="language"
    ),
)


def _assert_labelled(ax):
    assert isinstance(ax, Axes)
    assert ax.get_xlabel().strip(), "x label missing"
    assert ax.get_ylabel().strip(), "y label missing"
    assert ax.get_title().strip(), "title missing"


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plot_memory_timeline(
            {"fit": [(0.0, 1.0), (0.5, 2.5), (1.0, 1.2)]}
        ),
        lambda: plot_peak_memory({"full": 6.5, "ia3_bias": 2.1}),
        lambda: plot_trainable_parameters(
            {
                "full": (22_700_000, 22_700_000),
                "ia3_bias": (178_946, 22_700_000),
            }
        ),
        lambda: plot_scores_by_language(SCORES),
    ],
    ids=["timeline", "peak", "parameters", "scores"],
)
def test_every_plot_is_labelled(draw):
    before = len(plt.get_fignums())
    ax = draw()
    _assert_labelled(ax)
    assert len(plt.get_fignums()) == before + 1  # a new figure each time
    assert (
        "GiB" in ax.get_ylabel()
        or "parameters" in ax.get_ylabel()
        or "roc_auc" in ax.get_ylabel()
    )


def test_memory_timeline_draws_one_line_per_run():
    samples = {
        "no checkpointing": [(0.0, 1.0), (1.0, 3.0)],
        "checkpointing": [(0.0, 1.0), (2.0, 2.0), (3.0, 1.5)],
    }
    ax = plot_memory_timeline(samples, title="Step memory")
    assert ax.get_title() == "Step memory"
    assert [line.get_label() for line in ax.lines] == list(samples)
    assert list(ax.lines[1].get_xdata()) == [0.0, 2.0, 3.0]
    assert list(ax.lines[1].get_ydata()) == [1.0, 2.0, 1.5]
    # not colour alone
    assert ax.lines[0].get_linestyle() != ax.lines[1].get_linestyle()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(
        samples
    )


def test_memory_timeline_refuses_an_empty_run():
    with pytest.raises(ValueError, match="'empty'"):
        plot_memory_timeline({"ok": [(0, 1)], "empty": []})


def test_peak_memory_bars_and_t4_line():
    peaks = {"xl ia3 b8": 14.41, "xl ia3 b8 + checkpointing": 7.56}
    ax = plot_peak_memory(peaks)
    assert [bar.get_height() for bar in ax.patches] == list(peaks.values())
    lines = [line.get_ydata()[0] for line in ax.lines]
    # what a T4's allocator can hand out, not the 15.0 GiB nvidia-smi shows
    assert usable_gpu_gib("T4") in lines and 15.0 not in lines
    texts = [text.get_text() for text in ax.texts]
    assert "T4: 13.6 GiB usable" in texts
    assert "14.41" in texts and "7.56" in texts
    assert ax.get_ylim()[1] > 14.41  # the T4 line and the bars are inside
    assert "GiB" in ax.get_ylabel()


def test_peak_memory_leaves_out_far_away_gpus():
    ax = plot_peak_memory({"small": 1.0})
    assert [
        text.get_text() for text in ax.texts if "GiB" in text.get_text()
    ] == ["T4: 13.6 GiB usable"]
    ax = plot_peak_memory({"big": 30.0})
    shown = {
        text.get_text() for text in ax.texts if "GiB" in text.get_text()
    }
    assert shown == {
        "T4: 13.6 GiB usable",
        "A10G: 21.0 GiB usable",
        "A100-40GB: 38.4 GiB usable",
    }
    assert ax.get_ylim()[1] >= 38.4


def test_peak_memory_with_chosen_gpus():
    ax = plot_peak_memory({"a": 10.0}, gpus=("L4",), title="On an L4")
    assert [line.get_ydata()[0] for line in ax.lines] == [
        usable_gpu_gib("L4")
    ]
    assert ax.get_title() == "On an L4"


def test_peak_memory_unknown_gpu():
    with pytest.raises(ValueError, match="T5000"):
        plot_peak_memory({"a": 1.0}, gpus=("T4", "T5000"))


def test_chart_gpus_are_known():
    assert set(CHART_GPUS) <= set(GPU_MEMORY_GIB)
    assert GPU_MEMORY_GIB["T4"] == 15.0


def test_trainable_parameters_log_scale_and_share():
    ax = plot_trainable_parameters(
        {"full": (1000, 1000), "ia3_bias": (10, 1000)}
    )
    assert ax.get_yscale() == "log"
    trainable_bars, total_bars = ax.containers[0], ax.containers[1]
    assert [bar.get_height() for bar in trainable_bars] == [1000, 10]
    assert [bar.get_height() for bar in total_bars] == [1000, 1000]
    texts = [text.get_text() for text in ax.texts]
    assert "100%" in texts and "1%" in texts
    assert [tick.get_text() for tick in ax.get_xticklabels()] == [
        "full",
        "ia3_bias",
    ]


def test_scores_by_language():
    ax = plot_scores_by_language(SCORES, metric="roc_auc")
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(
        SCORES.index
    )
    assert len(ax.containers) == 2
    assert [round(bar.get_height(), 2) for bar in ax.containers[1]] == list(
        SCORES["ia3_bias"]
    )
    # chance line
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in ax.lines)
    assert ax.get_ylim() == (0, 1.1)
    assert "roc_auc" in ax.get_ylabel() and "roc_auc" in ax.get_title()
    assert (
        plot_scores_by_language(
            SCORES, metric="accuracy", title="Accuracy"
        ).get_title()
        == "Accuracy"
    )


def test_scores_by_language_refuses_empty_scores():
    with pytest.raises(ValueError, match="no scores"):
        plot_scores_by_language(pd.DataFrame())


def test_pareto_front():
    from helpers.score_plots import pareto_front

    #               cheap+good  dominated  costly+best  equal to first
    assert pareto_front([1, 2, 10, 1], [0.8, 0.7, 0.9, 0.8]) == [
        True,
        False,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="3 costs but 2 scores"):
        pareto_front([1, 2, 3], [0.5, 0.6])


def test_pareto_front_counts_only_differences_beyond_the_intervals():
    from helpers.score_plots import pareto_front

    costs, scores = [1, 2, 3, 4], [0.80, 0.83, 0.95, 0.70]
    # without intervals each costlier point scores higher: all but the last on the front
    assert pareto_front(costs, scores) == [True, True, True, False]
    intervals = [(0.75, 0.85), (0.78, 0.88), (0.92, 0.98), (0.60, 0.84)]
    # 0.83 is inside the noise of the cheaper 0.80; 0.95 is beyond it; the last point's
    # interval overlaps the cheaper ones', so it is beaten by them as before
    assert pareto_front(costs, scores, intervals) == [
        True,
        False,
        True,
        False,
    ]
    # a cheaper point whose interval lies wholly below does not beat a costlier one
    assert pareto_front([1, 2], [0.5, 0.9], [(0.4, 0.6), (0.85, 0.95)]) == [
        True,
        True,
    ]
    with pytest.raises(ValueError, match="1 intervals but 2 scores"):
        pareto_front([1, 2], [0.5, 0.9], [(0.4, 0.6)])
    with pytest.raises(ValueError, match="not inside its interval"):
        pareto_front([1], [0.5], [(0.6, 0.7)])


def test_method_tradeoffs_and_predicted_vs_measured():
    from helpers.plots import plot_predicted_vs_measured
    from helpers.score_plots import plot_method_tradeoffs

    table = pd.DataFrame(
        {
            "English": [0.9, 0.8],
            "trainable": [1e7, 1e5],
            "peak_gib": [2.0, 1.0],
        },
        index=["full", "ia3"],
    )
    ax = plot_method_tradeoffs(
        table,
        "English",
        {"trainable": "trainable parameters", "peak_gib": "peak (GiB)"},
        "t",
    )
    assert (
        len(ax.figure.axes) == 2
        and ax.get_xscale() == "log"
        and ax.get_ylabel() == "English"
    )
    with pytest.raises(ValueError, match=r"columns \['missing'\]"):
        plot_method_tradeoffs(table, "missing", {"trainable": "x"}, "t")
    # with intervals: error bars, and a difference inside them names only the cheaper
    table["low"], table["high"] = [0.85, 0.7], [0.95, 0.86]
    ax = plot_method_tradeoffs(
        table, "English", {"trainable": "t"}, "t", interval=("low", "high")
    )
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    full_bar, ia3_bar = bars.lines[2][0].get_segments()
    assert full_bar.ravel().tolist() == pytest.approx([1e7, 0.85, 1e7, 0.95])
    assert ia3_bar.ravel().tolist() == pytest.approx([1e5, 0.7, 1e5, 0.86])
    # every method in the legend; only the cheaper one filled (on the front)
    (legend,) = ax.figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["full", "ia3"]
    full_point, ia3_point = ax.collections[-2:]
    assert full_point.get_facecolor()[0].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert ia3_point.get_facecolor()[0].tolist() != [1.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"columns \['hi'\]"):
        plot_method_tradeoffs(
            table, "English", {"trainable": "t"}, "t", interval=("low", "hi")
        )
    ax = plot_predicted_vs_measured([1.0, 2.1], [1.05, 2.0], ["a", "a"], "t")
    _assert_labelled(ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "prediction = measurement",
        "within 10%",
        "a",
    ]
    with pytest.raises(ValueError, match="as many"):
        plot_predicted_vs_measured([1.0], [1.0, 2.0], ["a"], "t")
