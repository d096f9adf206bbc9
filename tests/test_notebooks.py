"""The chapters' structure and the rules every committed notebook follows."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SECTIONS = (
    "## Overview",
    "## Prerequisites",
    "## Imports",
    "## Checks",
    "## Summary",
    "## Exercises",
    "## What's next",
)
# Paths of a particular machine must not appear in committed outputs.
MACHINE_PATH = re.compile(
    r"(/work/|/root/|/home/\w|/tmp/|/Users/|site-packages|C:\\\\)"
)


def _repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_chapters_and_each_is_in_the_table_of_contents() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    assert len(CHAPTERS) >= 3
    for path in CHAPTERS:
        assert f"notebooks/{path.stem}" in toc, (
            f"{path.name} is missing from _toc.yml"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_the_book_structure_in_order(path: Path) -> None:
    markdown = "\n".join(
        cell.source
        for cell in _read(path).cells
        if cell.cell_type == "markdown"
    )
    positions = [markdown.find(heading) for heading in SECTIONS]
    assert all(p >= 0 for p in positions), (
        f"missing: {[h for h, p in zip(SECTIONS, positions) if p < 0]}"
    )
    assert positions == sorted(positions), "sections out of order"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_colab_badge_and_install_cell_use_the_configured_repository(
    path: Path,
) -> None:
    notebook = _read(path)
    url = _repository_url()
    slug = url.removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{path.name}"
    assert badge in notebook.cells[0].source, (
        "the first cell needs the Colab badge for this notebook"
    )
    # the install cell (cells[1]): tests/test_colab_install.py


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_committed_outputs_come_from_a_clean_run(path: Path) -> None:
    code = [cell for cell in _read(path).cells if cell.cell_type == "code"][
        1:
    ]  # after the Colab cell
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(counts[0], counts[0] + len(counts))), (
        "restart and run all before committing"
    )
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", (
                f"error output in: {cell.source[:60]!r}"
            )
            text = output.get("text", "") + str(
                output.get("data", {}).get("text/plain", "")
            )
            text += str(output.get("data", {}).get("text/html", ""))
            assert not MACHINE_PATH.search(text), (
                f"machine path in output of: {cell.source[:60]!r}"
            )
            if output.output_type == "stream":
                assert "\r" not in output.text, (
                    "progress bars must show their final line only"
                )


def test_api_page_lists_every_chapter_of_the_map_in_order():
    import helpers

    page = (ROOT / "book" / "helpers.md").read_text()
    listed = re.findall(r"^\.\. helpers-chapter:: (\w+)$", page, re.M)
    assert listed == list(helpers.CHAPTERS)
    assert page.count(".. helpers-reference::") == 1
    names = [name for names in helpers.CHAPTERS.values() for name in names]
    assert sorted(names) == helpers.__all__, "each public name once"
    for chapter in helpers.CHAPTERS:
        assert (
            chapter == "setup"
            or (ROOT / "notebooks" / f"{chapter}.ipynb").is_file()
        )


def test_each_public_name_is_filed_under_the_chapter_that_first_uses_it():
    """``helpers.CHAPTERS`` files a name under the first chapter whose code or prose
    names it, or under "setup" when only the setup page does; and every filed name is
    one ``helpers`` can import (each public name loads its module on first use)."""
    import helpers

    texts = {
        chapter: "\n".join(
            cell.source
            for cell in _read(ROOT / "notebooks" / f"{chapter}.ipynb").cells
        )
        for chapter in helpers.CHAPTERS
        if chapter != "setup"
    }
    setup = (ROOT / "book" / "setup.md").read_text()
    for filed, names in helpers.CHAPTERS.items():
        for name in names:
            named = re.compile(rf"\b{re.escape(name)}\b")
            first = next((c for c in texts if named.search(texts[c])), None)
            if filed == "setup":
                assert first is None and named.search(setup), name
            else:
                assert first == filed, (
                    f"{name}: filed {filed}, first {first}"
                )
    assert set(helpers._MODULE_OF) == set(helpers.__all__)
    for name in helpers.__all__:
        assert getattr(helpers, name) is not None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text(path: Path) -> None:
    for cell in _read(path).cells:
        images = [
            o
            for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})
        ]
        if images:
            alt = (
                cell.metadata.get("mystnb", {})
                .get("image", {})
                .get("alt", "")
            )
            assert len(alt) > 30 and not alt.endswith(".png"), cell.source[
                :60
            ]


@pytest.mark.parametrize(
    "path",
    [*CHAPTERS, ROOT / "book" / "workshop.ipynb"],
    ids=lambda p: p.stem,
)
def test_code_cells_are_short_and_never_branch_on_the_profile_name(
    path: Path,
) -> None:
    for cell in _read(path).cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        assert len(lines) <= 40, f"a {len(lines)}-line cell: {lines[0]!r}"
        assert not re.search(r"profile\.name\s*[!=]=", cell.source), (
            "a difference between the profiles is a Profile field: "
            f"{lines[0]!r}"
        )


#: Non-blank lines of code a chapter shows (cells not folded): the lesson in sight.
SHOWN_CODE_LINES = 200
FOLDED = {"hide-input", "remove-input", "hide-cell", "remove-cell"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_shows_its_lesson_and_folds_its_machinery(
    path: Path,
) -> None:
    """At most SHOWN_CODE_LINES of shown code; the Checks and the saving of
    results are folded (tag ``hide-input``: nbval still runs and compares
    them, and a reader can open them)."""
    shown, in_checks = 0, False
    for cell in _read(path).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    in_checks = line == "## Checks"
            continue
        folded = bool(FOLDED & set(cell.metadata.get("tags", [])))
        first = cell.source.splitlines()[0]
        if in_checks or "save_results(" in cell.source:
            assert folded, f"machinery in sight: {first!r}"
        if not folded:
            shown += sum(
                1 for line in cell.source.splitlines() if line.strip()
            )
    assert shown <= SHOWN_CODE_LINES, (
        f"{shown} lines of code shown; fold (hide-input) what measures, "
        "formats or plots, or move it into helpers"
    )


def _run_minutes(notebook: nbformat.NotebookNode) -> float:
    """Minutes of the run whose outputs the notebook holds (first cell started to
    last cell done), as the workshop guide's agenda reads them."""
    from datetime import datetime

    times = [
        c.metadata["execution"]
        for c in notebook.cells
        if "execution" in c.metadata
    ]
    start, end = (
        datetime.fromisoformat(t.replace("Z", "+00:00"))
        for t in (
            times[0]["iopub.execute_input"],
            times[-1]["shell.execute_reply"],
        )
    )
    return (end - start).total_seconds() / 60


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_prerequisites_time_is_the_committed_runs(path: Path) -> None:
    """'about N minutes' within a quarter of N (at least half a minute); 'N to M
    minutes' within half a minute of the range."""
    text = _read(path).cells[0].source
    (line,) = [
        s for s in text.splitlines() if s.startswith("| Time, `tiny`")
    ]
    minutes = _run_minutes(_read(path))
    if match := re.search(r"about (\d+) minutes?", line):
        n = int(match[1])
        assert abs(minutes - n) <= max(0.5, n / 4), (line, minutes)
    else:
        low, high = map(
            int, re.search(r"(\d+) to (\d+) minutes", line).groups()
        )
        assert low - 0.5 <= minutes <= high + 0.5, (line, minutes)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_come_with_folded_answers(path: Path) -> None:
    """Two to four numbered exercises, each followed by its answer, folded."""
    (cell,) = [
        c
        for c in _read(path).cells
        if c.cell_type == "markdown" and c.source.startswith("## Exercises")
    ]
    exercises = re.findall(r"^\d\. \*\*", cell.source, flags=re.M)
    answers = re.findall(
        r"^`{3,4}\{admonition\} Answer\n:class: dropdown$",
        cell.source,
        flags=re.M,
    )
    assert 2 <= len(exercises) <= 4, len(exercises)
    assert len(answers) == len(exercises), "one folded answer per exercise"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_prerequisites_ram_is_the_committed_runs(path: Path) -> None:
    """The RAM row states the peak that ``make chapter`` measured for the committed
    run (tests/run_chapter.py keeps it in the notebook's metadata)."""
    from tests.run_chapter import PEAK_RAM_KEY

    notebook = _read(path)
    peak = notebook.metadata["peft_book"][PEAK_RAM_KEY]
    (line,) = [
        s
        for s in notebook.cells[0].source.splitlines()
        if s.startswith("| RAM, `tiny` profile")
    ]
    assert f"| {peak:.1f} GiB at its peak on a CPU" in line, (line, peak)
