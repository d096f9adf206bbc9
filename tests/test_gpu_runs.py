"""Today's planner against every GPU record the book ships (helpers/data/gpu_runs)."""

from __future__ import annotations

from helpers.gpu_runs import TABLE_COLUMNS, gpu_runs

import pytest

#: Chapters 5 and 6 claim the planner is within 10% of a measured step.
TOLERANCE = 0.10


def test_the_h200_record_is_shipped_and_read():
    (h200,) = [run for run in gpu_runs() if run.card == "NVIDIA H200"]
    assert h200.planner_gpu == "H200" and h200.date == "2026-12-04"
    assert h200.versions["torch"] == "2.11.0"
    table = h200.planner_table()
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert len(table) == 64
    assert set(table["chapter"]) == {"ch3", "ch5", "ch6"}
    assert len(h200.planner_table("ch3")) == 4


@pytest.mark.parametrize("run", gpu_runs(), ids=lambda run: run.name)
def test_the_planner_holds_within_ten_percent_on_cuda(run):
    table = run.planner_table()
    off = table[table["error"].abs() > TOLERANCE]
    assert off.empty, f"{run.describe()}: outside 10%:\n{off.to_string()}"
    assert table["error"].abs().median() < 0.02
