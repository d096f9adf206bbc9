"""tests.check_site on tiny synthetic sites: each kind of problem is caught, a clean site passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import check_site

TOC = """\
format: jb-book
root: book/intro
parts:
  - caption: Chapters
    chapters:
      - file: notebooks/01_first
      - file: notebooks/02_second.ipynb
"""
NAV = """<nav class="bd-docs-nav">
  <a class="reference internal" href="#">Intro</a>
  <a class="reference internal" href="../notebooks/01_first.html">1.</a>
  <a class="reference internal" href="../notebooks/02_second.html">2.</a>
</nav>"""
INTRO = f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="../_static/theme.css?v=1">
<link rel="icon" href="../_static/logo.png">
<script defer src="../_static/mathjax/tex-chtml-full.js"></script>
</head><body>{NAV}
<h1 id="intro">Intro</h1>
<img src="../_images/plot.png" alt="a plot" srcset="../_images/plot.png 1x, ../_images/plot.png 2x">
<a href="../notebooks/01_first.html#results">results</a> <a href="#intro">top</a> <a href="setup/">setup</a>
<a href="https://colab.research.google.com/github/x/y">Open in Colab</a> <a href="mailto:a@b.c">mail</a>
<div style="background: url('../_images/plot.png')"></div>
</body></html>"""
CHAPTER = '<html><body><h2 id="results">Results</h2><a href="../book/intro.html">back</a></body></html>'
CSS = """/* a comment: url(https://ignored.example/x.woff) */
@font-face { src: url("fonts/x.woff2") format("woff2"); }
.icon { background: url(data:image/svg+xml;charset=utf-8,%3Csvg%3E%3C/svg%3E); filter: url(#shadow); }
"""


def write_site(root: Path) -> Path:
    """A small clean site under ``root/_build/html``, with ``root/_toc.yml``; returns the site."""
    site = root / "_build" / "html"
    files = {
        "index.html": '<meta http-equiv="Refresh" content="0; url=book/intro.html" />',
        "book/intro.html": INTRO,
        "book/setup/index.html": "<html><body>setup</body></html>",
        "notebooks/01_first.html": CHAPTER,
        "notebooks/02_second.html": CHAPTER,
        "_static/theme.css": CSS,
        "_static/fonts/x.woff2": "font",
        "_static/logo.png": "png",
        "_static/mathjax/tex-chtml-full.js": "// js",
        "_images/plot.png": "png",
        # a theme's Jinja macro file among the assets is not a page
        "_static/webpack-macros.html": "<script src=\"{{ pathto('x.js', 1) }}\"></script>",
    }
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (root / "_toc.yml").write_text(TOC)
    return site


def problems(site: Path) -> list[str]:
    return check_site.SiteChecker(
        site, site.parent.parent / "_toc.yml"
    ).run()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_a_clean_site_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    assert problems(site) == []
    assert check_site.main([str(site)]) == 0
    assert "navigation complete" in capsys.readouterr().out


@pytest.mark.parametrize(
    "old, new",
    [
        (
            'src="../_static/mathjax/tex-chtml-full.js"',
            'src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"',
        ),
        (
            'href="../_static/theme.css?v=1"',
            'href="//fonts.googleapis.com/css?family=Roboto"',
        ),
        (
            '<link rel="icon" href="../_static/logo.png">',
            '<link rel="preload" as="font" href="http://example.org/f.woff2">',
        ),
        (
            'src="../_images/plot.png" alt',
            'src="https://example.org/plot.png" alt',
        ),
        ("2x", "2x, https://example.org/plot@3x.png 3x"),
        ("url('../_images/plot.png')", "url('https://example.org/bg.png')"),
        (
            "</body>",
            '<iframe src="https://www.youtube.com/embed/x"></iframe></body>',
        ),
        (
            "</head>",
            "<style>@import 'https://example.org/x.css';</style></head>",
        ),
    ],
    ids=[
        "script",
        "stylesheet",
        "preload-font",
        "img",
        "srcset",
        "style-attribute",
        "iframe",
        "style-import",
    ],
)
def test_a_resource_from_another_host_fails(
    tmp_path: Path, old: str, new: str
) -> None:
    site = write_site(tmp_path)
    edit(site / "book/intro.html", old, new)
    found = problems(site)
    assert (
        len(found) == 1
        and "from another host" in found[0]
        and found[0].startswith("book/intro.html: ")
    )


