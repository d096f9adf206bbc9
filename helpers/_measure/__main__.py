"""The measuring server's loop (``python -m helpers._measure``, started by
:func:`helpers._measure.measure`): one :class:`StepSettings` per line in, a fresh child
forked for each, its :class:`Reply` per line out.

Run as a module, it starts with the package's own setup (``helpers/__init__.py``: the
torchvision compatibility that lets AutoGluon import, quiet library logs), as every
chapter does.
"""

from __future__ import annotations

import sys

import autogluon.multimodal  # noqa: F401  (imported once, here, for every child)

from . import StepSettings, child_reply, fork_child, measure_here


def serve() -> None:
    """Answer each request on stdin, in a fresh child, until stdin closes."""
    for line in sys.stdin:
        settings = StepSettings.from_json(line)
        reply = child_reply(*fork_child(lambda: measure_here(settings)))
        sys.stdout.write(reply.to_json() + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
