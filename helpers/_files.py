"""Files and folders on disk, written whole or not at all: :func:`staged` writes a file or
a folder beside its place, then renames it there, so that a failure never leaves a
half-written one that looks valid."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .cache import clean_cache


@contextmanager
def staged(target: Path, *, folder: bool = False) -> Iterator[Path]:
    """Yield a new, empty temporary file (or folder) to fill; then it becomes ``target``.

    The temporary one lies beside ``target`` (same folder, so same file system), named
    ``<target name>…part``. When the ``with`` block ends without an error, it is renamed to
    ``target``: a file atomically replaces an old ``target``; a folder replaces an old
    ``target`` folder, which is deleted first, as :func:`helpers.clean_cache` deletes (so
    only a folder the book owns is replaced). When the block raises, the temporary one is
    removed and ``target`` is left as it was: nothing half-written ever takes its name.
    ``target``'s folder must exist.
    """
    if folder:
        temporary = Path(
            tempfile.mkdtemp(
                dir=target.parent, prefix=target.name, suffix=".part"
            )
        )
    else:
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=target.name, suffix=".part"
        )
        os.close(handle)
        temporary = Path(name)
    try:
        yield temporary
        if folder and target.exists():
            clean_cache(target)
        temporary.replace(target)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary)
        else:
            temporary.unlink(missing_ok=True)
