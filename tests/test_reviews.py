"""The review data: the generator (tiny profile) and the verified download (full profile)."""

from __future__ import annotations

from helpers import _reviews_data
from helpers._reviews_data import (
    DATASET_FILES,
    DATASET_FOLDER,
    SAMPLE_SEED,
    ChecksumError,
    download_verified,
    extract_zip_safely,
    generate_reviews,
)
from helpers.profiles import get_profile
from helpers.reviews import load_reviews

import dataclasses
import hashlib
import itertools
import json
import re
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

if sys.version_info >= (3, 11):
    pass
else:
    pass

TINY_KEYS = ["en_train", "en_test", "de_test", "fr_test", "jp_test"]


@pytest.fixture(scope="module")
def tiny_data() -> dict[str, pd.DataFrame]:
    return load_reviews(get_profile("tiny"))


# --- the generator -------------------------------------------------------------------------


def test_tiny_keys_columns_and_sizes(tiny_data):
    profile = get_profile("tiny")
    assert list(tiny_data) == TINY_KEYS
    for key, frame in tiny_data.items():
        assert list(frame.columns) == ["label", "text"], key
        assert frame["label"].dtype.kind == "i", key
        assert set(frame["label"]) == {0, 1}, key
        assert (
            frame["text"]
            .map(lambda t: isinstance(t, str) and len(t) > 0)
            .all()
        ), key
        assert len(frame) == (
            profile.n_train if key == "en_train" else profile.n_test
        ), key


def test_sizes_follow_the_profile():
    small = dataclasses.replace(get_profile("tiny"), n_train=10, n_test=4)
    data = load_reviews(small)
    assert {key: len(frame) for key, frame in data.items()} == {
        "en_train": 10,
        "en_test": 4,
        "de_test": 4,
        "fr_test": 4,
        "jp_test": 4,
    }


def test_labels_are_balanced(tiny_data):
    for key, frame in tiny_data.items():
        assert (frame["label"] == 1).sum() == len(frame) // 2, key
    odd = generate_reviews(n_train=7, n_test=3, seed=1)
    assert sorted(odd["en_train"]["label"].value_counts()) == [3, 4]
    assert sorted(odd["de_test"]["label"].value_counts()) == [1, 2]


def test_labels_are_shuffled(tiny_data):
    labels = tiny_data["en_train"]["label"].to_numpy()
    assert not (labels == np.arange(len(labels)) % 2).all()
    assert not (labels[:-1] != labels[1:]).all()  # not strictly alternating


def test_same_seed_same_reviews_other_seed_other_reviews(tiny_data):
    again = load_reviews(get_profile("tiny"))
    for key in TINY_KEYS:
        pd.testing.assert_frame_equal(tiny_data[key], again[key])
    same = generate_reviews(n_train=50, n_test=20, seed=5)
    pd.testing.assert_frame_equal(
        same["fr_test"],
        generate_reviews(n_train=50, n_test=20, seed=5)["fr_test"],
    )
    other = generate_reviews(n_train=50, n_test=20, seed=6)
    for key in TINY_KEYS:
        assert not same[key]["text"].equals(other[key]["text"]), key


def test_load_reviews_tiny_uses_the_tutorial_seed(tiny_data):
    tiny = get_profile("tiny")
    generated = generate_reviews(
        n_train=tiny.n_train, n_test=tiny.n_test, seed=SAMPLE_SEED
    )
    pd.testing.assert_frame_equal(tiny_data["de_test"], generated["de_test"])


def test_languages_use_their_own_words(tiny_data):
    vocabulary = {
        key: {
            w for t in frame["text"] for w in re.findall(r"\w+", t.lower())
        }
        for key, frame in tiny_data.items()
    }
    # same language, same templates
    assert vocabulary["en_train"] == vocabulary["en_test"]
    for a, b in itertools.combinations(
        ["en_test", "de_test", "fr_test", "jp_test"], 2
    ):
        shared = len(vocabulary[a] & vocabulary[b]) / len(
            vocabulary[a] | vocabulary[b]
        )
        assert shared < 0.05, (a, b)
    japanese = tiny_data["jp_test"]["text"]
    assert japanese.str.contains(r"[\u3040-\u30ff\u4e00-\u9fff]").all()
    assert not japanese.str.contains(
        r"[A-Za-z ]"
    ).any()  # no Latin letters; sentences joined without spaces


def _best_length_threshold(frame: pd.DataFrame) -> tuple[float, bool]:
    lengths, labels = (
        frame["text"].str.len().to_numpy(),
        frame["label"].to_numpy(),
    )
    best = (0.0, 0.0, True)
    for threshold in np.unique(lengths):
        for longer_is_positive in (True, False):
            predicted = (lengths > threshold) == longer_is_positive
            accuracy = (predicted == labels).mean()
            if accuracy > best[0]:
                best = (accuracy, threshold, longer_is_positive)
    return best[1], best[2]


