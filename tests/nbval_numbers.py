"""nbval plugin: a decimal number may differ by one unit in its last printed digit.

The committed outputs come from one x86-64 CPU; CI runs on others of the same kind, and
their math libraries pick different vector kernels (AVX-512 on one, AVX2 on another),
which sum in another order. A fit's score can then end in 0.5782 on one machine and
0.5781 on the next. The lesson never rests on the last digit, so nbval compares every
decimal number to one unit of the last digit it shows, the same way on every machine;
anything larger still fails, and integers (counts, batch sizes) are compared exactly.

Used by ``make test``: ``pytest -p tests.nbval_numbers --nbval ...``. It aligns each
fresh output with the committed one before nbval's own comparison (and its sanitizer)
runs: where the two texts have the same shape and a number differs by at most one unit
of its last digit, the committed number is taken.

With ``$PEFT_BOOK_DRIFT_REPORT`` set to a file, it also measures how far each fresh
output drifted: for every compared output whose sanitized texts have the same shape, the
largest difference of a printed number from the committed one, in units of its last
digit, appended as a JSON line (``tests/kernel_paths.py`` runs every notebook under
several math-kernel paths this way and tabulates the lines).
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

from nbval import plugin

#: A decimal number as a notebook prints it: a sign, digits, a point and decimals.
DECIMAL = re.compile(r"([-+]?\d+\.\d+)")
#: Any printed number, integers included (thousands separators kept inside).
NUMBER = re.compile(r"([-+]?\d[\d,]*(?:\.\d+)?)")
#: The file that :func:`compare_outputs` appends drift lines to, when set.
DRIFT_REPORT_ENV = "PEFT_BOOK_DRIFT_REPORT"


def within_last_digit(fresh: str, committed: str) -> bool:
    """Whether two printed decimals have as many decimals and differ by at most one
    unit of the last one."""
    decimals = len(committed.split(".")[1])
    if len(fresh.split(".")[1]) != decimals:
        return False
    return abs(float(fresh) - float(committed)) <= 1.0001 * 10.0**-decimals


def align_text(fresh: str, committed: str) -> str:
    """``fresh`` with each decimal that is within one last-digit unit of the committed
    one replaced by it; ``fresh`` itself where the texts differ in shape."""
    if fresh == committed:
        return fresh
    a, b = DECIMAL.split(fresh), DECIMAL.split(committed)
    if len(a) != len(b) or a[::2] != b[::2]:
        return fresh
    return "".join(
        y if i % 2 and within_last_digit(x, y) else x
        for i, (x, y) in enumerate(zip(a, b))
    )


def _align_output(fresh: dict[str, Any], committed: dict[str, Any]) -> dict:
    aligned = copy.deepcopy(fresh)
    if isinstance(aligned.get("text"), str) and isinstance(
        committed.get("text"), str
    ):
        aligned["text"] = align_text(aligned["text"], committed["text"])
    for mime, value in aligned.get("data", {}).items():
        other = committed.get("data", {}).get(mime)
        if isinstance(value, str) and isinstance(other, str):
            aligned["data"][mime] = align_text(value, other)
    return aligned


def drift(fresh: str, committed: str) -> tuple[float, str] | None:
    """The largest difference of a number in ``fresh`` from the committed one, in units
    of its last printed digit (integers: units), with the pair as ``"committed -> fresh"``;
    ``(0.0, "")`` where every number is equal, ``None`` where the texts differ in shape."""
    a, b = NUMBER.split(fresh), NUMBER.split(committed)
    if len(a) != len(b) or a[::2] != b[::2]:
        return None
    worst: tuple[float, str] = (0.0, "")
    for x, y in zip(a[1::2], b[1::2]):
        decimals = len(y.split(".")[1]) if "." in y else 0
        units = (
            abs(float(x.replace(",", "")) - float(y.replace(",", "")))
            * 10.0**decimals
        )
        if round(units, 6) > worst[0]:
            worst = (round(units, 6), f"{y} -> {x}")
    return worst


def _texts(output: dict[str, Any]) -> dict[str, str]:
    texts = {
        mime: value
        for mime, value in output.get("data", {}).items()
        if isinstance(value, str) and mime.startswith("text/")
    }
    if isinstance(output.get("text"), str):
        texts["text"] = output["text"]
    return texts


def _record_drift(cell: Any, test: list, ref: list) -> None:
    """Append the cell's largest drift to ``$PEFT_BOOK_DRIFT_REPORT`` (a JSON line)."""
    worst: tuple[float, str] = (0.0, "")
    reshaped = False
    for fresh, committed in zip(test, ref):
        fresh_texts = _texts(fresh)
        for key, text in _texts(committed).items():
            other = fresh_texts.get(key)
            if other is None:
                continue
            found = drift(cell.sanitize(other), cell.sanitize(text))
            if found is None:
                reshaped = True
            elif found[0] > worst[0]:
                worst = found
    line = {
        "notebook": Path(str(cell.parent.fspath)).name,
        "cell": cell.cell_num,
        "units": worst[0],
        "example": worst[1],
        "reshaped": reshaped or len(test) != len(ref),
    }
    with open(os.environ[DRIFT_REPORT_ENV], "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


_compare_outputs = plugin.IPyNbCell.compare_outputs


def compare_outputs(self, test, ref, skip_compare=None):  # noqa: ANN001, ANN201
    """nbval's comparison, after aligning each fresh output with the committed one."""
    if os.environ.get(DRIFT_REPORT_ENV):
        _record_drift(self, test, ref)
    aligned = [_align_output(t, r) for t, r in zip(test, ref)]
    return _compare_outputs(
        self, aligned + test[len(ref) :], ref, skip_compare
    )


plugin.IPyNbCell.compare_outputs = compare_outputs
