from __future__ import annotations

from helpers import cache
from helpers._files import folder_size
from helpers.cache import (
    book_cache_dir,
    clean_cache,
    fresh_run_dir,
    point_hf_home_at_cache,
)

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def no_rmtree(monkeypatch):
    """Make deletion impossible while testing refusals: a broken check must not wipe a disk."""

    def refuse(path, *args, **kwargs):
        raise AssertionError(f"clean_cache tried to delete {path}")

    monkeypatch.setattr(shutil, "rmtree", refuse)


def _tree(root: Path) -> int:
    """Write a small tree under ``root``; return the total size of its files."""
    files = {
        "a.bin": 1000,
        "sub/b.txt": 123,
        "sub/deeper/c": 4567,
        "sub/empty": 0,
    }
    for name, size in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    (root / "empty-folder").mkdir()
    return sum(files.values())


def test_book_cache_dir_follows_environment(
    tmp_path, monkeypatch, book_cache
):
    assert book_cache_dir() == book_cache and book_cache.is_dir()
    monkeypatch.delenv("PEFT_BOOK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert book_cache_dir() == tmp_path / "xdg" / "peft-book"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert book_cache_dir() == tmp_path / "home" / ".cache" / "peft-book"


def test_point_hf_home_at_cache(monkeypatch, book_cache, tmp_path):
    monkeypatch.delenv("HF_HOME")
    assert point_hf_home_at_cache() == book_cache / "huggingface"
    assert os.environ["HF_HOME"] == str(book_cache / "huggingface")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "mine"))
    # a user's choice is kept
    assert point_hf_home_at_cache() == tmp_path / "mine"


def test_clean_cache_returns_bytes_freed(tmp_path):
    folder = tmp_path / "to-clean"
    size = _tree(folder)
    assert clean_cache(folder) == size
    assert not folder.exists()
    assert tmp_path.is_dir()


def test_clean_cache_accepts_strings_and_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    size = _tree(tmp_path / "home" / ".cache" / "peft-book")
    assert clean_cache("~/.cache/peft-book") == size
    assert not (tmp_path / "home" / ".cache" / "peft-book").exists()
    assert (tmp_path / "home" / ".cache").is_dir()


def test_clean_cache_missing_path_frees_nothing(tmp_path):
    assert clean_cache(tmp_path / "never-created") == 0
    assert clean_cache(str(tmp_path / "never" / "created")) == 0


def test_clean_cache_refuses_root(no_rmtree):
    with pytest.raises(ValueError, match="refusing"):
        clean_cache("/")
    assert Path("/").is_dir()


def test_clean_cache_refuses_home(tmp_path, monkeypatch, no_rmtree):
    home = tmp_path / "home"
    _tree(home)
    monkeypatch.setenv("HOME", str(home))
    for spelling in (home, str(home), "~", home / "sub" / ".."):
        with pytest.raises(ValueError, match="home"):
            clean_cache(spelling)
    assert (home / "a.bin").is_file()


def test_clean_cache_refuses_cwd_and_its_parents(
    tmp_path, monkeypatch, no_rmtree
):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for target in (
        work,
        ".",
        tmp_path / "a" / "b",
        tmp_path / "a",
        "..",
        tmp_path,
    ):
        with pytest.raises(ValueError, match="working folder"):
            clean_cache(target)
    assert work.is_dir()


def test_clean_cache_refuses_a_folder_that_links_to_cwd(
    tmp_path, monkeypatch, no_rmtree
):
    # The link itself would be removed (only the link); but a path *through* a link is resolved.
    work = tmp_path / "real" / "work"
    work.mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    monkeypatch.chdir(work)
    with pytest.raises(ValueError):
        clean_cache(tmp_path / "alias" / "work")
    assert work.is_dir()


def test_clean_cache_refuses_a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("keep me")
    with pytest.raises(ValueError, match="file"):
        clean_cache(path)
    assert path.read_text() == "keep me"


def test_clean_cache_leaves_link_targets_alone(tmp_path):
    outside = tmp_path / "outside"
    _tree(outside)
    (tmp_path / "outside-file.txt").write_text("precious")
    folder = tmp_path / "cache-to-clean"
    size = _tree(folder)
    (folder / "link-to-folder").symlink_to(outside, target_is_directory=True)
    (folder / "sub" / "link-to-file").symlink_to(
        tmp_path / "outside-file.txt"
    )
    link_sizes = (folder / "link-to-folder").lstat().st_size + (
        folder / "sub" / "link-to-file"
    ).lstat().st_size
    # links count as links, not as their targets
    assert clean_cache(folder) == size + link_sizes
    assert not folder.exists() and not folder.is_symlink()
    assert (outside / "sub" / "deeper" / "c").stat().st_size == 4567
    assert (tmp_path / "outside-file.txt").read_text() == "precious"


