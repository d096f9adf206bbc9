"""The local mirror of the full profile's downloads (``PEFT_BOOK_MIRROR``), and its stand-in."""

from __future__ import annotations

from helpers import _mirror as mirror
from helpers import _reviews_data
from helpers._mirror import MIRROR_ENV, MirrorError
from helpers._reviews_data import (
    DATASET_FILES,
    DATASET_FOLDER,
    DATASET_SHA1,
    ChecksumError,
    sha1_of,
)
from helpers.cache import folder_size
from helpers.profiles import get_profile
from helpers.reviews import load_reviews

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.stand_in_mirror import (
    ROWS,
    build_stand_in_mirror,
    write_review_archive,
)

MODELS = ["microsoft/mdeberta-v3-base", "google/flan-t5-xl"]


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory) -> Path:
    """One stand-in mirror for the module (building it takes seconds); tests must not change it."""
    return build_stand_in_mirror(
        tmp_path_factory.mktemp("stand-in") / "mirror"
    )


@pytest.fixture
def no_download(monkeypatch):
    monkeypatch.setattr(
        urllib.request,
        "urlopen",
        lambda *a, **k: pytest.fail("a mirror must not download"),
    )


def _copy_without(source: Path, target: Path, *missing: str) -> Path:
    import shutil

    shutil.copytree(source, target)
    for relative in missing:
        path = target / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return target


