"""Every page links each glossary term where its prose first uses it.

A reader who meets "FSDP" or "micro-batch" for the first time on a page finds it linked
to the glossary right there (MyST's ``{term}`` role), wherever the page is opened. Only
prose counts: code, math, headings, links, admonition titles and HTML comments are
left as they are, as are tables, and a term's plural ("micro-batches", "seeds") is the term.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "book" / "glossary.md"
PAGES = [
    *sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
    ROOT / "book" / "workshop.ipynb",
    *(
        ROOT / "book" / name
        for name in ("intro.md", "setup.md", "concepts.md")
    ),
]
FENCE = re.compile(r"^(`{3,}|:{3,})(.*)$")
#: what is not prose within a line: comments, roles, links and images, code, math
INLINE = re.compile(
    r"<!--.*?-->|\{\w+\}`[^`]*`|!?\[[^\]]*\]\([^)]*\)|`[^`]*`|\$\$.*?\$\$|\$[^$\n]+\$",
    re.DOTALL,
)
ROLE = re.compile(r"\{term\}`([^`]*)`")


def glossary_terms() -> list[str]:
    """The glossary's terms, longest first (so "DDP buckets" is found before "DDP")."""
    text = GLOSSARY.read_text()
    block = text.split(":::{glossary}", 1)[1].split(":::", 1)[0]
    terms = [
        line for line in block.splitlines() if line and not line[0].isspace()
    ]
    return sorted(terms, key=len, reverse=True)


def term_pattern(term: str) -> re.Pattern[str]:
    """``term`` as a whole word, with a capital first letter where a sentence starts
    with it, and its plural."""
    stem = term[:-1] if term.endswith("s") else term
    first = stem[0]
    head = (
        f"[{first.upper()}{first.lower()}]"
        if first.islower()
        else re.escape(first)
    )
    return re.compile(
        rf"(?<![\w\-]){head}{re.escape(stem[1:])}(?:e?s)?(?![\w\-])"
    )


def page_prose(path: Path) -> str:
    """The page's markdown, its notebook's markdown cells one after another."""
    if path.suffix == ".md":
        return path.read_text()
    cells = nbformat.read(path, as_version=4).cells
    return "\n\n".join(c.source for c in cells if c.cell_type == "markdown")


def mask_all_but_prose(text: str) -> str:
    """``text`` with everything but prose blanked, positions kept: code blocks, the
    lines that open and close a directive (an admonition's body is prose) and its
    options, headings, table rows (labels, and rows that tests read), then within lines
    comments, roles, links, code and math."""
    lines, fences = [], []  # fences: the open ones, (marker, holds code)
    for line in text.split("\n"):
        fence = FENCE.match(line)
        if fence and fences and line.strip() == fences[-1][0]:
            fences.pop()
            line = ""
        elif fence and not (fences and fences[-1][1]):
            fences.append(
                (fence.group(1), not fence.group(2).startswith("{"))
            )
            line = ""
        elif (fences and fences[-1][1]) or re.match(r"^(#|:\w+:|\|)", line):
            line = ""
        lines.append(line)
    blanked = "\n".join(
        kept.ljust(len(line)) for kept, line in zip(lines, text.split("\n"))
    )
    return INLINE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), blanked)


def first_uses(text: str) -> dict[str, tuple[int, bool]]:
    """Per glossary term the page uses: where its prose first uses it, and whether
    that use is a ``{term}`` link."""
    linked: dict[str, int] = {}
    for role in ROLE.finditer(text):
        inner = role.group(1)
        target = (
            inner.split("<", 1)[1].rstrip(">") if "<" in inner else inner
        )
        linked.setdefault(target.lower(), role.start())
    masked = mask_all_but_prose(text)
    uses = {}
    for term in glossary_terms():
        bare = term_pattern(term).search(masked)
        at_link = linked.get(term.lower())
        if bare is None and at_link is None:
            continue
        if bare is not None and (at_link is None or bare.start() < at_link):
            uses[term] = (bare.start(), False)
            # a longer term's words are not a shorter term's first use
            masked = (
                masked[: bare.start()]
                + " " * len(bare.group())
                + masked[bare.end() :]
            )
        else:
            uses[term] = (at_link, True)
    return uses


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_a_page_links_each_term_at_its_first_use(path: Path) -> None:
    text = page_prose(path)
    bare = {
        term: text[at : at + 40].replace("\n", " ")
        for term, (at, linked) in first_uses(text).items()
        if not linked
    }
    assert not bare, f"first uses without a glossary link: {bare}"


def test_the_finder_sees_prose_only() -> None:
    text = (
        "# FSDP\n\n```python\nFSDP = 1\n```\n\nThe `FSDP` key, $FSDP$, "
        "[FSDP](x.md) and <!-- FSDP -->; then micro-batches and FSDP.\n"
    )
    uses = first_uses(text)
    assert uses["micro-batch"] == (text.index("micro-batches"), False)
    assert uses["FSDP"] == (text.rindex("FSDP"), False)
    assert first_uses("{term}`FSDP`, then FSDP")["FSDP"] == (0, True)
    assert "DDP" not in first_uses("{term}`DDP buckets`")
