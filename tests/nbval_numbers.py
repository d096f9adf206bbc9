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
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nbval import plugin

#: A decimal number as a notebook prints it: a sign, digits, a point and decimals.
DECIMAL = re.compile(r"([-+]?\d+\.\d+)")


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


_compare_outputs = plugin.IPyNbCell.compare_outputs


def compare_outputs(self, test, ref, skip_compare=None):  # noqa: ANN001, ANN201
    """nbval's comparison, after aligning each fresh output with the committed one."""
    aligned = [_align_output(t, r) for t, r in zip(test, ref)]
    return _compare_outputs(
        self, aligned + test[len(ref) :], ref, skip_compare
    )


plugin.IPyNbCell.compare_outputs = compare_outputs