def test_length_does_not_give_away_the_label(tiny_data):
    for key, frame in tiny_data.items():
        lengths = frame["text"].str.len()
        positive, negative = (
            lengths[frame["label"] == 1].mean(),
            lengths[frame["label"] == 0].mean(),
        )
        assert (
            abs(positive - negative) / ((positive + negative) / 2) < 0.1
        ), key
    # The best length threshold on the training set is near chance on every test set.
    threshold, longer_is_positive = _best_length_threshold(
        tiny_data["en_train"]
    )
    for key, frame in tiny_data.items():
        if key.endswith("_test"):
            predicted = (
                frame["text"].str.len() > threshold
            ) == longer_is_positive
            assert (predicted == frame["label"]).mean() < 0.62, key


def test_words_carry_the_label(tiny_data):
    train, test = tiny_data["en_train"], tiny_data["en_test"]
    # Verdict words of the English generator. A contrary remark can put a word of the other
    # side into a review, but it is always outnumbered, so each word leans clearly one way.
    for word, label in [
        ("love", 1),
        ("excellent", 1),
        ("perfectly", 1),
        ("regret", 0),
        ("waste", 0),
        ("refund", 0),
    ]:
        has = train["text"].str.lower().str.contains(rf"\b{word}\b")
        assert has.sum() >= 30, word
        assert (train.loc[has, "label"] == label).mean() > 0.75, word
    # A bag of words learns the English labels almost perfectly.
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    words = CountVectorizer().fit(train["text"])
    model = LogisticRegression(max_iter=1000).fit(
        words.transform(train["text"]), train["label"]
    )
    assert model.score(words.transform(test["text"]), test["label"]) > 0.95


def test_neutral_sentences_appear_in_both_classes(tiny_data):
    train = tiny_data["en_train"]
    has = train["text"].str.contains("Delivery took four days.", regex=False)
    assert 0.3 < train.loc[has, "label"].mean() < 0.7


@pytest.mark.parametrize(
    ("n_train", "n_test"), [(1, 10), (10, 1), (0, 10), (10, 0), (-5, 10)]
)
def test_generate_reviews_rejects_fewer_than_two_rows(n_train, n_test):
    with pytest.raises(ValueError, match="at least 2"):
        generate_reviews(n_train=n_train, n_test=n_test)


def test_generated_reviews_are_pinned():
    """The same reviews, byte for byte, on every machine: per set, the first 16 hex
    digits of the SHA-256 of its CSV. English and Japanese are as they were before the
    phrases moved to a data file; German and French changed once since, when their
    products took articles that agree with them ("Der Artikel (Kamera)", not "Der
    Kamera"; "Le produit (appareil photo)", not "Le appareil photo")."""
    frames = generate_reviews(n_train=64, n_test=32, seed=123)
    digests = {
        key: hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[
            :16
        ]
        for key, frame in frames.items()
    }
    assert digests == {
        "en_train": "51922e4306670007",
        "en_test": "a86ede1bfbcfb835",
        "de_test": "97e34c436d5c0d3a",
        "fr_test": "25432e6b234c2c6a",
        "jp_test": "d3bfe87f3e67b9d3",
    }


def test_phrases_ship_in_the_package_with_one_code_per_language():
    path = Path(_reviews_data.__file__).parent / _reviews_data.PHRASES_FILE
    assert path.read_bytes() == _reviews_data.phrases_data()
    phrases = json.loads(path.read_text(encoding="utf-8"))
    languages = [key.split("_")[0] for key in TINY_KEYS]
    assert (
        sorted(phrases) == sorted(set(languages)) == ["de", "en", "fr", "jp"]
    )
    for language, words in phrases.items():
        assert set(words) == {
            "joiner",
            "products",
            "positive",
            "negative",
            "neutral",
        }, language
    assert phrases["jp"]["joiner"] == ""


# --- verified download -----------------------------------------------------------------


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _part_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.name.endswith(".part"))


@pytest.fixture
def source_file(tmp_path) -> Path:
    path = tmp_path / "server" / "data.bin"
    path.parent.mkdir()
    path.write_bytes(bytes(range(256)) * 1000)
    return path


def test_download_verified_success(tmp_path, source_file):
    destination = tmp_path / "downloads" / "sub" / "data.bin"
    result = download_verified(
        source_file.as_uri(), destination, _sha1(source_file)
    )
    assert result == destination
    assert destination.read_bytes() == source_file.read_bytes()
    assert _part_files(tmp_path / "downloads") == []


