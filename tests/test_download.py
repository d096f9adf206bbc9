"""Without internet and without a mirror, the ``full`` profile says what to do.

The network is never touched: ``urllib.request.urlopen`` is replaced by one that fails as
it does on a machine without internet (``URLError: Name or service not known``).
"""

from __future__ import annotations

from helpers import _download, _mirror, profiles
from helpers._download import OfflineError, check_reachable
from helpers._files import staged
from helpers.profiles import get_profile
from helpers.reviews import load_reviews

import socket
import urllib.error
import urllib.request

import pytest

HINTS = ("PEFT_BOOK_MIRROR", "PEFT_BOOK_PROFILE=tiny", "make mirror")


@pytest.fixture
def no_internet(monkeypatch):
    """urlopen fails as without a network; returns the list of URLs it was asked for."""
    asked = []

    def urlopen(request, *args, **kwargs):
        asked.append(getattr(request, "full_url", request))
        raise urllib.error.URLError(
            socket.gaierror(-2, "Name or service not known")
        )

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(_download, "_reached", set())
    monkeypatch.delenv(_mirror.MIRROR_ENV, raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    return asked


def _says_what_to_do(error: BaseException, host: str) -> None:
    message = str(error)
    assert host in message and "Name or service not known" in message
    for hint in HINTS:
        assert hint in message, f"{hint!r} missing from: {message}"


def test_the_hints_spell_the_real_variable_names():
    assert _download._MIRROR_ENV == _mirror.MIRROR_ENV
    assert _download._PROFILE_ENV == profiles.PROFILE_ENV
    assert issubclass(OfflineError, ConnectionError)


def test_an_offline_download_says_what_to_do_and_keeps_nothing(
    no_internet, tmp_path
):
    target = tmp_path / "data" / "reviews.zip"
    with pytest.raises(OfflineError) as error:
        _download.download_verified(
            "https://example.org/reviews.zip", target, "0" * 40
        )
    _says_what_to_do(error.value, "example.org")
    assert isinstance(error.value.__cause__, urllib.error.URLError)
    assert list(target.parent.iterdir()) == []  # no .part file left


def test_an_http_error_is_not_called_offline(monkeypatch, tmp_path):
    def urlopen(url, *args, **kwargs):
        raise urllib.error.HTTPError(url, 403, "Forbidden", {}, None)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(urllib.error.HTTPError):
        _download.download_verified(
            "https://example.org/a.zip", tmp_path / "a.zip", "0" * 40
        )


def test_the_full_profile_data_offline_without_a_mirror(no_internet):
    with pytest.raises(OfflineError) as error:
        load_reviews(get_profile("full"))
    _says_what_to_do(error.value, "automl-mm-bench.s3.amazonaws.com")


def test_the_full_profile_models_offline_without_a_mirror(no_internet):
    profile = get_profile("full")
    with pytest.raises(OfflineError) as error:
        profile.baseline_checkpoint()
    _says_what_to_do(error.value, "huggingface.co")
    assert "microsoft/mdeberta-v3-base" in str(error.value)
    with pytest.raises(OfflineError):
        profile.large_checkpoint()
    assert no_internet == ["https://huggingface.co/"] * 2


def test_the_check_follows_hf_endpoint(no_internet, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.org/")
    with pytest.raises(OfflineError, match="hub.example.org"):
        _mirror.require_model("google/flan-t5-xl")
    assert no_internet == ["https://hub.example.org/"]


def test_a_cached_model_needs_no_network(no_internet, monkeypatch):
    monkeypatch.setattr(_mirror, "_in_local_hub_cache", lambda model: True)
    assert _mirror.require_model("google/flan-t5-xl") == "google/flan-t5-xl"


def test_hf_hub_offline_asks_nothing(no_internet, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _mirror.require_model("google/flan-t5-xl") == "google/flan-t5-xl"
    assert no_internet == []


def test_a_reachable_hub_is_asked_once(monkeypatch):
    asked = []

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(request, *args, **kwargs):
        asked.append((request.full_url, request.get_method()))
        return Answer()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(_download, "_reached", set())
    monkeypatch.delenv(_mirror.MIRROR_ENV, raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    for model in ("microsoft/mdeberta-v3-base", "google/flan-t5-xl"):
        assert _mirror.require_model(model) == model
    assert asked == [("https://huggingface.co/", "HEAD")]


def test_an_http_error_status_counts_as_reachable(monkeypatch):
    def urlopen(request, *args, **kwargs):
        raise urllib.error.HTTPError(
            request.full_url, 405, "Method Not Allowed", {}, None
        )

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(_download, "_reached", set())
    check_reachable("https://example.org/x", "x")


def test_a_timeout_is_offline_too(monkeypatch):
    def urlopen(request, *args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(_download, "_reached", set())
    with pytest.raises(OfflineError, match="timed out"):
        check_reachable("https://example.org/x", "x")


def test_the_tiny_profile_never_asks_the_network(no_internet):
    profile = get_profile("tiny")
    profile.baseline_checkpoint()
    profile.large_checkpoint()
    load_reviews(profile)
    assert no_internet == []


# --- staged: written whole or not at all --------------------------------------------------


@pytest.fixture
def folder(book_cache):
    """An empty folder of its own, in the book's cache: ``staged`` replaces only a folder
    the book owns (tests/test_cache.py: a folder of the reader's is refused)."""
    path = book_cache / "staged"
    path.mkdir(parents=True)
    return path


def test_staged_file_takes_the_name_only_when_complete(folder):
    target = folder / "record.json"
    target.write_text("old")
    with staged(target) as temporary:
        assert temporary.parent == folder and temporary != target
        temporary.write_text("new, half")
        assert target.read_text() == "old"  # never half-written
        temporary.write_text("new, whole")
    assert target.read_text() == "new, whole"
    assert [p.name for p in folder.iterdir()] == ["record.json"]


@pytest.mark.parametrize("existing", [True, False])
def test_staged_file_that_fails_leaves_nothing(folder, existing):
    target = folder / "data.bin"
    if existing:
        target.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with staged(target) as temporary:
            temporary.write_bytes(b"half")
            raise OSError("disk full")
    assert [p.name for p in folder.iterdir()] == (
        ["data.bin"] if existing else []
    )
    if existing:
        assert target.read_bytes() == b"old"


def test_staged_folder_replaces_the_old_one_only_when_complete(folder):
    target = folder / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with staged(target, folder=True) as temporary:
        assert temporary.is_dir() and temporary.parent == folder
        (temporary / "new.txt").write_text("new")
        assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in folder.iterdir()] == ["model"]


def test_staged_folder_that_fails_leaves_the_old_one(folder):
    target = folder / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="build failed"):
        with staged(target, folder=True) as temporary:
            (temporary / "sub").mkdir()
            (temporary / "sub" / "half.bin").write_bytes(b"half")
            raise RuntimeError("build failed")
    assert [p.name for p in folder.iterdir()] == ["model"]
    assert (target / "old.txt").read_text() == "old"
