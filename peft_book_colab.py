"""Does this Colab runtime need a restart after the chapters' install cell?

A running Python keeps the modules it has imported: when ``%pip install``
replaces a distribution whose modules the kernel had already imported, the
notebook would run old code beside new files until the runtime restarts
(autogluon/autogluon#1971). This module answers after the install with no
record from before it. A distribution counts as changed when its metadata
folder (``*.dist-info``) was written after this process started; a restart is
needed when a module that a changed distribution provides is in
``sys.modules``. The install cell runs it (``%run -m peft_book_colab``): it
prints :func:`restart_notice`.

It imports only the standard library, and it is a top-level module of its own
because ``helpers``, once used, imports torch and AutoGluon's libraries: that
would load the very modules it checks. Re-running the install cell later in
the same kernel may also name a package imported after the install; a restart
then costs a re-run, never a wrong result.
"""

from __future__ import annotations

import os
import sys
import time
from importlib import machinery, metadata

__all__ = ["process_start_time", "restart_notice", "stale_imports"]

_SUFFIXES = tuple(machinery.SOURCE_SUFFIXES + machinery.EXTENSION_SUFFIXES)


def process_start_time() -> float:
    """When this process started, in seconds since the epoch.

    Returns
    -------
    float
        Read from ``/proc`` on Linux (to about 10 ms), else from psutil.
    """
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as up:
            # the fields after the command name, which is in parentheses
            fields = stat.read().rpartition(")")[2].split()
            uptime = float(up.read().split()[0])
    except OSError:
        import psutil

        return psutil.Process().create_time()
    ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # starttime
    return time.time() - uptime + ticks


def _modules(distribution: metadata.Distribution) -> set[str]:
    """Names of the modules whose files a distribution installed."""
    names = set()
    for file in distribution.files or ():
        if not file.name.endswith(_SUFFIXES):
            continue
        parts = [*file.parts[:-1], file.name.split(".", 1)[0]]
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(part.isidentifier() for part in parts):
            names.add(".".join(parts))
    return names


def stale_imports(
    since: float | None = None, path: list[str] | None = None
) -> dict[str, list[str]]:
    """Distributions installed after ``since`` whose modules are imported.

    Parameters
    ----------
    since : float, optional
        Seconds since the epoch; by default, when this process started.
    path : list of str, optional
        Where to look for distributions; by default ``sys.path``.

    Returns
    -------
    dict
        Distribution name to the sorted names of its imported modules; empty
        when no restart is needed.
    """
    since = process_start_time() if since is None else since
    stale = {}
    for dist in metadata.distributions(
        path=sys.path if path is None else path
    ):
        folder = getattr(dist, "_path", None)  # the *.dist-info folder
        if folder is None or os.stat(folder).st_mtime <= since:
            continue
        imported = sorted(
            name
            for name in _modules(dist) & set(sys.modules)
            if name != "peft_book_colab"  # imported after the install
        )
        if imported:
            stale[dist.metadata["Name"]] = imported
    return stale


def restart_notice(since: float | None = None) -> str:
    """One line for the install cell: is a restart needed, and why?

    Parameters
    ----------
    since : float, optional
        Passed to :func:`stale_imports`.

    Returns
    -------
    str
        ``"Installed; no restart needed."``, or the replaced packages that
        were imported and what to do.
    """
    stale = stale_imports(since)
    if not stale:
        return "Installed; no restart needed."
    names = ", ".join(sorted(stale))
    return (
        f"Restart needed: this runtime had imported {names} before the"
        " install replaced them; choose Runtime > Restart session, then run"
        " the notebook from the top."
    )


if __name__ == "__main__":
    print(restart_notice())