def test_download_verified_keeps_a_good_copy_without_downloading(
    tmp_path, source_file, monkeypatch
):
    destination = tmp_path / "downloads" / "data.bin"
    destination.parent.mkdir()
    destination.write_bytes(source_file.read_bytes())
    monkeypatch.setattr(
        urllib.request,
        "urlopen",
        lambda *a, **k: pytest.fail("must not download"),
    )
    assert (
        download_verified(
            "file:///nonexistent", destination, _sha1(source_file)
        )
        == destination
    )


def test_download_verified_replaces_a_bad_copy(tmp_path, source_file):
    destination = tmp_path / "downloads" / "data.bin"
    destination.parent.mkdir()
    destination.write_bytes(b"stale, truncated")
    download_verified(source_file.as_uri(), destination, _sha1(source_file))
    assert destination.read_bytes() == source_file.read_bytes()


def test_checksum_mismatch_leaves_nothing(tmp_path, source_file):
    destination = tmp_path / "downloads" / "data.bin"
    with pytest.raises(ChecksumError) as error:
        download_verified(source_file.as_uri(), destination, "0" * 40)
    assert isinstance(error.value, ValueError)
    assert _sha1(source_file) in str(error.value) and "0" * 40 in str(
        error.value
    )
    assert not destination.exists()
    assert list(destination.parent.iterdir()) == []  # no .part file either


def test_checksum_mismatch_removes_a_bad_cached_copy(tmp_path, source_file):
    destination = tmp_path / "downloads" / "data.bin"
    destination.parent.mkdir()
    destination.write_bytes(b"old")
    with pytest.raises(ChecksumError):
        download_verified(source_file.as_uri(), destination, "0" * 40)
    assert list(destination.parent.iterdir()) == []


def test_failed_download_leaves_no_part_file(tmp_path):
    destination = tmp_path / "downloads" / "data.bin"
    with pytest.raises(urllib.error.URLError):
        download_verified(
            (tmp_path / "missing.bin").as_uri(), destination, "0" * 40
        )
    assert list(destination.parent.iterdir()) == []


# --- safe extraction ------------------------------------------------------------------------


def test_extract_zip_safely_extracts(tmp_path, make_zip):
    archive = make_zip(
        tmp_path / "a.zip",
        {
            "top.txt": "top",
            "sub/inner.txt": "inner",
            "sub/deeper/x.bin": b"\x00\x01",
        },
    )
    target = tmp_path / "out" / "extracted"
    target.parent.mkdir()
    assert extract_zip_safely(archive, target) == target
    assert (target / "top.txt").read_text() == "top"
    assert (target / "sub" / "inner.txt").read_text() == "inner"
    assert (target / "sub" / "deeper" / "x.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "extracted"
    ]  # no staging folder left


def test_extract_zip_safely_replaces_an_old_target(
    tmp_path, make_zip, book_cache
):
    target = book_cache / "extracted"  # the book's: it may replace it
    target.mkdir(parents=True)
    (target / "old.txt").write_text("old")
    extract_zip_safely(
        make_zip(tmp_path / "a.zip", {"new.txt": "new"}), target
    )
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


@pytest.mark.parametrize(
    "evil",
    ["../evil.txt", "sub/../../evil.txt", "/tmp/evil-peft-book-test.txt"],
)
def test_extract_zip_safely_refuses_escaping_members(
    tmp_path, make_zip, evil
):
    outside = tmp_path / "evil.txt"
    archive = make_zip(
        tmp_path / "archives" / "evil.zip",
        {"good.txt": "good", evil: "evil"},
    )
    target = tmp_path / "extracted"
    with pytest.raises(ValueError, match="outside"):
        extract_zip_safely(archive, target)
    assert not outside.exists()
    assert not Path("/tmp/evil-peft-book-test.txt").exists()
    assert not target.exists()
    assert {p.name for p in tmp_path.iterdir()} <= {
        "archives",
        "cache",
        "work",
    }


def _valid_zip_bytes(tmp_path: Path, make_zip) -> bytes:
    return make_zip(
        tmp_path / "valid.zip",
        {f"f{i}.txt": f"content {i} " * 200 for i in range(5)},
    ).read_bytes()


@pytest.mark.parametrize(
    "damage", ["not-a-zip", "empty", "truncated", "bad-member"]
)
def test_extract_zip_safely_refuses_corrupt_files(
    tmp_path, make_zip, damage
):
    archive = tmp_path / "broken.zip"
    if damage == "not-a-zip":
        archive.write_bytes(b"<html>404 Not Found</html>" * 10)
    elif damage == "empty":
        archive.write_bytes(b"")
    elif damage == "truncated":
        archive.write_bytes(_valid_zip_bytes(tmp_path, make_zip)[:300])
    else:  # a stored member whose bytes changed: the CRC check fails while extracting
        data = bytearray(
            make_zip(
                tmp_path / "valid.zip",
                {"a.txt": "hello world " * 100},
                zipfile.ZIP_STORED,
            ).read_bytes()
        )
        data[data.find(b"hello") + 3] ^= 0xFF
        archive.write_bytes(bytes(data))
    target = tmp_path / "extracted"
    with pytest.raises(ValueError, match="not a valid zip"):
        extract_zip_safely(archive, target)
    assert not target.exists()
    assert _part_files(tmp_path) == []


