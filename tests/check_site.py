"""Static checks of the built HTML book, with the standard library only.

Run after ``jupyter-book build``::

    python -m tests.check_site _build/html [--toc _toc.yml]

It exits with status 1, listing every problem, when

1. a page loads something from another host: a ``src`` (script, image, iframe, …), a
   ``<link href>`` that loads a resource (stylesheet, preload, icon, …) or a CSS ``url()`` /
   ``@import``, in a page, a ``style`` attribute, a ``<style>`` element or a built CSS file.
   The book must render offline. Ordinary links to other hosts (``<a href>``, launch
   buttons) are fine: they are not checked (the check runs offline);
2. an internal link or resource (``<a href>``, ``<link href>``, ``src``, CSS ``url()``)
   points to a file that is not in the build, to a ``#fragment`` that the target page does
   not define, or is root-absolute (``/x.html`` breaks when the site is served from a
   sub-folder, as GitHub Pages serves a project site);
3. the navigation of the landing page (``index.html``, or the page it redirects to) does not
   link every page listed in ``_toc.yml``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

# "http://x", "https://x", "//x" (protocol-relative): another host.
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//")
# URLs that name no file of the site and need no network: not checked.
NON_FILE = re.compile(
    r"^(?:data|mailto|tel|javascript|blob|about):", re.IGNORECASE
)
# <link rel=...> values that make the browser load the target.
RESOURCE_RELS = {
    "stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
    "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon", "manifest",
}  # fmt: skip
# Attributes that load a resource, by tag ("*": any tag).
SRC_ATTRIBUTES = {"src": "*", "poster": "video", "data": "object"}
# Folders of the build that hold assets and sources, not pages.
ASSET_FOLDERS = {"_static", "_sources", "_images"}
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CSS_URL = re.compile(
    r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*?))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')"""
)
META_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";]+)", re.IGNORECASE)


def css_urls(css: str) -> list[str]:
    """Every URL in ``url(...)`` and ``@import "..."`` of a style sheet, comments removed."""
    return [next(group for group in match.groups() if group is not None).strip()
            for match in CSS_URL.finditer(CSS_COMMENT.sub("", css))]  # fmt: skip