def test_a_css_file_loading_from_another_host_fails(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    edit(
        site / "_static/theme.css",
        'url("fonts/x.woff2")',
        'url("https://fonts.gstatic.com/x.woff2")',
    )
    assert problems(site) == [
        "_static/theme.css: CSS url() loads https://fonts.gstatic.com/x.woff2 from another host (the book must render offline)"
    ]


def test_links_to_other_hosts_are_fine(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    edit(
        site / "book/intro.html",
        "</body>",
        '<a href="https://github.com/x/y/issues/new?title=a">Issue</a></body>',
    )
    edit(
        site / "book/intro.html",
        "</head>",
        '<link rel="canonical" href="https://x.github.io/y/"></head>',
    )
    assert problems(site) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("../notebooks/01_first.html#results", "../notebooks/03_third.html", "not in the build (notebooks/03_third.html)"),
        ("../notebooks/01_first.html#results", "../notebooks/01_first.html#missing", "no id 'missing' in notebooks/01_first.html"),
        ('href="#intro"', 'href="#nowhere"', "no id 'nowhere' in book/intro.html"),
        ('src="../_images/plot.png" alt', 'src="../_images/gone.png" alt', "not in the build (_images/gone.png)"),
        ('href="../_static/theme.css?v=1"', 'href="../_static/gone.css?v=1"', "not in the build (_static/gone.css)"),
        ('href="setup/"', 'href="setup2/"', "not in the build (book/setup2/index.html)"),
        ('href="setup/"', 'href="/book/setup/"', "root-absolute"),
        ('href="setup/"', 'href="../../../etc/passwd"', "outside the built site"),
    ],
    ids=["missing-page", "missing-anchor", "missing-local-anchor", "missing-image", "missing-css", "missing-folder",
         "root-absolute", "outside"],
)  # fmt: skip
def test_a_broken_internal_link_fails(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    site = write_site(tmp_path)
    edit(site / "book/intro.html", old, new)
    found = problems(site)
    assert len(found) == 1 and expected in found[0], found


def test_a_css_url_to_a_missing_file_fails(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    (site / "_static/fonts/x.woff2").unlink()
    assert problems(site) == [
        "_static/theme.css: CSS url() fonts/x.woff2 points to a file that is not in the build (_static/fonts/x.woff2)"
    ]


def test_a_chapter_missing_from_the_navigation_fails(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    edit(
        site / "book/intro.html",
        '<a class="reference internal" href="../notebooks/02_second.html">2.</a>',
        "",
    )
    assert problems(site) == [
        "book/intro.html: the navigation does not list notebooks/02_second (in _toc.yml)"
    ]


def test_a_link_outside_the_nav_does_not_count_as_navigation(
    tmp_path: Path,
) -> None:
    site = write_site(tmp_path)
    edit(
        site / "book/intro.html",
        '<a class="reference internal" href="../notebooks/01_first.html">1.</a>',
        "",
    )
    # the page still links chapter 1 in its text, but not in <nav>
    assert problems(site) == [
        "book/intro.html: the navigation does not list notebooks/01_first (in _toc.yml)"
    ]


def test_a_landing_page_that_redirects_nowhere_fails(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    edit(site / "index.html", "book/intro.html", "book/start.html")
    assert problems(site) == [
        "index.html: redirects to book/start.html, which is not in the build"
    ]


def test_the_command_line_reports_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    edit(site / "book/intro.html", 'href="#intro"', 'href="#nowhere"')
    assert check_site.main([str(site)]) == 1
    out = capsys.readouterr().out
    assert (
        "check_site: FAIL book/intro.html: <a href> #nowhere: no id 'nowhere' in book/intro.html"
        in out
    )
    assert "1 problem(s)" in out
    assert check_site.main([str(tmp_path / "nothing")]) == 2


def test_toc_docnames_lists_root_then_files_without_suffixes(
    tmp_path: Path,
) -> None:
    (tmp_path / "_toc.yml").write_text(TOC)
    assert check_site.toc_docnames(tmp_path / "_toc.yml") == [
        "book/intro",
        "notebooks/01_first",
        "notebooks/02_second",
    ]


def test_css_urls_reads_quoted_unquoted_and_imports_but_not_comments() -> (
    None
):
    css = "/* url(a) */ x { a: url( b.png ); b: url('c d.png'); c: url(\"e.woff\") } @import 'f.css';"
    assert check_site.css_urls(css) == [
        "b.png",
        "c d.png",
        "e.woff",
        "f.css",
    ]
