"""Downloads that are checked before they are kept: nothing half-written ever looks valid.

And the one message a machine without internet gets (:class:`OfflineError`), for the
review archive and the Hugging Face models alike, instead of a raw ``URLError``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ._files import staged

#: Spelled out here, not imported: ``_mirror`` and ``profiles`` import this module.
_MIRROR_ENV = "PEFT_BOOK_MIRROR"
_PROFILE_ENV = "PEFT_BOOK_PROFILE"
#: Seconds :func:`check_reachable` waits for a server to answer.
REACHABLE_TIMEOUT_S = 5.0


class ChecksumError(ValueError):
    """A downloaded file does not have the expected SHA-1 checksum."""


class OfflineError(ConnectionError):
    """The ``full`` profile needs a server it cannot reach (no internet, no mirror).

    Its message names the server, the network error, and the two ways to run offline: a
    mirror (``$PEFT_BOOK_MIRROR``) or the ``tiny`` profile (``PEFT_BOOK_PROFILE=tiny``).
    """


def offline_error(url: str, what: str, error: BaseException) -> OfflineError:
    """The :class:`OfflineError` for ``url`` (needed for ``what``) after ``error``."""
    host = urllib.parse.urlsplit(url).hostname or url
    reason = getattr(error, "reason", None) or error
    return OfflineError(
        f"cannot reach {host} to download {what} ({type(error).__name__}: {reason}). "
        "This machine seems to have no internet access, and no mirror is set. The full "
        "profile downloads the review data and the Hugging Face models; offline, either "
        f"set {_MIRROR_ENV}=<folder> to a mirror filled on a machine with internet "
        "(`make mirror MIRROR=<folder>`), or run the tiny profile, which needs no network: "
        f"{_PROFILE_ENV}=tiny."
    )


#: Network failures (not answers: an HTTP error status means the server was reached).
_NETWORK_ERRORS = (urllib.error.URLError, socket.timeout, ConnectionError)


def _is_network_failure(error: BaseException) -> bool:
    return isinstance(error, _NETWORK_ERRORS) and not isinstance(
        error, urllib.error.HTTPError
    )


_reached: set[str] = set()


def check_reachable(
    url: str, what: str, timeout: float = REACHABLE_TIMEOUT_S
) -> None:
    """Raise :class:`OfflineError` unless the server of ``url`` answers within ``timeout``.

    One ``HEAD`` request; any HTTP answer counts, even an error status. A server that
    answered once is not asked again in this process.
    """
    parts = urllib.parse.urlsplit(url)
    server = f"{parts.scheme}://{parts.netloc}"
    if server in _reached:
        return
    try:
        with urllib.request.urlopen(
            urllib.request.Request(server + "/", method="HEAD"),
            timeout=timeout,
        ):
            pass
    except urllib.error.HTTPError:
        pass  # the server answered
    except OSError as error:  # URLError, a timeout, a refused connection
        raise offline_error(url, what, error) from error
    _reached.add(server)


def hub_endpoint() -> str:
    """The Hugging Face hub's address (``$HF_ENDPOINT``, as ``huggingface_hub`` reads it)."""
    return (
        os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    ).rstrip("/")


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
    OfflineError
        If the server cannot be reached (no internet): the message says how to run offline.
    """
    destination = Path(destination)
    if destination.exists():
        if sha1_of(destination) == sha1:
            return destination
        destination.unlink()
    destination.parent.mkdir(parents=True, exist_ok=True)
    with staged(destination) as temporary:
        try:
            with (
                open(temporary, "wb") as out,
                urllib.request.urlopen(url, timeout=60) as response,
            ):
                shutil.copyfileobj(response, out)
        except _NETWORK_ERRORS as error:
            if not _is_network_failure(error) or not url.startswith(
                ("http://", "https://")
            ):
                raise
            raise offline_error(url, destination.name, error) from error
        actual = sha1_of(temporary)
        if actual != sha1:
            raise ChecksumError(
                f"download of {url} has SHA-1 {actual}, expected {sha1}. The file was discarded; "
                "try again, and if it persists the file on the server has changed."
            )
    return destination
