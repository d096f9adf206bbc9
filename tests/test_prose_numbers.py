"""Every decimal number a chapter's prose states comes from its run, or is a named
exception.

A decimal in a markdown cell passes when a number printed by the chapter (an output, or
its code, the Checks included) rounds to it: 0.017% passes where 0.0167% is printed, and
"4.76 billion" where 4,762,712,066 is. The Prerequisites row "`full` on a Colab T4" is
computed and kept equal to ``helpers.needs`` by ``tests/test_needs.py``, the row "RAM,
`tiny` profile" equal to the committed run's measured peak by ``tests/test_notebooks.py``; version numbers
("AutoGluon 1.6") are names. What remains is listed below with where it comes from.
Integers above 10 pass the same way, or when the book's settings hold them (the
profiles, the published configurations, the GPUs' memory: :func:`_book_settings`);
years and smaller counts are not checked.
"""

from __future__ import annotations

import dataclasses
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
        "0.5",
    ): "the tutorial's 'around 0.5%', quoted in the published-figures box",
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
        "1.03",
    ): "the process peak over the weights, both printed above it",
    ("06", "13.56"): "usable_gpu_gib('T4'), asserted by the chapter's check",
    (
        "06",
        "8.0",
    ): "the compute capability bf16 arrived with, NVIDIA's list (cited)",
}


def _code_and_outputs(notebook: nbformat.NotebookNode) -> str:
    """The chapter's code cells and their text outputs, one text."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append(output.get("text", "") + data.get("text/plain", ""))
    return "\n".join(texts)


def _printed(notebook: nbformat.NotebookNode) -> list[float]:
    """Every number the chapter's code and outputs hold; integers also in billions
    and millions."""
    text = _code_and_outputs(notebook)
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
        if not line.startswith(("| `full` on a Colab T4", "| RAM, `tiny`"))
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
    for chapter, number in [*CITED, *CITED_INTEGERS]:
        assert number in prose[chapter], (chapter, number)


#: An integer of the prose: "1,000", "192M", "278 million", "30%"; years and numbers
#: inside names ("T5", "A100-40GB", "bf16", "e5-small") are not.
PROSE_INTEGER = re.compile(
    r"(?<![\w.\-/,#])(\d{1,3}(?:,\d{3})+|\d+)"
    r"(M\b| million\b|%)?(?![\w.,]\d|[\w\-])"
)
YEAR = range(1900, 2100)

#: (chapter, integer as written): where an integer that neither an output nor the
#: book's settings (:func:`_book_settings`) hold comes from.
CITED_INTEGERS = {
    ("01", "16"): "a 16 GB GPU: the T4, nvidia-smi's 15,360 MiB (GPU_SPECS)",
    ("02", "16"): "a 16 GB GPU: the T4, nvidia-smi's 15,360 MiB (GPU_SPECS)",
    ("01", "250,002"): "pieces of XLM-R's tokenizer (its tokenizer.json)",
    ("01", "192M"): "250,002 x 768, mDeBERTa-v3-base's embedding",
    ("01", "278M"): "278,220,290: parameter_counts of mDeBERTa's config",
    ("05", "278 million"): "278,220,290: parameter_counts of its config",
    ("01", "96M"): "250,002 x 384, multilingual-e5-small's embedding",
    ("02", "296,066"): "lora on tiny's e5-small: ch. 4's 148,226 + pooler",
    ("02", "147,840"): "e5-small's pooler: 384 x 384 + 384 (chapter 4)",
    ("02", "148,226"): "lora's trainable count in chapter 4's table",
    ("03", "18"): "16 bytes x 1.2B parameters of XL's encoder",
    ("03", "11"): "FLAN-T5-XL's download, 11.5 GB (helpers.needs)",
    ("03", "200,000"): "the 203,778 trainable parameters the chapter prints",
    ("03", "50"): "MemoryMonitor's interval, 0.05 s (helpers.memory)",
    ("04", "13"): "11 method fits, printed, and the 2 placement fits",
    ("04", "240"): "4/5 of the profile's 300 reviews (AutoGluon's split)",
    ("04", "60"): "1/5 of the profile's 300 reviews (AutoGluon's split)",
    ("04", "512"): "AutoGluon's default model.hf_text.max_text_len",
    ("04", "25"): "LoRA's epochs, RoBERTa-base (Hu et al., 2021, Table 9)",
    ("06", "193 million"): "one XXL block: 4 x 4,096^2 + 3 x 4,096 x 10,240",
    ("06", "65,504"): "fp16's largest value (IEEE 754 half precision)",
    ("02", "95%"): "the intervals' level: level=0.95 in helpers.evaluation",
}


def _book_settings() -> set[int]:
    """Integers the book's own settings hold, each cited where it is set: the fields of
    both profiles (chapter 4's budget included), the published configurations the
    planner knows, the GPUs' memory in nvidia-smi, and the pieces the tiny profile's
    vocabulary keeps."""
    from helpers import _configs, _e5_small, gpus, profiles

    def integers(values) -> set[int]:
        return {
            v
            for v in values
            if isinstance(v, int) and not isinstance(v, bool)
        }

    found = set()
    for profile in profiles._PROFILES.values():
        fields = dataclasses.asdict(profile)
        found |= integers(fields.pop("shootout").values())
        found |= integers(fields.values())
        found |= integers(v for v in fields.values() if isinstance(v, tuple))
    for name in _configs.PUBLISHED_NAMES:
        found |= integers(vars(_configs.published_config(name)).values())
    found |= {spec.nvidia_smi_mib for spec in gpus.GPU_SPECS.values()}
    return found | integers(_e5_small.COMMON_PIECES.values())


def _printed_integers(notebook: nbformat.NotebookNode) -> set[int]:
    """Every integer the chapter's code and outputs hold."""
    text = _code_and_outputs(notebook)
    return {
        int(n.replace(",", ""))
        for n in re.findall(r"(?<![\d.])\d{1,3}(?:,\d{3})+|\d+", text)
    }


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_integer_in_the_prose_is_printed_or_cited(path: Path) -> None:
    """Integers above 10 (smaller ones count things the reader sees: chapters,
    blocks, epochs); years and version numbers are names."""
    notebook = nbformat.read(path, as_version=4)
    integers = _printed_integers(notebook) | _book_settings()
    millions = {round(n / 1e6) for n in integers}
    decimals = _printed(notebook)
    chapter = path.name[:2]
    unexplained = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in PROSE_INTEGER.finditer(_prose(cell)):
            written, unit = match[1], (match[2] or "").strip()
            value = int(written.replace(",", ""))
            if value <= 10 or (value in YEAR and "," not in written):
                continue
            if (chapter, match[0]) in CITED_INTEGERS:
                continue
            if unit in ("M", "million") and value in millions:
                continue
            if unit == "%" and any(
                round(100 * p) == value for p in decimals
            ):
                continue
            if not unit and value in integers:
                continue
            unexplained.append(match[0])
    assert not unexplained, (
        f"{path.name}: integers in the prose that no output prints: "
        f"{unexplained}; print them, glue them, or cite them in "
        "CITED_INTEGERS"
    )
