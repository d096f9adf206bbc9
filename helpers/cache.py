"""The book's cache folder, and the one rule for what the book may delete.

The folder is ``$PEFT_BOOK_CACHE`` if set, else ``$XDG_CACHE_HOME/peft-book``, else
``~/.cache/peft-book``. Importing :mod:`helpers` points the Hugging Face cache
(``HF_HOME``) inside it, so one :func:`clean_cache` call frees everything the book
downloaded. ``TRANSFORMERS_CACHE``, which the original tutorial set, is deprecated.

**What the book owns**, and so may delete: its cache folder and everything inside it
(the Hugging Face cache it points there, the predictors of :func:`fresh_run_dir`), and
every folder that holds a file named ``.peft-book-owned`` (:data:`OWNED_MARK`), with
everything inside it. The book writes that file into each folder it makes for itself
elsewhere (``make rehearsal``'s work folder, a stand-in mirror, a mirror that ``make
mirror`` fills): a file on disk, not a list kept in memory, so that another session, or
another tool, still knows the folder is the book's. A path is judged where it really
lies, with ``..`` and the links on its way resolved; a link at its end is judged, and
removed, as the link itself, never followed. :func:`clean_cache` keeps to this rule, and
never deletes the filesystem root, the home folder, the working folder or its parents;
every tool of the book that fills or empties a folder it is given takes it through
:func:`owned_folder`.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from pathlib import Path

from ._checks import require_plain_name

#: The file that marks a folder as the book's (see the module's docstring), which the
#: book writes into each folder it makes outside its cache folder.
OWNED_MARK = ".peft-book-owned"
_MARK_TEXT = (
    "This folder was made by the book 'Billion-scale finetuning on one GPU' (its\n"
    "helpers package), which may delete it and everything in it: helpers.clean_cache.\n"
)


class NotOwnedError(ValueError):
    """Refused, before anything was touched: the book does not own a path it was asked to
    delete, or a folder it was given to write in holds what the book did not make."""


def _cache_location() -> Path:
    """Where the book's cache folder is, whether it exists or not."""
    configured = os.environ.get("PEFT_BOOK_CACHE")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "peft-book"


def book_cache_dir() -> Path:
    """Return the book's cache folder (created if missing)."""
    root = _cache_location()
    root.mkdir(parents=True, exist_ok=True)
    return root


def runs_dir() -> Path:
    """Folder that holds one sub-folder per trained predictor."""
    path = book_cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def point_hf_home_at_cache() -> Path:
    """Set ``HF_HOME`` to ``<book cache>/huggingface`` unless the user chose one already.

    Nothing is created: the Hugging Face libraries make the folder when they first write.
    """
    os.environ.setdefault("HF_HOME", str(_cache_location() / "huggingface"))
    return Path(os.environ["HF_HOME"])


def fresh_run_dir(name: str) -> Path:
    """Return a new, not yet existing predictor folder ``<book cache>/runs/<name>-<id>``.

    AutoGluon's ``fit`` refuses a ``path`` that exists already, so every fit gets its own.
    Inside the book's cache folder, it is the book's: :func:`clean_cache` may delete it.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is not a plain folder name.
    """
    require_plain_name(name, "run name")
    return runs_dir() / f"{name}-{uuid.uuid4().hex[:8]}"


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


