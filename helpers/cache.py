"""The book's cache folder: where downloads, built checkpoints and trained predictors live.

The folder is ``$PEFT_BOOK_CACHE`` if set, else ``$XDG_CACHE_HOME/peft-book``, else
``~/.cache/peft-book``. Importing :mod:`helpers` points the Hugging Face cache
(``HF_HOME``) inside it, so one :func:`clean_cache` call frees everything the book
downloaded. ``TRANSFORMERS_CACHE``, which the original tutorial set, is deprecated.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ._files import folder_size


def book_cache_dir() -> Path:
    """Return the book's cache folder (created if missing)."""
    configured = os.environ.get("PEFT_BOOK_CACHE")
    if configured:
        root = Path(configured).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "peft-book"
    root.mkdir(parents=True, exist_ok=True)
    return root


def runs_dir() -> Path:
    """Folder that holds one sub-folder per trained predictor."""
    path = book_cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def point_hf_home_at_cache() -> Path:
    """Set ``HF_HOME`` to ``<book cache>/huggingface`` unless the user chose one already."""
    os.environ.setdefault("HF_HOME", str(book_cache_dir() / "huggingface"))
    return Path(os.environ["HF_HOME"])


def fresh_run_dir(name: str) -> Path:
    """Return a new, not yet existing predictor folder ``<book cache>/runs/<name>-<id>``.

    AutoGluon's ``fit`` refuses a ``path`` that exists already, so every fit gets its own.
    """
    if not name or Path(name).name != name or name in {".", ".."}:
        raise ValueError(
            f"run name must be a plain folder name without '/', got {name!r}"
        )
    return runs_dir() / f"{name}-{uuid.uuid4().hex[:8]}"


def _unsafe_targets() -> set[Path]:
    cwd = Path.cwd().resolve()
    return {Path(cwd.anchor), Path.home().resolve(), cwd, *cwd.parents}


def clean_cache(path: str | os.PathLike[str]) -> int:
    """Delete the cache folder ``path`` and return the number of bytes freed.

    A missing ``path`` frees nothing and returns 0. Symbolic links inside the folder are
    removed as links; what they point to is never touched. If ``path`` itself is a link,
    only the link is removed. Bytes are counted as :func:`helpers._files.folder_size`
    counts them: each file once, however many hard links it has in the folder, and each
    link as its own small size, never what it points to.

    Raises
    ------
    ValueError
        If ``path`` is the filesystem root, the home folder, the current working folder
        or one of its parents, or a file rather than a folder.
    """
    target = Path(path).expanduser()
    if target.is_symlink():
        size = target.lstat().st_size
        target.unlink()
        return size
    if not target.exists():
        return 0
    resolved = target.resolve()
    if resolved in _unsafe_targets():
        raise ValueError(
            f"refusing to delete {resolved}: it is the filesystem root, your home folder, "
            "the current working folder or one of its parents. Pass the cache folder itself, "
            "for example helpers.book_cache_dir() / 'runs'."
        )
    if not resolved.is_dir():
        raise ValueError(
            f"clean_cache deletes folders, but {resolved} is a file; delete it yourself"
        )
    freed = folder_size(resolved)
    shutil.rmtree(resolved)
    return freed
