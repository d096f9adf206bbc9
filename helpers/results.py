"""Small JSON files in which each chapter records what it measured, for later chapters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._checks import require_mapping, require_plain_name
from ._files import staged


def _check_names(chapter: str, profile_name: str) -> None:
    require_plain_name(chapter, "chapter")
    require_plain_name(
        profile_name, "profile_name (a profile's name: profile.name)"
    )


def results_dir(profile_name: str) -> Path:
    """``./results/<profile>``, relative to the working folder (the ``notebooks`` folder)."""
    return Path.cwd() / "results" / profile_name


def save_results(
    chapter: str, profile_name: str, record: dict[str, Any]
) -> Path:
    """Write ``record`` as ``results/<profile>/<chapter>.json`` (atomically, keys sorted).

    Raises
    ------
    TypeError
        If ``record`` is not a dict, or a name is not a string.
    ValueError
        If ``chapter`` or ``profile_name`` is not a plain name (``/``, ``..``).
    """
    _check_names(chapter, profile_name)
    require_mapping(record, "record", "{'roc_auc': 0.93}")
    folder = results_dir(profile_name)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{chapter}.json"
    with staged(target) as temporary, open(temporary, "w") as out:
        json.dump(record, out, indent=2, sort_keys=True)
        out.write("\n")
    return target


def load_results(
    chapter: str,
    profile_name: str,
    *,
    rerun: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Read what ``chapter`` recorded for this profile, or measure it again.

    A chapter opened on its own (a fresh Colab runtime opens each notebook in an empty
    folder) finds no record of the chapters before it. With ``rerun``, that function
    measures again what the earlier chapter recorded; its record is saved as that
    chapter's, so a second call reads it, and returned.

    Raises
    ------
    FileNotFoundError
        If that chapter has not been run in this profile and no ``rerun`` is given,
        saying which chapter to run.
    TypeError
        If ``rerun`` is not a function, or a name is not a string.
    ValueError
        If ``chapter`` or ``profile_name`` is not a plain name (``/``, ``..``).
    """
    _check_names(chapter, profile_name)
    if rerun is not None and not callable(rerun):
        raise TypeError(
            "rerun must be a function that measures the chapter again and returns its "
            f"record; got {type(rerun).__name__}"
        )
    path = results_dir(profile_name) / f"{chapter}.json"
    if path.is_file():
        return json.loads(path.read_text())
    if rerun is None:
        raise FileNotFoundError(
            f"no results of chapter {chapter!r} for the {profile_name!r} profile at {path}; run that chapter first"
        )
    print(f"no record of {chapter} here: measuring it again")
    record = rerun()
    save_results(chapter, profile_name, record)
    return record
