"""The timing summary of ``make test`` (tests/timing.py)."""

from __future__ import annotations

import sys

import pytest

from tests import timing


@pytest.fixture
def timings(tmp_path, monkeypatch):
    path = tmp_path / "timings.tsv"
    monkeypatch.setattr(timing, "TIMINGS", path)
    return path


def test_run_records_the_phase_and_passes_on_the_exit_status(timings):
    assert timing.main(["reset"]) == 0
    assert (
        timing.main(["run", "ok", "--", sys.executable, "-c", "pass"]) == 0
    )
    assert (
        timing.main(
            [
                "run",
                "broken",
                "--",
                sys.executable,
                "-c",
                "raise SystemExit(3)",
            ]
        )
        == 3
    )
    phases = [
        line.split("\t")[0] for line in timings.read_text().splitlines()
    ]
    assert phases == [timing.START, "ok", "broken (failed)"]


def test_summary_lists_each_phase_and_the_wall_clock_total(
    timings, monkeypatch
):
    monkeypatch.setattr(timing.time, "time", lambda: 1000.0)
    timing.reset()
    monkeypatch.setattr(timing.time, "time", lambda: 1000.0 + 196.0)
    timing.record("install (.venv)", 61.0)
    timing.record("notebook 03_flan_t5_xl_checkpointing", 125.4)
    timing.record("unit tests", 9.6)
    table = timing.summary().splitlines()
    assert table[0].split() == ["phase", "time"]
    assert table[1].startswith("install (.venv)") and table[1].endswith(
        "1 min 01 s"
    )
    assert table[2].endswith("2 min 05 s") and table[3].endswith("10 s")
    assert table[-1].startswith("total (wall clock)") and table[-1].endswith(
        "3 min 16 s"
    )
    assert len(table) == 5


def test_notebook_items_and_unit_tests_are_separate_phases():
    assert (
        timing._phase_of("notebooks/01_multilingual_baseline.ipynb::Cell 3")
        == "notebook 01_multilingual_baseline"
    )
    assert (
        timing._phase_of("book/workshop.ipynb::Cell 0")
        == "notebook workshop"
    )
    assert timing._phase_of("tests/test_cache.py::test_x[a]") == "unit tests"


def test_bad_usage_is_refused(timings, capsys):
    assert timing.main(["run", "no-separator", "true"]) == 2
    assert "usage" in capsys.readouterr().err