# --- the full profile's data path, offline -------------------------------------------------

N_ROWS = {
    "en_train.tsv": 1200,
    "en_test.tsv": 300,
    "de_train.tsv": 250,
    "de_test.tsv": 300,
    "jp_test.tsv": 300,
}


def _tsv(name: str, n: int) -> str:
    labels = np.random.default_rng(len(name) + n).permutation(
        np.arange(n) % 2
    )
    return "".join(
        f"{label}\t{name} review number {i}, rated {'good' if label else 'bad'}\n"
        for i, label in enumerate(labels)
    )


@pytest.fixture
def fake_dataset(tmp_path, make_zip) -> tuple[str, str, dict[str, str]]:
    """A small zip laid out like the real one: ``<folder>/<name>.tsv``. Returns (url, sha1, tsvs)."""
    tsvs = {name: _tsv(name, N_ROWS[name]) for name in DATASET_FILES}
    archive = make_zip(
        tmp_path / "server" / "reviews.zip",
        {f"{DATASET_FOLDER}/{name}": text for name, text in tsvs.items()},
    )
    return archive.as_uri(), _sha1(archive), tsvs


def _expected_sample(tmp_path: Path, tsv: str, n: int) -> pd.DataFrame:
    path = tmp_path / "expected.tsv"
    path.write_text(tsv)
    frame = pd.read_csv(path, sep="\t", header=None, names=["label", "text"])
    return frame.sample(n, random_state=123).reset_index(drop=True)


def test_dataset_folder_downloads_and_extracts(fake_dataset, book_cache):
    url, sha1, tsvs = fake_dataset
    folder = _reviews_data.dataset_folder(url=url, sha1=sha1)
    assert (
        folder
        == book_cache
        / "data"
        / f"{DATASET_FOLDER}-{sha1[:10]}"
        / DATASET_FOLDER
    )
    for name, text in tsvs.items():
        assert (folder / name).read_text() == text
    # A second call uses the extracted files and downloads nothing.
    assert (
        _reviews_data.dataset_folder(
            url="file:///nonexistent.zip", sha1=sha1
        )
        == folder
    )


def test_dataset_folder_checksum_mismatch(fake_dataset, book_cache):
    url, _, _ = fake_dataset
    with pytest.raises(ChecksumError):
        _reviews_data.dataset_folder(url=url, sha1="f" * 40)
    assert not (book_cache / "data" / DATASET_FOLDER).exists()
    assert list((book_cache / "data").iterdir()) == []


def test_dataset_folder_rejects_an_archive_without_the_files(
    tmp_path, make_zip
):
    archive = make_zip(
        tmp_path / "other.zip",
        {f"{DATASET_FOLDER}/en_train.tsv": "1\tgood\n", "README": "x"},
    )
    with pytest.raises(ValueError, match="en_test.tsv"):
        _reviews_data.dataset_folder(
            url=archive.as_uri(), sha1=_sha1(archive)
        )


def test_load_reviews_full_profile_offline(
    fake_dataset, monkeypatch, tmp_path
):
    url, sha1, tsvs = fake_dataset
    monkeypatch.setattr(_reviews_data, "DATASET_URL", url)
    monkeypatch.setattr(_reviews_data, "DATASET_SHA1", sha1)
    profile = get_profile("full")
    data = load_reviews(profile)
    assert list(data) == ["en_train", "en_test", "de_test", "jp_test"]
    assert {key: len(frame) for key, frame in data.items()} == {
        "en_train": profile.n_train,
        "en_test": profile.n_test,
        "de_test": profile.n_test,
        "jp_test": profile.n_test,
    }
    for key, frame in data.items():
        assert list(frame.columns) == ["label", "text"]
        assert list(frame.index) == list(range(len(frame)))
        assert frame["text"].is_unique
        assert frame["text"].str.startswith(f"{key}.tsv review number").all()
        expected = _expected_sample(tmp_path, tsvs[f"{key}.tsv"], len(frame))
        pd.testing.assert_frame_equal(frame, expected)
    # A random sample, not the first rows of the file.
    rows = (
        data["en_train"]["text"].str.extract(r"number (\d+),")[0].astype(int)
    )
    assert list(rows) != list(range(profile.n_train))
    assert rows.max() >= profile.n_train

    # Loading again works from the cache alone.
    monkeypatch.setattr(
        urllib.request,
        "urlopen",
        lambda *a, **k: pytest.fail("must not download"),
    )
    again = load_reviews(profile)
    for key in data:
        pd.testing.assert_frame_equal(data[key], again[key])