def test_clean_cache_on_a_link_removes_only_the_link(tmp_path):
    real = tmp_path / "real-cache"
    _tree(real)
    link = tmp_path / "cache-link"
    link.symlink_to(real, target_is_directory=True)
    link_size = link.lstat().st_size
    assert clean_cache(link) == link_size
    assert not link.is_symlink() and not link.exists()
    assert (real / "a.bin").stat().st_size == 1000
    assert (real / "sub" / "deeper" / "c").is_file()


def test_clean_cache_on_a_link_to_home_removes_only_the_link(
    tmp_path, monkeypatch
):
    home = tmp_path / "home"
    _tree(home)
    monkeypatch.setenv("HOME", str(home))
    link = tmp_path / "link-to-home"
    link.symlink_to(home, target_is_directory=True)
    clean_cache(link)
    assert not link.is_symlink()
    assert (home / "a.bin").is_file()


def test_clean_cache_of_the_book_cache(book_cache):
    runs = fresh_run_dir("x").parent
    (runs / "model.ckpt").write_bytes(b"w" * 2048)
    assert clean_cache(book_cache) == 2048
    assert not book_cache.exists()


def test_clean_cache_counts_a_hard_linked_file_once(tmp_path):
    folder = tmp_path / "cache"
    size = _tree(folder)
    os.link(folder / "a.bin", folder / "sub" / "same-as-a.bin")
    assert clean_cache(folder) == size


# --- folder_size: one rule for links ------------------------------------------------------


def test_folder_size_of_a_hugging_face_cache(tmp_path):
    """Blobs count once; snapshot links count as links, never as their blobs."""
    repo = tmp_path / "hub" / "models--org--name"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "abc").write_bytes(b"w" * 5000)
    snapshots = [repo / "snapshots" / commit for commit in ("1", "2")]
    links = []
    for snapshot in snapshots:
        snapshot.mkdir(parents=True)
        link = snapshot / "model.safetensors"
        link.symlink_to(Path("..") / ".." / "blobs" / "abc")
        links.append(link.lstat().st_size)
    assert folder_size(tmp_path / "hub") == 5000 + sum(links)


def test_folder_size_never_follows_links_out(tmp_path):
    outside = tmp_path / "outside"
    outside_size = _tree(outside)
    folder = tmp_path / "folder"
    size = _tree(folder)
    (folder / "to-outside").symlink_to(outside, target_is_directory=True)
    (folder / "to-a-file").symlink_to(outside / "a.bin")
    (folder / "dangling").symlink_to(tmp_path / "nothing")
    links = sum(
        (folder / name).lstat().st_size
        for name in ("to-outside", "to-a-file", "dangling")
    )
    assert folder_size(folder) == size + links
    assert folder_size(outside) == outside_size
    assert folder_size(tmp_path / "missing") == 0


# --- fresh_run_dir -----------------------------------------------------------------------


def test_fresh_run_dir_is_new_and_under_the_cache(book_cache):
    first, second = (
        fresh_run_dir("ch1-baseline"),
        fresh_run_dir("ch1-baseline"),
    )
    assert first != second
    for path in (first, second):
        assert path.parent == book_cache / "runs"
        assert path.parent.is_dir()
        assert not path.exists()
        assert path.name.startswith("ch1-baseline-") and len(
            path.name
        ) > len("ch1-baseline-")


def test_fresh_run_dir_never_returns_an_existing_folder(book_cache):
    seen = set()
    for _ in range(200):
        path = fresh_run_dir("r")
        assert path not in seen and not path.exists()
        path.mkdir()
        seen.add(path)


@pytest.mark.parametrize(
    "name", ["a/b", "../escape", "..", ".", "", "/abs", "runs/", "x/.."]
)
def test_fresh_run_dir_rejects_paths(name, book_cache):
    with pytest.raises(ValueError, match="plain folder name"):
        fresh_run_dir(name)


def test_unsafe_targets_include_root_home_and_cwd(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    unsafe = cache._unsafe_targets()
    assert {
        Path("/"),
        (tmp_path / "home").resolve(),
        work.resolve(),
        tmp_path.resolve(),
    } <= unsafe
