"""A local mirror of everything the ``full`` profile downloads.

A *mirror* is a folder that holds the review archive and the Hugging Face models of the
``full`` profile. With ``PEFT_BOOK_MIRROR=<folder>`` set before ``import helpers``, the
chapters take both from it and never touch the network: the models through the Hugging Face
cache in that folder with the hub's offline mode on, the archive checked against its SHA-1
before anything is extracted. A workshop room with weak Wi-Fi copies one folder to every
machine. Fill a mirror on a machine with internet access::

    make mirror MIRROR=/path/to/mirror     # or: python -m tests.fill_mirror /path/to/mirror

Layout::

    <mirror>/manifest.json                 what the mirror holds (written last)
    <mirror>/data/<archive>.zip            the review archive
    <mirror>/hub/models--<org>--<name>/    the models, in Hugging Face's cache layout

Without a mirror, :func:`require_model` first checks that the Hugging Face hub answers, and
a machine without internet gets an :class:`~helpers._download.OfflineError` that names
both ways to run offline: a mirror, or the ``tiny`` profile (``PEFT_BOOK_PROFILE=tiny``).

``make rehearsal`` builds a *stand-in* mirror offline (generated reviews in the real
archive's layout, small random-init models under the real ids; its manifest says
``"stand_in": true`` and carries the stand-in archive's own SHA-1) to run the ``full``
profile end to end on any CPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._download import (
    OfflineError,
    check_reachable,
    download_verified,
    hub_endpoint,
)
from .cache import folder_size, owned_folder

MIRROR_ENV = "PEFT_BOOK_MIRROR"
MANIFEST = "manifest.json"
HUB_FOLDER = "hub"
DATA_FOLDER = "data"
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class MirrorError(FileNotFoundError):
    """The mirror named by ``$PEFT_BOOK_MIRROR`` is missing, or lacks a file or a model."""


def _fix_hint(folder: Path) -> str:
    return (
        f"Fill it on a machine with internet access with `make mirror MIRROR={folder}`, "
        f"or unset {MIRROR_ENV} to download from the internet."
    )


def _named_folder() -> tuple[str, Path] | None:
    """``$PEFT_BOOK_MIRROR`` as set, and the folder it names; ``None`` when it is not set."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    return value, Path(value).expanduser().resolve()


def mirror_folder() -> Path | None:
    """The mirror folder from ``$PEFT_BOOK_MIRROR``, or ``None`` when it is not set.

    Raises
    ------
    MirrorError
        If the variable names a folder that does not exist or holds no ``manifest.json``.
    """
    named = _named_folder()
    if named is None:
        return None
    value, folder = named
    if not folder.is_dir():
        raise MirrorError(
            f"{MIRROR_ENV}={value}: there is no such folder. {_fix_hint(folder)}"
        )
    if not (folder / MANIFEST).is_file():
        raise MirrorError(
            f"{MIRROR_ENV}={value}: {folder} has no {MANIFEST}, so it is not a filled mirror. {_fix_hint(folder)}"
        )
    return folder


def in_mirror(path: Path) -> bool:
    """Whether ``path`` lies in the mirror that ``$PEFT_BOOK_MIRROR`` names (set or not
    filled: a mirror is kept, whatever it holds)."""
    named = _named_folder()
    return named is not None and path.resolve().is_relative_to(named[1])


def read_manifest(folder: Path) -> dict[str, Any]:
    """The mirror's ``manifest.json``: ``stand_in``, ``archive`` (file, sha1) and ``models``."""
    return json.loads((folder / MANIFEST).read_text())


def use_mirror_for_hub() -> Path | None:
    """Point the Hugging Face hub at the mirror and switch it offline, if a mirror is set.

    Must run before ``huggingface_hub`` is imported (``import helpers`` does it first). It
    checks nothing, so that a missing or unfilled mirror does not stop the import (the
    ``tiny`` profile takes nothing from it): :func:`mirror_folder` raises
    :class:`MirrorError` when something is taken from it.
    """
    named = _named_folder()
    if named is None:
        return None
    folder = named[1]
    os.environ["HF_HUB_CACHE"] = str(folder / HUB_FOLDER)
    os.environ["HF_HUB_OFFLINE"] = "1"
    return folder


def is_stand_in() -> bool:
    """True when the mirror in use is a stand-in (random weights, generated reviews).

    False without a mirror, and for a missing or unfilled one, from which nothing is taken.
    """
    named = _named_folder()
    if named is None or not (named[1] / MANIFEST).is_file():
        return False
    return bool(read_manifest(named[1]).get("stand_in"))


