"""The API page's lists, generated from ``helpers.CHAPTERS`` when the book is built.

``.. helpers-chapter:: <chapter>`` lists the public names a chapter introduces, each with
the first line of its docstring; ``.. helpers-reference::`` documents every public name,
in the same order. Both go in ``{eval-rst}`` blocks of ``book/helpers.md``, so the map of
chapters to helpers is written once, in ``helpers/__init__.py``.
"""

from __future__ import annotations

import helpers

import ast
import inspect
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.application import Sphinx

#: A constant's value is shown on the page when its text is at most this long.
_SHORT_VALUE = 60


def _assigned_in() -> dict[str, str]:
    """Each name assigned at the top of a module of ``helpers``: that module."""
    home: dict[str, str] = {}
    for path in sorted(Path(helpers.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    home.setdefault(target.id, path.stem)
    return home


def _is_code(value: object) -> bool:
    return inspect.isclass(value) or inspect.isfunction(value)


class _Generated(Directive):
    def _parsed(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(
            StringList(lines, source="helpers.CHAPTERS"),
            self.content_offset,
            container,
        )
        return container.children


class HelpersChapter(_Generated):
    """``.. helpers-chapter:: 03_flan_t5_xl_checkpointing``: that chapter's names."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        chapter = self.arguments[0]
        if chapter not in helpers.CHAPTERS:
            raise self.error(
                f"no chapter {chapter!r} in helpers.CHAPTERS; "
                f"choose from {', '.join(helpers.CHAPTERS)}"
            )
        home = _assigned_in()
        entries = [
            name
            if _is_code(getattr(helpers, name))
            else f"~{home[name]}.{name}"
            for name in helpers.CHAPTERS[chapter]
        ]
        return self._parsed(
            [".. currentmodule:: helpers", "", ".. autosummary::"]
            + ["   :nosignatures:", ""]
            + [f"   {entry}" for entry in entries]
        )


class HelpersReference(_Generated):
    """``.. helpers-reference::``: every public name, documented in full."""

    def run(self) -> list[nodes.Node]:
        home = _assigned_in()
        lines = [".. currentmodule:: helpers", ""]
        for names in helpers.CHAPTERS.values():
            for name in names:
                value = getattr(helpers, name)
                if inspect.isclass(value):
                    lines += [f".. autoclass:: {name}", "   :members:", ""]
                elif inspect.isfunction(value):
                    lines += [f".. autofunction:: {name}", ""]
                else:
                    lines.append(
                        f".. autodata:: helpers.{home[name]}.{name}"
                    )
                    if len(repr(value)) > _SHORT_VALUE:
                        lines.append("   :no-value:")
                    lines.append("")
        return self._parsed(lines)


def setup(app: Sphinx) -> dict[str, bool]:
    app.add_directive("helpers-chapter", HelpersChapter)
    app.add_directive("helpers-reference", HelpersReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
