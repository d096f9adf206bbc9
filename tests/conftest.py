"""Shared fixtures of the unit tests of ``helpers``.

Every test gets its own book cache (``$PEFT_BOOK_CACHE``) and working folder under
``tmp_path``, so nothing is written to the real cache or into the repository and tests do
not depend on the order they run in. The Hugging Face libraries are told to stay offline:
the tests never touch the network.

Torch runs on one thread, here and in the subprocesses the tests start. The models in the
tests are tiny, so a second thread gains little; and on a 2-core machine that is busy with
something else (a notebook running beside the tests), two threads waiting on each other made
a one-second fit take twenty.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before helpers imports pyplot

import helpers  # noqa: E402,F401  (torchvision compatibility must come before autogluon)
from helpers import _quiet  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_configure(config):
    # pytest resets warning filters for each test: hide again the library chatter that helpers
    # hides from readers (see helpers._quiet), so the summary shows only warnings that matter.
    for category, message in getattr(_quiet, "_LIBRARY_WARNINGS", ()):
        config.addinivalue_line(
            "filterwarnings", f"ignore:{message}:{category.__name__}"
        )
    # torch's own use of a deprecated API when autogluon.multimodal is first imported.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:`torch.jit.interface` is deprecated:DeprecationWarning",
    )
    # transformers' DeBERTa-v2 decorates helpers with torch.jit.script (the stand-in mirror builds one).
    config.addinivalue_line(
        "filterwarnings",
        "ignore:`torch.jit.script` is deprecated:DeprecationWarning",
    )


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def book_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty book cache and working folder for each test; returns the cache path."""
    cache = tmp_path / "cache"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("PEFT_BOOK_CACHE", str(cache))
    # seen by subprocesses
    monkeypatch.setenv("HF_HOME", str(cache / "huggingface"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # torch in subprocesses
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.chdir(work)
    yield cache
    plt.close("all")


def write_zip(
    path: Path,
    members: dict[str, str | bytes],
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a zip file at ``path`` whose members are ``{name: content}`` (names used verbatim)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.fixture
def make_zip():
    """The :func:`write_zip` function, as a fixture."""
    return write_zip