@dataclass
class Page:
    """What one HTML page references and defines."""

    # (what, url): loaded with the page
    resources: list[tuple[str, str]] = field(default_factory=list)
    # (what, url): followed by a click
    links: list[tuple[str, str]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    # hrefs of <a> inside <nav>
    nav_links: list[str] = field(default_factory=list)
    refresh: str | None = None  # target of <meta http-equiv="refresh">


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._nav_depth = 0
        self._in_style = False

    def handle_starttag(
        self, tag: str, attrs: list[tuple[str, str | None]]
    ) -> None:
        values = {name: value or "" for name, value in attrs}
        page = self.page
        if values.get("id"):
            page.ids.add(values["id"])
        if tag == "a" and values.get("name"):  # old-style anchor
            page.ids.add(values["name"])
        if tag == "nav":
            self._nav_depth += 1
        elif tag == "style":
            self._in_style = True
        elif (
            tag == "meta"
            and values.get("http-equiv", "").lower() == "refresh"
        ):
            found = META_REFRESH_URL.search(values.get("content", ""))
            page.refresh = found.group(1).strip() if found else None
        for attribute, tags in SRC_ATTRIBUTES.items():
            if values.get(attribute) and tags in ("*", tag):
                page.resources.append(
                    (f"<{tag} {attribute}>", values[attribute])
                )
        for attribute in ("srcset", "imagesrcset"):
            for candidate in values.get(attribute, "").split(","):
                if candidate.strip():
                    page.resources.append(
                        (f"<{tag} {attribute}>", candidate.split()[0])
                    )
        if "style" in values:
            page.resources += [
                (f"<{tag} style> url()", url)
                for url in css_urls(values["style"])
            ]
        href = values.get("href")
        if href is not None and tag in ("a", "area", "link"):
            rels = set(values.get("rel", "").lower().split())
            if tag == "link" and rels & RESOURCE_RELS:
                page.resources.append(
                    (f"<link rel={values.get('rel')}>", href)
                )
            else:
                page.links.append((f"<{tag} href>", href))
            if tag == "a" and self._nav_depth:
                page.nav_links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._nav_depth:
            self._nav_depth -= 1
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.page.resources += [
                ("<style> url()", url) for url in css_urls(data)
            ]


def parse_page(path: Path) -> Page:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.page


def toc_docnames(toc: Path) -> list[str]:
    """The pages of a Jupyter Book ``_toc.yml``, root first, without file suffixes."""

    def walk(node: object) -> list[str]:
        if isinstance(node, dict):
            names = [
                str(node[key]) for key in ("root", "file") if key in node
            ]
            return names + [
                name for value in node.values() for name in walk(value)
            ]
        if isinstance(node, list):
            return [name for item in node for name in walk(item)]
        return []

    names = walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    return [
        re.sub(r"\.(md|ipynb|rst)$", "", name).strip("/")
        for name in dict.fromkeys(names)
    ]


class SiteChecker:
    """Collects the problems of one built site; :meth:`run` returns them as messages."""

    def __init__(self, site: Path, toc: Path | None = None) -> None:
        self.site = site.resolve()
        self.toc = toc
        self.problems: list[str] = []
        self._pages: dict[Path, Page] = {}
        self.counts = {"pages": 0, "css files": 0, "internal references": 0}

    def page(self, path: Path) -> Page:
        if path not in self._pages:
            self._pages[path] = parse_page(path)
        return self._pages[path]

    def name(self, path: Path) -> str:
        return path.relative_to(self.site).as_posix()

    def problem(self, where: Path, message: str) -> None:
        self.problems.append(f"{self.name(where)}: {message}")

    def resolve(self, source: Path, url: str) -> tuple[Path | None, str]:
        """The file an internal ``url`` of ``source`` names (None if outside the site), and its fragment."""
        parts = urlsplit(url)
        path = unquote(parts.path)
        if not path:
            target = source
        else:
            target = (source.parent / path).resolve()
            if path.endswith("/") or target.is_dir():
                target = target / "index.html"
        try:
            target.relative_to(self.site)
        except ValueError:
            return None, parts.fragment
        return target, unquote(parts.fragment)

    def check_reference(
        self, source: Path, what: str, url: str, resource: bool
    ) -> None:
        url = url.strip()
        if not url or NON_FILE.match(url):
            return
        if EXTERNAL.match(url):
            if resource:
                self.problem(
                    source,
                    f"{what} loads {url} from another host (the book must render offline)",
                )
            return
        if url.startswith("/"):
            self.problem(
                source,
                f"{what} {url} is root-absolute; it breaks when the site is served from a sub-folder",
            )
            return
        if url.startswith("#") and what.endswith("url()"):
            return  # url(#id) in CSS names an SVG element, not a file
        self.counts["internal references"] += 1
        target, fragment = self.resolve(source, url)
        if target is None:
            self.problem(
                source, f"{what} {url} points outside the built site"
            )
        elif not target.is_file():
            self.problem(
                source,
                f"{what} {url} points to a file that is not in the build ({self.name(target)})",
            )
        elif (
            fragment
            and target.suffix == ".html"
            and fragment not in self.page(target).ids
        ):
            self.problem(
                source,
                f"{what} {url}: no id {fragment!r} in {self.name(target)}",
            )

    def check_pages(self) -> None:
        for path in sorted(self.site.rglob("*.html")):
            if path.relative_to(self.site).parts[0] in ASSET_FOLDERS:
                continue  # e.g. the theme's Jinja macro files, copied along with its assets
            self.counts["pages"] += 1
            page = self.page(path)
            for what, url in page.resources:
                self.check_reference(path, what, url, resource=True)
            for what, url in page.links:
                self.check_reference(path, what, url, resource=False)

    def check_css(self) -> None:
        for path in sorted(self.site.rglob("*.css")):
            self.counts["css files"] += 1
            for url in css_urls(
                path.read_text(encoding="utf-8", errors="replace")
            ):
                self.check_reference(path, "CSS url()", url, resource=True)

    def check_navigation(self) -> None:
        landing = self.site / "index.html"
        if not landing.is_file():
            self.problems.append(
                "index.html: missing (the site has no landing page)"
            )
            return
        page = self.page(landing)
        if (
            page.refresh
        ):  # Jupyter Book's index.html redirects to the root page
            target, _ = self.resolve(landing, page.refresh)
            if target is None or not target.is_file():
                self.problem(
                    landing,
                    f"redirects to {page.refresh}, which is not in the build",
                )
                return
            landing, page = target, self.page(target)
        listed = set()
        for href in page.nav_links:
            if not EXTERNAL.match(href) and not NON_FILE.match(href):
                target, _ = self.resolve(landing, href)
                if target is not None:
                    listed.add(re.sub(r"\.html$", "", self.name(target)))
        missing = [
            name for name in toc_docnames(self.toc) if name not in listed
        ]
        if missing:
            self.problem(
                landing,
                f"the navigation does not list {', '.join(missing)} (in {self.toc.name})",
            )

    def run(self) -> list[str]:
        self.check_pages()
        self.check_css()
        if self.toc is not None:
            self.check_navigation()
        return self.problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.check_site",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "site", type=Path, help="the built HTML folder, e.g. _build/html"
    )
    parser.add_argument(
        "--toc",
        type=Path,
        help="the book's _toc.yml (default: ../../_toc.yml from the site)",
    )
    args = parser.parse_args(argv)
    if not args.site.is_dir():
        print(
            f"check_site: {args.site} is not a built site (run `make book` first)",
            file=sys.stderr,
        )
        return 2
    toc = args.toc or args.site.resolve().parent.parent / "_toc.yml"
    checker = SiteChecker(args.site, toc if toc.is_file() else None)
    problems = checker.run()
    if checker.toc is None:
        problems.append(
            f"{toc}: not found, the navigation was not checked (use --toc)"
        )
    for message in problems:
        print(f"check_site: FAIL {message}")
    summary = ", ".join(
        f"{count} {what}" for what, count in checker.counts.items()
    )
    verdict = (
        f"{len(problems)} problem(s)"
        if problems
        else "no external resources, no broken internal links, navigation complete"
    )
    print(f"check_site: {args.site}: {summary}; {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
