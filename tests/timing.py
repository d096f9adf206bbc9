"""The timing summary that ends ``make test``: install, unit tests, each notebook, book, checks.

Three uses, all writing to one file, ``_build/timings.tsv`` (``phase<TAB>seconds``):

* ``python3 -m tests.timing reset``: start a new summary (and its wall clock);
* ``python3 -m tests.timing run <phase> -- <command ...>``: run a command, record its wall
  time, and pass on its exit status (a failed phase is recorded too, marked as failed);
* as a pytest plugin (``-p tests.timing``): the wall time of each notebook nbval runs, and of
  all unit-test files together, recorded as their own phases;
* ``python3 -m tests.timing summary``: print the table. Phases may overlap (the unit tests
  and the book's build and checks run side by side), so the total is the wall-clock time
  since ``reset``, not the sum of the rows.

Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

TIMINGS = Path(__file__).resolve().parent.parent / "_build" / "timings.tsv"


def record(phase: str, seconds: float) -> None:
    """Append one phase to the summary file."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    with TIMINGS.open("a") as out:
        out.write(f"{phase}\t{seconds:.1f}\n")


START = "started at"


def reset() -> None:
    """Start a new summary: forget the phases, start the wall clock."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(f"{START}\t{time.time():.1f}\n")


def summary() -> str:
    """The recorded phases as a table, and the wall-clock time since :func:`reset`."""
    rows = (
        [line.split("\t") for line in TIMINGS.read_text().splitlines()]
        if TIMINGS.is_file()
        else []
    )
    started = [float(seconds) for phase, seconds in rows if phase == START]
    rows = [
        (phase, float(seconds)) for phase, seconds in rows if phase != START
    ]
    width = max([len(phase) for phase, _ in rows] + [24])
    lines = [f"{'phase':<{width}}  {'time':>9}"]
    lines += [
        f"{phase:<{width}}  {_minutes(seconds):>9}"
        for phase, seconds in rows
    ]
    if started:
        lines.append(
            f"{'total (wall clock)':<{width}}  {_minutes(time.time() - started[0]):>9}"
        )
    return "\n".join(lines)


def _minutes(seconds: float) -> str:
    whole, rest = divmod(round(seconds), 60)
    return f"{whole} min {rest:02d} s" if whole else f"{rest} s"


# --- pytest plugin -----------------------------------------------------------------------------
_seconds: dict[
    str, float
] = {}  # phase -> wall time of its items, setup and teardown included


def _phase_of(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return (
        f"notebook {Path(path).stem}"
        if path.endswith(".ipynb")
        else "unit tests"
    )


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    phase = _phase_of(nodeid)
    _seconds[phase] = _seconds.get(phase, 0.0) - time.perf_counter()


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    phase = _phase_of(nodeid)
    _seconds[phase] += time.perf_counter()


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    for phase, seconds in _seconds.items():
        record(phase, seconds)


# --- command line ------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    if argv[:1] == ["reset"]:
        reset()
        return 0
    if argv[:1] == ["summary"]:
        print(summary())
        return 0
    if len(argv) >= 4 and argv[0] == "run" and argv[2] == "--":
        start = time.perf_counter()
        # a make below keeps its jobserver
        status = subprocess.call(argv[3:], close_fds=False)
        record(
            argv[1] + ("" if status == 0 else " (failed)"),
            time.perf_counter() - start,
        )
        return status
    print(
        "usage: python3 -m tests.timing reset | summary | run <phase> -- <command ...>",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
