"""The nbval plugin that compares decimals to one unit of their last printed digit."""

from __future__ import annotations

import nbformat

from tests.nbval_numbers import _align_output, align_text, drift


def test_a_last_digit_apart_is_the_committed_number():
    assert align_text("ROC-AUC 0.5782", "ROC-AUC 0.5781") == "ROC-AUC 0.5781"
    assert (
        align_text("-0.1% and +2.4%", "+0.0% and +2.5%") == "+0.0% and +2.5%"
    )


def test_larger_differences_and_integers_still_differ():
    assert align_text("0.5800", "0.5781") == "0.5800"  # 19 units
    assert align_text("0.58 0.59", "0.57 0.57") == "0.57 0.59"
    assert align_text("12 layers 0.50", "13 layers 0.50") == "12 layers 0.50"
    assert align_text("0.578", "0.5781") == "0.578"  # another precision
    assert align_text("score: 0.58", "loss: 0.58") == "score: 0.58"


def test_streams_and_rich_outputs_are_aligned():
    fresh = nbformat.v4.new_output("stream", name="stdout", text="a 0.12\n")
    committed = nbformat.v4.new_output(
        "stream", name="stdout", text="a 0.13\n"
    )
    assert _align_output(fresh, committed).text == "a 0.13\n"
    assert fresh.text == "a 0.12\n"  # the fresh output itself is untouched
    table = nbformat.v4.new_output(
        "execute_result", data={"text/html": "<td>0.9991</td>"}
    )
    reference = nbformat.v4.new_output(
        "execute_result", data={"text/html": "<td>0.9990</td>"}
    )
    aligned = _align_output(table, reference)
    assert aligned.data["text/html"] == "<td>0.9990</td>"


def test_drift_is_counted_in_units_of_the_last_digit():
    assert drift("AUC 0.5974 of 1,200", "AUC 0.5991 of 1,200") == (
        17.0,
        "0.5991 -> 0.5974",
    )
    assert drift("12 layers", "13 layers") == (1.0, "13 -> 12")
    assert drift("same 0.50", "same 0.50") == (0.0, "")
    assert drift("score: 0.58", "loss: 0.58") is None  # another shape
