"""Every decimal number a chapter's prose states comes from its run, or is a named
exception.

A decimal in a markdown cell passes when a number printed by the chapter (an output, or
its code, the Checks included) rounds to it: 0.017% passes where 0.0167% is printed, and
"4.76 billion" where 4,762,712,066 is. The Prerequisites row "`full` on a Colab T4" is
computed and kept equal to ``helpers.needs`` by ``tests/test_needs.py``; version numbers
("AutoGluon 1.6") are names. What remains is listed below with where it comes from.
Integers in prose (reviews, epochs, years) are the set-up the code shows beside them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DECIMAL = re.compile(r"(?<![\w.\-/])(\d+\.\d+)(?![\w.])( billion| million)?")
INTEGER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\w.])")
VERSION = re.compile(r"(AutoGluon|transformers|torch|Python) \d+\.\d+")

#: (chapter, number): where a number that no output prints comes from.
CITED = {
    (
        "01",
        "0.58",
    ): "MiniLM's German score, measured once while writing (it says so)",
    (
        "03",
        "4.9",
    ): "the setup page's arithmetic: XL's encoder moved back to the CPU",
    (
        "03",
        "12.7",
    ): "Colab's free RAM, helpers.needs.COLAB_RAM_GB (cited there)",
    (
        "03",
        "15.0",
    ): "a T4 in nvidia-smi, helpers.gpus.GPU_SPECS (cited there)",
    (
        "03",
        "14.56",
    ): "a T4's CUDA total, helpers.gpus.GPU_SPECS (cited there)",
    (
        "03",
        "13.56",
    ): "usable_gpu_gib('T4'), printed as 13.6 GiB by the chapter",
    (
        "05",
        "14.56",
    ): "a T4's CUDA total, helpers.gpus.GPU_SPECS (cited there)",
    (
        "06",
        "1.01",
    ): "the process peak over the weights, both printed above it",
    ("06", "13.56"): "usable_gpu_gib('T4'), asserted by the chapter's check",
    (
        "06",
        "8.0",
    ): "the compute capability bf16 arrived with, NVIDIA's list (cited)",
}


def _printed(notebook: nbformat.NotebookNode) -> list[float]:
    """Every number the chapter's code and outputs hold; integers also in billions
    and millions."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append(output.get("text", "") + data.get("text/plain", ""))
    text = "\n".join(texts)
    values = [float(number) for number, _ in DECIMAL.findall(text)]
    for number in INTEGER.findall(text):
        n = int(number.replace(",", ""))
        values += [n / 1e9, n / 1e6]
    return values


def _prose(cell: nbformat.NotebookNode) -> str:
    """A markdown cell without its computed Prerequisites row, code, maths and links."""
    lines = cell.source.splitlines()
    text = "\n".join(
        line
        for line in lines
        if not line.startswith("| `full` on a Colab T4")
    )
    for pattern in (
        r"`[^`]*`",
        r"\$[^$]*\$",
        r"\]\([^)]*\)",
        VERSION.pattern,
    ):
        text = re.sub(pattern, "", text)
    return text


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_decimal_in_the_prose_is_printed_or_cited(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    printed = _printed(notebook)
    chapter = path.name[:2]
    unexplained = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in DECIMAL.finditer(_prose(cell)):
            number = match[1]
            places = len(number.split(".")[1])
            value = float(number)
            if (chapter, number) in CITED or any(
                round(p, places) == value or round(100 * p, places) == value
                for p in printed
            ):
                continue
            unexplained.append(match[0])
    assert not unexplained, (
        f"{path.name}: numbers in the prose that no output prints: "
        f"{unexplained}; print them, glue them, or cite them in CITED"
    )


def test_every_cited_number_is_still_in_its_chapter() -> None:
    """An exception for a number the prose no longer states is dead."""
    prose = {
        path.name[:2]: "\n".join(
            _prose(c)
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "markdown"
        )
        for path in CHAPTERS
    }
    for chapter, number in CITED:
        assert number in prose[chapter], (chapter, number)