def mirrored_archive(pinned_sha1: str) -> tuple[Path, str] | None:
    """The mirror's review archive and the SHA-1 it must have; ``None`` without a mirror.

    A real mirror's archive must have the SHA-1 pinned in the code (``pinned_sha1``); a
    stand-in mirror's has the one its manifest records.

    Raises
    ------
    MirrorError
        If the mirror lacks the archive.
    """
    folder = mirror_folder()
    if folder is None:
        return None
    manifest = read_manifest(folder)
    archive = manifest.get("archive") or {}
    path = folder / archive.get("file", "")
    if not archive.get("file") or not path.is_file():
        raise MirrorError(
            f"the mirror {folder} lacks the review archive ({archive.get('file', 'not in its manifest')}). {_fix_hint(folder)}"
        )
    return path, (
        archive["sha1"] if manifest.get("stand_in") else pinned_sha1
    )


def _snapshot(folder: Path, model_id: str) -> Path | None:
    repo = folder / HUB_FOLDER / f"models--{model_id.replace('/', '--')}"
    ref = repo / "refs" / "main"
    if not ref.is_file():
        return None
    snapshot = repo / "snapshots" / ref.read_text().strip()
    return snapshot if snapshot.is_dir() else None


def _in_local_hub_cache(model_id: str) -> bool:
    """Whether the Hugging Face cache already holds ``model_id`` (its ``config.json``)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model_id, "config.json"), str)


def _hub_offline() -> bool:
    """``$HF_HUB_OFFLINE`` is on: the user asked the hub to use its local cache only."""
    value = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return value in {"1", "on", "true", "yes"}


def require_model(model_id: str) -> str:
    """Return ``model_id`` once it can be loaded: from the mirror, or the hub is reachable.

    With a mirror (``$PEFT_BOOK_MIRROR``), the mirror must hold the model. Without one,
    AutoGluon downloads it from the Hugging Face hub: one short request first checks that
    the hub answers (once per process), so that a machine without internet gets a message
    that says what to do instead of a network error deep inside ``fit``. A model already
    in the local Hugging Face cache, or ``$HF_HUB_OFFLINE`` set, needs no check. The
    ``tiny`` profile never calls this.

    Raises
    ------
    MirrorError
        If the mirror lacks the model, its configuration or its weights.
    OfflineError
        If there is no mirror, the model is not cached, and the hub cannot be reached.
    """
    folder = mirror_folder()
    if folder is None:
        if not _hub_offline():
            try:
                check_reachable(hub_endpoint(), f"the model {model_id}")
            except OfflineError:
                if not _in_local_hub_cache(model_id):
                    raise
        return model_id
    snapshot = _snapshot(folder, model_id)
    if snapshot is None or not (snapshot / "config.json").is_file():
        raise MirrorError(
            f"the mirror {folder} lacks the model {model_id}. {_fix_hint(folder)}"
        )
    if not any((snapshot / name).is_file() for name in _WEIGHT_FILES):
        raise MirrorError(
            f"the mirror {folder} has no weights of the model {model_id}. {_fix_hint(folder)}"
        )
    return model_id


def _model_files(model_id: str) -> list[str]:
    """What the book loads of a hub model: configuration, tokenizer, one weight format."""
    from huggingface_hub import HfApi

    files = HfApi().list_repo_files(model_id)
    weights = [
        name
        for name in files
        if name.startswith("model")
        and name.endswith((".safetensors", ".safetensors.index.json"))
    ]
    if not weights:
        weights = [
            name
            for name in files
            if name.startswith("pytorch_model")
            and name.endswith((".bin", ".bin.index.json"))
        ]
    wanted = {
        "config.json",
        "generation_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "spm.model",
        "spiece.model",
    }
    return [
        name
        for name in files
        if name in wanted or name.startswith("tokenizer")
    ] + weights


def fill_mirror(
    folder: Path,
    models: list[str],
    archive_url: str,
    archive_sha1: str,
    archive_name: str,
) -> int:
    """Download the review archive (SHA-1 checked) and ``models`` into ``folder``; return its size.

    The manifest is written last, so an interrupted run leaves a folder that the chapters
    refuse as "not a filled mirror" instead of one that looks complete. Running again
    resumes: files already there are kept. ``folder`` must be new, empty or one the book
    made (:func:`helpers.cache.owned_folder`), and is marked as the book's.

    Raises
    ------
    NotOwnedError
        If ``folder`` holds files the book did not make: nothing is written there.
    """
    from huggingface_hub import snapshot_download

    folder = owned_folder(folder)
    (folder / MANIFEST).unlink(missing_ok=True)
    archive = download_verified(
        archive_url, folder / DATA_FOLDER / archive_name, archive_sha1
    )
    for model_id in models:
        print(f"downloading {model_id} ...", flush=True)
        snapshot_download(
            model_id,
            cache_dir=folder / HUB_FOLDER,
            allow_patterns=_model_files(model_id),
        )
    manifest = {
        "stand_in": False,
        "archive": {
            "file": str(archive.relative_to(folder)),
            "sha1": archive_sha1,
        },
        "models": list(models),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return folder_size(folder)
