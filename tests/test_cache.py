from __future__ import annotations

from helpers._files import staged
from helpers.cache import (
    OWNED_MARK,
    NotOwnedError,
    book_cache_dir,
    clean_cache,
    folder_size,
    fresh_run_dir,
    owned_folder,
    point_hf_home_at_cache,
)

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


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


def test_pointing_hf_home_creates_nothing(monkeypatch, book_cache):
    monkeypatch.delenv("HF_HOME")
    point_hf_home_at_cache()
    assert not book_cache.exists()


# --- what the book owns, on a fake machine ------------------------------------------------
# Every deleting call below gets a path of a fake machine built under tmp_path, and a guard
# fails the test on any deletion outside tmp_path, so a broken check cannot harm the
# machine that runs the tests.


@pytest.fixture(autouse=True)
def deletions_stay_in_tmp_path(tmp_path, monkeypatch):
    """Fail, instead of deleting, on any deletion outside ``tmp_path``."""
    real_rmtree, real_unlink = shutil.rmtree, os.unlink
    inside = tmp_path.resolve()

    def check(path) -> None:
        where = Path(path).parent.resolve() / Path(path).name
        if where != inside and inside not in where.parents:
            raise AssertionError(f"a test tried to delete {where}")

    def rmtree(path, *args, **kwargs):
        check(path)
        return real_rmtree(path, *args, **kwargs)

    def unlink(path, *args, dir_fd=None, **kwargs):
        if (
            dir_fd is None
        ):  # rmtree's own calls name entries of a checked folder
            check(path)
        return real_unlink(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "remove", unlink)


