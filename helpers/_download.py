"""Downloads that are checked before they are kept: nothing half-written ever looks valid."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.request
from pathlib import Path


class ChecksumError(ValueError):
    """A downloaded file does not have the expected SHA-1 checksum."""


def sha1_of(path: Path) -> str:
    """SHA-1 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_verified(url: str, destination: Path, sha1: str) -> Path:
    """Download ``url`` to ``destination`` unless a copy with the right checksum is there.

    The download goes to a temporary file beside ``destination`` and is renamed into place
    only after its checksum matched, so an interrupted or corrupted download never leaves a
    file that a later call would trust. A cached copy with a wrong checksum is removed and
    downloaded again.

    Raises
    ------
    ChecksumError
        If the downloaded bytes do not have the SHA-1 ``sha1``.
    """
    destination = Path(destination)
    if destination.exists():
        if sha1_of(destination) == sha1:
            return destination
        destination.unlink()
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=destination.name, suffix=".part"
    )
    temporary_path = Path(temporary)
    try:
        with (
            open(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=60) as response,
        ):
            shutil.copyfileobj(response, out)
        actual = sha1_of(temporary_path)
        if actual != sha1:
            raise ChecksumError(
                f"download of {url} has SHA-1 {actual}, expected {sha1}. The file was discarded; "
                "try again, and if it persists the file on the server has changed."
            )
        temporary_path.replace(destination)
    finally:
        temporary_path.unlink(missing_ok=True)
    return destination
