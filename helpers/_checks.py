"""Checks of the arguments a reader passes to the public functions: one wording for each
kind of mistake (a list where a dict belongs, a profile's name for the profile, a size of
0), each raised as the error of its kind, saying what was wrong and what is valid.
``tests/test_bad_input.py`` holds the table of mistakes and the errors they get."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def require_mapping(value: Any, what: str, example: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a mapping (a dict), such as ``example``."""
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{what} must be a dict, such as {example}; got {type(value).__name__}"
        )


def require_profile(value: Any, caller: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a profile (it has a ``name``): not its name."""
    # by its name: helpers.profiles, which defines Profile, comes in a later layer
    if not isinstance(getattr(value, "name", None), str):
        hint = (
            f"; for a profile's name, pass helpers.get_profile({value!r})"
            if isinstance(value, str)
            else ""
        )
        raise TypeError(
            f"{caller} takes a profile, such as profile = helpers.get_profile(); "
            f"got {type(value).__name__}{hint}"
        )


def require_choice(value: Any, what: str, known: Iterable[str]) -> None:
    """Raise ``TypeError`` unless ``value`` is a string, ``ValueError`` unless it is one
    of ``known``."""
    known = tuple(known)
    if not isinstance(value, str):
        raise TypeError(
            f"{what} must be a string, one of {', '.join(known)}; got {value!r}"
        )
    if value not in known:
        raise ValueError(
            f"unknown {what} {value!r}; known: {', '.join(known)}"
        )


def require_count(value: Any, what: str) -> None:
    """Raise ``TypeError`` unless ``value`` is an int, ``ValueError`` unless it is at
    least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{what} must be a whole number, at least 1; got {value!r}"
        )
    if value < 1:
        raise ValueError(f"{what} must be at least 1; got {value}")


def require_plain_name(value: Any, what: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a string, ``ValueError`` unless it is a
    plain file or folder name (no ``/``, not ``.`` or ``..``)."""
    if not isinstance(value, str):
        raise TypeError(
            f"{what} must be a string; got {type(value).__name__}"
        )
    if not value or Path(value).name != value or value in {".", ".."}:
        raise ValueError(
            f"{what} must be a plain name, without '/' and not '.' or '..'; got {value!r}"
        )