@dataclass
class Machine:
    """A fake machine: paths of the tree :func:`machine` builds."""

    root: Path
    home: Path
    cache: Path
    system: Path
    work: Path


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Machine:
    """A home with the book's cache (at its default place), another program's cache and
    the reader's files; a system folder; elsewhere, a folder the book made (marked) beside
    one of the reader's; links in and out of the owned folders. ``HOME`` and the working
    folder point into it."""
    root = tmp_path / "machine"
    home, system, work = (
        root / "home" / "reader",
        root / "etc",
        root / "work",
    )
    cache = home / ".cache" / "peft-book"
    blobs = cache / "huggingface" / "hub" / "models--org--name" / "blobs"
    files = {
        system / "passwd": b"root:x:0:0:root:/root:/bin/bash\n",
        system / "ssl" / "cert.pem": b"-----BEGIN CERTIFICATE-----\n",
        home / "notes.txt": b"my notes",
        home / "project" / "train.py": b"print('hello')\n",
        home / ".cache" / "other-app" / "cache.db": b"o" * 300,
        cache / "runs" / "ch1-0001" / "model.ckpt": b"w" * 2048,
        blobs / "abc": b"b" * 5000,
        work / "rehearsal" / OWNED_MARK: b"made by the book\n",
        work / "rehearsal" / "mirror" / "manifest.json": b"{}\n",
        work / "mine" / "results.csv": b"a,b\n1,2\n",
        work / "fake-mark" / "data.csv": b"x\n",
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    links = {
        cache / "runs" / "ch1-0001" / "to-passwd": system / "passwd",
        cache / "to-system": system,
        blobs.parent / "snapshots" / "1" / "model.safetensors": Path(
            "../../blobs/abc"
        ),
        home / "cache-alias": cache,
        home / "to-system": system,
        work / "rehearsal" / "to-mine": work / "mine",
        # a link that has the mark's name marks nothing
        work / "fake-mark" / OWNED_MARK: work / "rehearsal" / OWNED_MARK,
    }
    for link, target in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    for name in ("PEFT_BOOK_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "project")
    return Machine(root, home, cache, system, work)


def listing(root: Path) -> dict[str, str]:
    """Everything under ``root``, links not followed: folders, links' targets, files' bytes."""
    found = {}
    for parent, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(parent, name)
            found[str(path.relative_to(root))] = (
                f"link to {os.readlink(path)}"
                if path.is_symlink()
                else "folder"
                if path.is_dir()
                else path.read_bytes().hex()
            )
    return found


def without(found: dict[str, str], part: str) -> dict[str, str]:
    """``found`` without ``part`` and what lies under it."""
    return {
        path: what
        for path, what in found.items()
        if path != part and not path.startswith(part + os.sep)
    }


CACHE = "home/reader/.cache/peft-book"


@pytest.mark.parametrize(
    "target, deleted",
    [
        # a predictor folder of fresh_run_dir, and a link in it: removed as a link
        (f"{CACHE}/runs/ch1-0001", f"{CACHE}/runs/ch1-0001"),
        # the Hugging Face cache the book points into its cache
        (f"{CACHE}/huggingface", f"{CACHE}/huggingface"),
        # the whole cache, with a link out of it
        (CACHE, CACHE),
        # a link in the cache to the system folder: only the link
        (f"{CACHE}/to-system", f"{CACHE}/to-system"),
        (
            f"{CACHE}/runs/ch1-0001/to-passwd",
            f"{CACHE}/runs/ch1-0001/to-passwd",
        ),
        # through a link of the reader's to the cache: the real folder in the cache
        ("home/reader/cache-alias/runs", f"{CACHE}/runs"),
        # '..' that stays in the cache
        (f"{CACHE}/runs/../huggingface", f"{CACHE}/huggingface"),
        # a folder the book made elsewhere (marked), with a link out of it
        ("work/rehearsal", "work/rehearsal"),
        ("work/rehearsal/mirror", "work/rehearsal/mirror"),
    ],
)
def test_clean_cache_deletes_only_what_the_book_owns(
    machine, target, deleted
):
    before = listing(machine.root)
    path, gone = machine.root / target, machine.root / deleted
    expected = (
        gone.lstat().st_size if gone.is_symlink() else folder_size(gone)
    )
    assert clean_cache(path) == expected
    assert not gone.exists() and not gone.is_symlink()
    assert listing(machine.root) == without(before, deleted)


def test_clean_cache_counts_what_it_frees(machine):
    link_size = (machine.cache / "to-system").lstat().st_size
    runs = machine.cache / "runs" / "ch1-0001"
    passwd_link = (runs / "to-passwd").lstat().st_size
    snapshot = (
        machine.cache / "huggingface/hub/models--org--name/snapshots/1"
    )
    blob_link = (snapshot / "model.safetensors").lstat().st_size
    # each file once, each link as itself, never what it points to
    assert clean_cache("~/.cache/peft-book") == (
        2048 + passwd_link + 5000 + blob_link + link_size
    )
    assert (machine.system / "passwd").is_file()


def test_clean_cache_counts_a_hard_linked_file_once(machine):
    runs = machine.cache / "runs" / "ch1-0001"
    os.link(runs / "model.ckpt", runs / "same-model.ckpt")
    link_size = (runs / "to-passwd").lstat().st_size
    assert clean_cache(runs) == 2048 + link_size


@pytest.mark.parametrize(
    "target",
    [
        "etc",  # the system folder
        "etc/ssl",
        "home/reader/.cache/other-app",  # merely looks like a cache
        "home/reader/.cache",  # holds the book's cache and another program's
        f"{CACHE}/../other-app",  # '..' out of the cache
        f"{CACHE}/to-system/ssl",  # through a link out of the cache
        "home/reader/to-system",  # the reader's link to the system folder
        "home/reader/cache-alias",  # the reader's link to the cache
        "home/reader/notes.txt",
        "work/mine",  # beside a folder the book made
        "work/rehearsal/to-mine/results.csv",  # through a link out of it
        "work/fake-mark",  # a link named like the mark marks nothing
        "work/typo",  # missing: nothing to delete, but not the book's either
    ],
)
def test_clean_cache_refuses_what_the_book_does_not_own(machine, target):
    before = listing(machine.root)
    path = machine.root / target
    with pytest.raises(NotOwnedError) as refused:
        clean_cache(path)
    message = str(refused.value)
    assert "did not make it" in message and "Nothing was deleted" in message
    assert str(machine.cache) in message and OWNED_MARK in message
    assert "rm -r" in message
    assert listing(machine.root) == before


def test_the_refusal_names_the_path_the_owned_folders_and_the_way_by_hand(
    machine,
):
    with pytest.raises(ValueError) as refused:
        clean_cache(machine.system)
    assert isinstance(refused.value, NotOwnedError)
    assert str(refused.value) == (
        f"refusing to delete {machine.system}: the book did not make it. It deletes "
        f"only what it owns: its cache folder, {machine.cache}, and what is inside it "
        "(the Hugging Face cache it points there, the predictors of "
        "helpers.fresh_run_dir), and folders that hold a .peft-book-owned file (those "
        "the book made elsewhere). Nothing was deleted. To delete something else, "
        "check what it holds and delete it yourself: shutil.rmtree in Python, rm -r "
        "in a terminal."
    )


def test_clean_cache_owns_the_cache_that_is_configured(machine, monkeypatch):
    monkeypatch.setenv("PEFT_BOOK_CACHE", str(machine.work / "mine"))
    before = listing(machine.root)
    with pytest.raises(NotOwnedError, match="did not make it"):
        clean_cache(machine.cache / "runs")  # no longer the book's cache
    assert listing(machine.root) == before
    assert clean_cache(machine.work / "mine") == len(b"a,b\n1,2\n")


def test_a_hugging_face_cache_of_the_readers_is_not_the_books(
    machine, monkeypatch
):
    own = machine.home / "hf"
    (own / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(own))
    with pytest.raises(NotOwnedError):
        clean_cache(own)
    assert (own / "hub").is_dir()


@pytest.mark.parametrize(
    "target, says",
    [
        ("/", "filesystem root"),
        ("~", "home folder"),
        (".", "working folder"),
        ("..", "working folder"),
        ("home/reader/project/../../reader", "home folder"),
    ],
)
def test_clean_cache_never_deletes_root_home_or_working_folder(
    machine, monkeypatch, target, says
):
    # even when the reader points the book's cache at the home folder
    monkeypatch.setenv("PEFT_BOOK_CACHE", str(machine.home))
    before = listing(machine.root)
    path = target if target[0] in "/~." else machine.root / target
    with pytest.raises(NotOwnedError, match=says):
        clean_cache(path)
    assert listing(machine.root) == before


def test_clean_cache_frees_nothing_for_a_missing_folder_of_the_book(machine):
    assert clean_cache(machine.cache / "runs" / "never-created") == 0
    assert clean_cache(machine.work / "rehearsal" / "never" / "made") == 0


def test_clean_cache_refuses_a_file(machine):
    model = machine.cache / "runs" / "ch1-0001" / "model.ckpt"
    with pytest.raises(ValueError, match="is a file"):
        clean_cache(model)
    assert model.stat().st_size == 2048


@pytest.mark.parametrize("path", [None, 3, ["runs"], b"/tmp"])
def test_clean_cache_wants_a_path(machine, path):
    with pytest.raises(TypeError, match="path of a folder"):
        clean_cache(path)


def test_clean_cache_of_the_book_cache(book_cache):
    runs = fresh_run_dir("x").parent
    (runs / "model.ckpt").write_bytes(b"w" * 2048)
    assert clean_cache(book_cache) == 2048
    assert not book_cache.exists()


# --- owned_folder: a folder a tool of the book writes in ----------------------------------


def test_owned_folder_makes_and_marks_a_new_folder(machine):
    before = listing(machine.root)
    folder = owned_folder(machine.work / "new" / "deeper")
    assert folder == machine.work / "new" / "deeper"
    assert (folder / OWNED_MARK).is_file()
    assert listing(machine.root) == {
        **before,
        "work/new": "folder",
        "work/new/deeper": "folder",
        f"work/new/deeper/{OWNED_MARK}": (folder / OWNED_MARK)
        .read_bytes()
        .hex(),
    }
    assert clean_cache(folder) > 0  # the book's now


def test_owned_folder_marks_an_empty_folder(machine):
    (machine.work / "empty").mkdir()
    folder = owned_folder(machine.work / "empty", empty=True)
    assert [p.name for p in folder.iterdir()] == [OWNED_MARK]


def test_owned_folder_keeps_or_empties_a_folder_the_book_made(machine):
    rehearsal = machine.work / "rehearsal"
    before = listing(machine.root)
    assert owned_folder(rehearsal) == rehearsal
    assert listing(machine.root) == before
    owned_folder(rehearsal, empty=True)
    assert [p.name for p in rehearsal.iterdir()] == [OWNED_MARK]
    # its link to the reader's folder went as a link
    assert listing(machine.root) == {
        **without(
            without(before, "work/rehearsal/mirror"),
            "work/rehearsal/to-mine",
        ),
        f"work/rehearsal/{OWNED_MARK}": (rehearsal / OWNED_MARK)
        .read_bytes()
        .hex(),
    }


def test_owned_folder_takes_a_folder_that_holds_only_the_books_cache(
    machine, monkeypatch
):
    # tests.gpu_check: its --work folder holds the book's cache
    work = machine.work / "gpu-check"
    monkeypatch.setenv("PEFT_BOOK_CACHE", str(work / "cache"))
    book_cache_dir()
    (work / "cache" / "model.bin").write_bytes(b"m")
    assert owned_folder(work) == work
    assert (work / "cache" / "model.bin").is_file()


@pytest.mark.parametrize(
    "target", ["work/mine", "work/fake-mark", "home/reader", "etc"]
)
def test_owned_folder_refuses_a_folder_with_what_the_book_did_not_make(
    machine, target
):
    before = listing(machine.root)
    for empty in (False, True):
        with pytest.raises(NotOwnedError) as refused:
            owned_folder(machine.root / target, empty=empty)
        assert str(machine.root / target) in str(refused.value)
        assert "Nothing was touched" in str(refused.value)
    assert listing(machine.root) == before


def test_owned_folder_refuses_a_folder_holding_a_link_to_the_cache(machine):
    (machine.work / "links").mkdir()
    (machine.work / "links" / "to-cache").symlink_to(machine.cache)
    before = listing(machine.root)
    with pytest.raises(NotOwnedError, match="to-cache"):
        owned_folder(machine.work / "links", empty=True)
    assert listing(machine.root) == before


def test_owned_folder_refuses_a_file(machine):
    with pytest.raises(NotADirectoryError):
        owned_folder(machine.home / "notes.txt")
    assert (machine.home / "notes.txt").read_bytes() == b"my notes"


# --- staged: replaces only a folder the book owns -----------------------------------------


def test_staged_replaces_a_folder_of_the_book(machine):
    target = machine.cache / "runs" / "ch1-0001"
    with staged(target, folder=True) as temporary:
        (temporary / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert (machine.system / "passwd").is_file()


def test_staged_refuses_to_replace_a_folder_of_the_readers(machine):
    before = listing(machine.root)
    with pytest.raises(NotOwnedError):
        with staged(machine.work / "mine", folder=True) as temporary:
            (temporary / "new.txt").write_text("new")
    assert (
        listing(machine.root) == before
    )  # its temporary folder is gone too


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
    with pytest.raises(ValueError, match="plain name"):
        fresh_run_dir(name)


# --- the book's tools: each writes in, and empties, only a folder the book made -----------


def _refused_by_every_tool(folder: Path, tmp_path: Path) -> list[str]:
    """Hand ``folder`` to each tool of the book that empties or fills a folder it is
    given; return their refusals' messages."""
    from tests import browser_check, gpu_check, rehearsal
    from tests.fill_mirror import _main as fill_mirror_main
    from tests.stand_in_mirror import build_stand_in_mirror

    refusals = []
    for tool in (
        lambda: rehearsal.rehearse(folder),
        lambda: build_stand_in_mirror(folder),
        lambda: gpu_check.main(["--smoke", "--work", str(folder)]),
    ):
        with pytest.raises(NotOwnedError) as refused:
            tool()
        refusals.append(str(refused.value))
    with pytest.raises(SystemExit) as stopped:  # make mirror MIRROR=<folder>
        fill_mirror_main([str(folder)])
    refusals.append(str(stopped.value))
    site, toc = tmp_path / "site", tmp_path / "_toc.yml"
    site.mkdir()
    toc.write_text("root: intro\n")
    assert (
        browser_check.main(
            [str(site), "--toc", str(toc), "--screenshots", str(folder)]
        )
        == 2
    )
    return refusals


def test_the_books_tools_refuse_a_folder_of_the_readers(
    machine, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(
        "PEFT_BOOK_CACHE", str(machine.cache)
    )  # as gpu_check's
    monkeypatch.setenv("CHROMIUM", "/no/browser/needed/to/refuse")
    before = listing(machine.root)
    for refusal in _refused_by_every_tool(machine.work / "mine", tmp_path):
        assert f"refusing to use {machine.work / 'mine'}" in refusal
        assert "results.csv" in refusal and "Nothing was touched" in refusal
    assert "refusing to use" in capsys.readouterr().err  # browser_check's
    assert listing(machine.root) == before