def _where(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` lies: ``~``, ``..`` and the links on its way resolved, a link at
    its end kept as the link."""
    path = Path(path).expanduser()
    if path.is_symlink():
        return path.parent.resolve() / path.name
    return path.resolve()


def _is_marked(folder: Path) -> bool:
    """Whether ``folder``, not a link, holds :data:`OWNED_MARK` as a plain file."""
    if folder.is_symlink():
        return False
    try:
        return stat.S_ISREG((folder / OWNED_MARK).lstat().st_mode)
    except OSError:
        return False


def _owner(location: Path) -> Path | None:
    """The folder the book owns that holds ``location`` (a result of :func:`_where`) or
    is it: the book's cache folder or a marked folder; ``None`` if there is none."""
    cache = _cache_location().resolve()
    for folder in (location, *location.parents):
        if folder == cache or _is_marked(folder):
            return folder
    return None


def owned_location(path: str | os.PathLike[str]) -> Path | None:
    """Where ``path`` lies, if the book owns it (:func:`clean_cache` may delete it);
    ``None`` otherwise."""
    location = _where(path)
    return location if _owner(location) is not None else None


def _unsafe_targets() -> set[Path]:
    cwd = Path.cwd().resolve()
    return {Path(cwd.anchor), Path.home().resolve(), cwd, *cwd.parents}


def _deletable(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` lies, if the book may delete it.

    Raises
    ------
    NotOwnedError
        Otherwise, before anything is touched.
    """
    location = _where(path)
    if location in _unsafe_targets():
        raise NotOwnedError(
            f"refusing to delete {location}: it is the filesystem root, your home folder, "
            "the current working folder or one of its parents. Pass the cache folder itself, "
            "for example helpers.book_cache_dir() / 'runs'."
        )
    if _owner(location) is None:
        raise NotOwnedError(
            f"refusing to delete {location}: the book did not make it. It deletes only what "
            f"it owns: its cache folder, {_cache_location().resolve()}, and what is inside it "
            "(the Hugging Face cache it points there, the predictors of "
            f"helpers.fresh_run_dir), and folders that hold a {OWNED_MARK} file (those the "
            "book made elsewhere). Nothing was deleted. To delete something else, check "
            "what it holds and delete it yourself: shutil.rmtree in Python, rm -r in a "
            "terminal."
        )
    return location


def _remove(location: Path) -> int:
    """Delete ``location`` (a link as the link, a folder with all it holds); return the
    bytes freed, counted as :func:`folder_size` counts them. Callers check first."""
    if location.is_symlink() or not location.is_dir():
        size = location.lstat().st_size
        location.unlink()
        return size
    freed = folder_size(location)
    shutil.rmtree(location)
    return freed


def clean_cache(path: str | os.PathLike[str]) -> int:
    """Delete the folder ``path``, if the book owns it, and return the number of bytes freed.

    The book owns its cache folder (:func:`book_cache_dir`) and what is inside it (the
    Hugging Face cache the book points there, the predictors of :func:`fresh_run_dir`),
    and every folder that holds a ``.peft-book-owned`` file (:data:`OWNED_MARK`: folders
    the book made elsewhere, such as ``make rehearsal``'s), with what is inside it.
    Anything else is refused before anything is touched, however much it looks like a
    cache. ``path`` is judged where it really lies, with ``~``, ``..`` and the links on
    its way resolved. If ``path`` itself is a link, only the link is removed, and only if
    it lies in a folder the book owns; links inside the folder are removed as links, and
    what they point to is never touched.

    A missing ``path`` the book would own frees nothing and returns 0. Bytes are counted
    as :func:`helpers.cache.folder_size` counts them: each file once, however many hard
    links it has in the folder, and each link as its own small size.

    Raises
    ------
    NotOwnedError
        (a ``ValueError``) If the book does not own ``path``, or it is the filesystem root,
        the home folder, the current working folder or one of its parents. The message
        says which folders the book owns.
    ValueError
        If ``path`` is a file rather than a folder.
    TypeError
        If ``path`` is not a ``str`` or a path.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "clean_cache takes the path of a folder (a str or a pathlib.Path), "
            f"for example helpers.book_cache_dir() / 'runs'; got {type(path).__name__}"
        )
    location = _deletable(path)
    if not (location.is_symlink() or location.exists()):
        return 0
    if not (location.is_symlink() or location.is_dir()):
        raise ValueError(
            f"clean_cache deletes folders, but {location} is a file; delete it yourself"
        )
    return _remove(location)


def owned_folder(
    folder: str | os.PathLike[str], *, empty: bool = False
) -> Path:
    """Return ``folder`` made the book's: created if missing, marked with :data:`OWNED_MARK`.

    The way a tool of the book (``make rehearsal``, ``tests.gpu_check``, a mirror)
    takes a folder it is given to write in: a missing or empty one, or one that holds
    only what the book owns (a folder it marked before, or its cache folder). With
    ``empty``, what the folder holds is deleted first, links as links. Returns the folder
    with links and ``..`` resolved.

    Raises
    ------
    NotOwnedError
        If ``folder`` holds anything the book does not own (a file the book did not make,
        a link it did not make, or anything in a folder made by a version of the book
        that did not mark its folders yet): nothing was touched.
    NotADirectoryError
        If ``folder`` is a file.
    """
    target = Path(folder).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file, not a folder")
    held = sorted(target.iterdir()) if target.exists() else []
    foreign = [entry.name for entry in held if _owner(_where(entry)) is None]
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise NotOwnedError(
            f"refusing to use {target}: it holds what the book did not make ({shown}), "
            f"and it has no {OWNED_MARK} file, which the book writes into the folders it "
            "makes. Nothing was touched. Name a new or empty folder instead, or, if this "
            "one holds nothing you need (an older version of the book made its folders "
            "without the mark), delete it yourself first: shutil.rmtree in Python, rm -r "
            "in a terminal."
        )
    if empty:
        for entry in held:
            _remove(_where(entry))
    target.mkdir(parents=True, exist_ok=True)
    if not _is_marked(target):
        # "x": a new file, never through a link that has the mark's name
        with open(target / OWNED_MARK, "x") as mark:
            mark.write(_MARK_TEXT)
    return target