def test_no_mirror_by_default(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert mirror.mirror_folder() is None
    assert mirror.mirrored_archive(DATASET_SHA1) is None
    assert mirror.require_model("google/flan-t5-xl") == "google/flan-t5-xl"
    assert not mirror.is_stand_in()


def test_missing_mirror_folder_is_named_with_the_fix(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(MIRROR_ENV, str(missing))
    with pytest.raises(MirrorError, match="no such folder") as error:
        mirror.mirror_folder()
    assert str(missing) in str(error.value) and "make mirror" in str(
        error.value
    )


def test_a_folder_without_manifest_is_not_a_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(
        MirrorError, match="not a filled mirror.*make mirror"
    ):
        mirror.mirror_folder()


def test_stand_in_has_the_real_layout(stand_in):
    manifest = json.loads((stand_in / "manifest.json").read_text())
    assert manifest["stand_in"] is True and manifest["models"] == MODELS
    archive = stand_in / manifest["archive"]["file"]
    assert (
        archive.name == f"{DATASET_FOLDER}.zip"
        and sha1_of(archive) == manifest["archive"]["sha1"] != DATASET_SHA1
    )
    import zipfile

    with zipfile.ZipFile(archive) as zipped:
        assert {f"{DATASET_FOLDER}/{name}" for name in DATASET_FILES} <= set(
            zipped.namelist()
        )
        first = (
            zipped.read(f"{DATASET_FOLDER}/de_test.tsv")
            .decode("utf-8")
            .splitlines()[0]
        )
    label, text = first.split("\t")
    # headerless: the first line is a review
    assert label in {"0", "1"} and text
    deberta = mirror._snapshot(stand_in, "microsoft/mdeberta-v3-base")
    t5 = mirror._snapshot(stand_in, "google/flan-t5-xl")
    assert {
        "config.json",
        "pytorch_model.bin",
        "spm.model",
        "tokenizer_config.json",
    } <= {p.name for p in deberta.iterdir()}
    assert {
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "spiece.model",
        "tokenizer.json",
    } <= {p.name for p in t5.iterdir()}


def test_review_archive_is_the_same_bytes_every_time(tmp_path):
    assert write_review_archive(tmp_path / "a.zip") == write_review_archive(
        tmp_path / "b.zip"
    )


def test_full_profile_reads_the_mirror_offline(
    stand_in, monkeypatch, no_download, book_cache
):
    monkeypatch.setenv(MIRROR_ENV, str(stand_in))
    profile = get_profile("full")
    data = load_reviews(profile)
    assert list(data) == ["en_train", "en_test", "de_test", "jp_test"]
    assert {key: len(frame) for key, frame in data.items()} == {
        "en_train": 1000,
        "en_test": 200,
        "de_test": 200,
        "jp_test": 200,
    }
    # a sample, as of the real files
    assert len(data["en_train"]) < ROWS["en_train"]
    assert data["jp_test"]["text"].str.contains("[ぁ-んァ-ン一-龥]").all()
    assert profile.baseline_checkpoint() == "microsoft/mdeberta-v3-base"
    assert profile.large_checkpoint() == "google/flan-t5-xl"
    # The extraction is keyed by the archive's checksum: never taken for the real data set.
    assert (
        book_cache
        / "data"
        / f"{DATASET_FOLDER}-{json.loads((stand_in / 'manifest.json').read_text())['archive']['sha1'][:10]}"
    ).is_dir()
    again = load_reviews(profile)
    pd.testing.assert_frame_equal(data["de_test"], again["de_test"])


def test_mirror_without_a_model_names_it(stand_in, tmp_path, monkeypatch):
    folder = _copy_without(
        stand_in, tmp_path / "mirror", "hub/models--google--flan-t5-xl"
    )
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    profile = get_profile("full")
    assert profile.baseline_checkpoint() == "microsoft/mdeberta-v3-base"
    with pytest.raises(
        MirrorError, match="lacks the model google/flan-t5-xl.*make mirror"
    ):
        profile.large_checkpoint()


def test_mirror_without_weights_names_the_model(
    stand_in, tmp_path, monkeypatch
):
    snapshot = mirror._snapshot(
        stand_in, "microsoft/mdeberta-v3-base"
    ).relative_to(stand_in)
    folder = _copy_without(
        stand_in, tmp_path / "mirror", f"{snapshot}/pytorch_model.bin"
    )
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    with pytest.raises(
        MirrorError,
        match="no weights of the model microsoft/mdeberta-v3-base",
    ):
        get_profile("full").baseline_checkpoint()


def test_mirror_without_the_archive_names_the_file(
    stand_in, tmp_path, monkeypatch, no_download, book_cache
):
    folder = _copy_without(stand_in, tmp_path / "mirror", "data")
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    with pytest.raises(
        MirrorError,
        match=f"lacks the review archive.*{DATASET_FOLDER}.zip.*make mirror",
    ):
        load_reviews(get_profile("full"))
    assert not (book_cache / "data").exists() or not any(
        (book_cache / "data").iterdir()
    )


def test_damaged_archive_raises_checksum_error_and_extracts_nothing(
    stand_in, tmp_path, monkeypatch, no_download, book_cache
):
    folder = _copy_without(stand_in, tmp_path / "mirror")
    archive = folder / "data" / f"{DATASET_FOLDER}.zip"
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    with pytest.raises(ChecksumError, match="Nothing was extracted"):
        load_reviews(get_profile("full"))
    assert (
        not (book_cache / "data").exists()
        or list((book_cache / "data").iterdir()) == []
    )
    assert archive.is_file()  # the mirror itself is left as it was


def test_real_mirror_archive_must_have_the_pinned_checksum(
    stand_in, tmp_path, monkeypatch, no_download, book_cache
):
    folder = _copy_without(stand_in, tmp_path / "mirror")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(
        json.dumps({**manifest, "stand_in": False})
    )
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    assert mirror.mirrored_archive(DATASET_SHA1)[1] == DATASET_SHA1
    with pytest.raises(ChecksumError, match=DATASET_SHA1):
        _reviews_data.dataset_folder()


def test_import_points_the_hub_at_the_mirror_and_offline(stand_in):
    code = (
        "import os, helpers, huggingface_hub.constants as c;"
        "print(c.HF_HUB_CACHE, c.HF_HUB_OFFLINE, helpers.get_profile('full').asserts_scores('a claim'))"
    )
    env = {**_clean_env(), MIRROR_ENV: str(stand_in)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert lines[-2] == "skipped (random stand-in weights): a claim"
    assert lines[-1] == f"{stand_in / 'hub'} True False"


def test_import_works_with_an_unfilled_mirror_until_it_is_used(tmp_path):
    """``import helpers`` and the tiny profile need nothing from the mirror; a model
    does (one process: importing helpers takes seconds; the refusal of a missing
    folder's models is tested in-process below)."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    env = {
        **_clean_env(),
        MIRROR_ENV: str(folder),
        "PEFT_BOOK_PROFILE": "tiny",
    }
    code = (
        "import helpers; print(helpers.clean_cache.__name__);"
        "print(helpers.get_profile('tiny').asserts_scores('a claim'))\n"
        "try:\n    helpers.get_profile('full').large_checkpoint()\n"
        "except helpers.MirrorError as error:\n    print(error)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-3:-1] == ["clean_cache", "True"]
    assert (
        lines[-1].startswith(f"{MIRROR_ENV}=") and "make mirror" in lines[-1]
    )
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_an_unfilled_mirror_is_refused_when_used(
    tmp_path, monkeypatch, no_download, state
):
    folder = tmp_path / "mirror"
    if state == "empty":
        folder.mkdir()
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE"):  # restored afterwards
        monkeypatch.setenv(name, "before")
    assert mirror.use_mirror_for_hub() == folder.resolve()
    assert os.environ["HF_HUB_CACHE"] == str(folder.resolve() / "hub")
    assert not folder.exists() or list(folder.iterdir()) == []
    assert mirror.is_stand_in() is False
    reason = {"missing": "no such folder", "empty": "not a filled"}[state]
    with pytest.raises(MirrorError, match=reason):
        mirror.require_model("google/flan-t5-xl")
    with pytest.raises(MirrorError, match="make mirror"):
        load_reviews(get_profile("full"))


def _clean_env() -> dict[str, str]:
    import os

    return {
        key: value
        for key, value in os.environ.items()
        if key not in {"HF_HUB_CACHE", "HF_HUB_OFFLINE"}
    }


def test_fill_mirror_writes_a_mirror_the_chapters_accept(
    tmp_path, monkeypatch
):
    import huggingface_hub

    source = write_review_archive(tmp_path / "server" / "reviews.zip")
    downloaded = []

    def fake_snapshot(model_id, cache_dir, allow_patterns):
        downloaded.append((model_id, allow_patterns))
        snapshot = Path(cache_dir) / f"models--{model_id.replace('/', '--')}"
        (snapshot / "refs").mkdir(parents=True)
        (snapshot / "refs" / "main").write_text("abc")
        (snapshot / "snapshots" / "abc").mkdir(parents=True)
        for name in ("config.json", "model.safetensors"):
            (snapshot / "snapshots" / "abc" / name).write_text("{}")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(
        mirror, "_model_files", lambda model_id: ["config.json"]
    )
    folder = tmp_path / "mirror"
    size = mirror.fill_mirror(
        folder,
        MODELS,
        (tmp_path / "server" / "reviews.zip").as_uri(),
        source,
        "a.zip",
    )
    assert size == folder_size(folder) > 0
    assert [model for model, _ in downloaded] == MODELS
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == {
        "stand_in": False,
        "archive": {"file": "data/a.zip", "sha1": source},
        "models": MODELS,
    }
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    assert mirror.require_model("google/flan-t5-xl") == "google/flan-t5-xl"


def test_fill_mirror_keeps_nothing_of_a_wrong_archive(tmp_path):
    write_review_archive(tmp_path / "reviews.zip")
    with pytest.raises(ChecksumError):
        mirror.fill_mirror(
            tmp_path / "mirror",
            [],
            (tmp_path / "reviews.zip").as_uri(),
            "0" * 40,
            "a.zip",
        )
    assert not (tmp_path / "mirror" / "manifest.json").exists()
    assert list((tmp_path / "mirror" / "data").iterdir()) == []
