"""The kernel-path run's table: the largest drift per notebook, from the drift lines."""

from __future__ import annotations

import json

from tests.kernel_paths import PATHS, worst_drift


def test_the_largest_drift_of_each_notebook_is_kept(tmp_path):
    report = tmp_path / "avx2.jsonl"
    lines = [
        {"notebook": "a.ipynb", "cell": 1, "units": 1.0, "example": "1 -> 2", "reshaped": False},
        {"notebook": "a.ipynb", "cell": 2, "units": 17.0, "example": "0.5991 -> 0.5974", "reshaped": True},
        {"notebook": "b.ipynb", "cell": 1, "units": 0.0, "example": "", "reshaped": False},
    ]  # fmt: skip
    report.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert worst_drift(report) == {
        "a.ipynb": (17.0, "0.5991 -> 0.5974", 1),
        "b.ipynb": (0.0, "", 0),
    }


def test_the_paths_differ_and_native_changes_nothing():
    assert PATHS["native"] == {}
    assert PATHS["avx2"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert PATHS["default"]["ATEN_CPU_CAPABILITY"] == "default"
