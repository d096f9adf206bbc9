"""Files and folders on disk: written whole or not at all, and measured.

* :func:`staged`: write a file or a folder beside its place, then rename it there, so
  that a failure never leaves a half-written one that looks valid.
* :func:`folder_size`: the bytes a folder holds, with one rule for links.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(target: Path, *, folder: bool = False) -> Iterator[Path]:
    """Yield a new, empty temporary file (or folder) to fill; then it becomes ``target``.

    The temporary one lies beside ``target`` (same folder, so same file system), named
    ``<target name>…part``. When the ``with`` block ends without an error, it is renamed to
    ``target``: a file atomically replaces an old ``target``; a folder replaces an old
    ``target`` folder, which is deleted first. When the block raises, the temporary one is
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
            shutil.rmtree(target)
        temporary.replace(target)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary)
        else:
            temporary.unlink(missing_ok=True)


def folder_size(folder: Path) -> int:
    """Bytes held under ``folder``: the sizes of everything in it but folders.

    One rule for links: a symbolic link counts as itself (its own small size) and is never
    followed, so a file reached through links (the Hugging Face cache links its snapshots
    to its blobs) counts once, where it lies, and only if it lies under ``folder``. A file
    with several hard links under ``folder`` counts once. Folders that cannot be listed
    are skipped.
    """
    seen: set[tuple[int, int]] = set()
    total = 0
    for parent, folders, files in os.walk(folder, followlinks=False):
        # os.walk lists links to folders among the folders, and walks no link
        for name in files + folders:
            entry = os.lstat(os.path.join(parent, name))
            if stat.S_ISDIR(entry.st_mode):
                continue  # walked into: its files count there
            if (entry.st_dev, entry.st_ino) not in seen:
                seen.add((entry.st_dev, entry.st_ino))
                total += entry.st_size
    return total
