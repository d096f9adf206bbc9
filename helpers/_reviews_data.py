"""Machinery behind :func:`helpers.load_reviews`: the verified download and safe extraction
of the real data set (full profile), and the generator of the tiny profile's reviews,
whose phrases are data: ``helpers/data/review_phrases.json``.

Both give the same shape: a dict of DataFrames ``en_train``, ``en_test``, ``de_test``,
``jp_test`` (the generator adds ``fr_test``), each with columns ``label`` (0 negative,
1 positive) and ``text``.
"""

from __future__ import annotations

import functools
import json
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _mirror
from ._download import ChecksumError, download_verified, sha1_of
from ._files import staged
from .cache import book_cache_dir, clean_cache

DATASET_URL = (
    "https://automl-mm-bench.s3.amazonaws.com/multilingual-datasets/"
    "amazon_review_sentiment_cross_lingual.zip"
)
DATASET_SHA1 = "9c701aa6fc42ec3fe429bfe85a8dac4532ab9fcd"
DATASET_FOLDER = "amazon_review_sentiment_cross_lingual"
DATASET_FILES = (
    "en_train.tsv",
    "en_test.tsv",
    "de_train.tsv",
    "de_test.tsv",
    "jp_test.tsv",
)
SAMPLE_SEED = 123  # random_state of the original tutorial


def extract_zip_safely(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into ``target``, refusing members that would land outside it.

    Extraction happens in a temporary folder that is renamed to ``target`` at the end, so a
    failure leaves no half-extracted folder behind.

    Raises
    ------
    ValueError
        If the archive is not a valid zip file or a member's path escapes ``target``.
    """
    target = Path(target)
    with staged(target, folder=True) as staging:
        try:
            with zipfile.ZipFile(archive) as zipped:
                root = staging.resolve()
                for member in zipped.infolist():
                    destination = (root / member.filename).resolve()
                    if (
                        destination != root
                        and root not in destination.parents
                    ):
                        raise ValueError(
                            f"{archive} holds {member.filename!r}, which would be written outside "
                            f"{target}; refusing to extract it"
                        )
                zipped.extractall(staging)
        except zipfile.BadZipFile as error:
            raise ValueError(
                f"{archive} is not a valid zip file ({error}); delete it and download again"
            ) from error
    return target


def dataset_folder(url: str | None = None, sha1: str | None = None) -> Path:
    """The extracted data set: from the mirror if one is set, else downloaded from ``url``.

    The extraction is keyed by the archive's SHA-1, so data from a stand-in mirror
    (``make rehearsal``) is never taken for the real data set, or the other way round.

    Raises
    ------
    OfflineError
        If the archive must be downloaded and its server cannot be reached.
    """
    url, sha1 = url or DATASET_URL, sha1 or DATASET_SHA1
    mirrored = _mirror.mirrored_archive(sha1)
    if mirrored is not None:
        sha1 = mirrored[1]
    data_root = book_cache_dir() / "data"
    extracted = data_root / f"{DATASET_FOLDER}-{sha1[:10]}"
    inner = extracted / DATASET_FOLDER
    if all((inner / name).is_file() for name in DATASET_FILES):
        return inner
    if mirrored is not None:
        archive = mirrored[0]
        actual = sha1_of(archive)
        if actual != sha1:
            raise ChecksumError(
                f"the mirror's {archive} has SHA-1 {actual}, expected {sha1}: it is damaged or not the "
                "review archive. Nothing was extracted; copy the mirror again or refill it with `make mirror`."
            )
    else:
        archive = download_verified(
            url, data_root / f"{DATASET_FOLDER}.zip", sha1
        )
    data_root.mkdir(parents=True, exist_ok=True)
    extract_zip_safely(archive, extracted)
    missing = [
        name for name in DATASET_FILES if not (inner / name).is_file()
    ]
    if missing:
        clean_cache(extracted)
        raise ValueError(
            f"{archive} lacks {', '.join(missing)}; it is not the cross-lingual review data set"
        )
    return inner


def read_sample(path: Path, n: int) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", header=None, names=["label", "text"])
    return frame.sample(n, random_state=SAMPLE_SEED).reset_index(drop=True)


# --- the generator ------------------------------------------------------------------------
# Each language has products, positive and negative verdicts, and neutral sentences that say
# nothing about sentiment. A review mixes 1-2 verdicts of its label with 0-3 neutral
# sentences and, half the time it has two verdicts, one contrary remark. Both labels draw
# the same counts, so the label is carried by words and length says nothing about it. The
# phrases are data, keyed by the real data set's language codes (``jp`` for Japanese), each
# language with the ``joiner`` between its sentences.
PHRASES_FILE = "data/review_phrases.json"  #: in the package, shipped with it


def phrases_data() -> bytes:
    """The review phrases' file, ``helpers/data/review_phrases.json``, as bytes."""
    return resources.files(__package__).joinpath(PHRASES_FILE).read_bytes()


@functools.cache
def _phrases() -> dict[str, dict[str, Any]]:
    return json.loads(phrases_data())


def _one_review(
    words: dict[str, Any],
    label: int,
    rng: np.random.Generator,
    joiner: str,
) -> str:
    product = words["products"][rng.integers(len(words["products"]))]
    own, other = (
        ("positive", "negative") if label == 1 else ("negative", "positive")
    )
    n_own = int(rng.integers(1, 3))
    sentences = [
        words[own][i]
        for i in rng.choice(len(words[own]), size=n_own, replace=False)
    ]
    if (
        n_own == 2 and rng.random() < 0.5
    ):  # a contrary remark, always outnumbered
        sentences.append(words[other][rng.integers(len(words[other]))])
    sentences += [
        words["neutral"][i]
        for i in rng.choice(
            len(words["neutral"]), size=rng.integers(0, 4), replace=False
        )
    ]
    rng.shuffle(sentences)
    return joiner.join(s.format(p=product) for s in sentences)


def _generate(
    language: str, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    labels = rng.permutation(np.arange(n) % 2)
    words = _phrases()[language]
    texts = [
        _one_review(words, int(label), rng, words["joiner"])
        for label in labels
    ]
    return pd.DataFrame({"label": labels.astype(int), "text": texts})


def generate_reviews(
    n_train: int, n_test: int, seed: int = SAMPLE_SEED
) -> dict[str, pd.DataFrame]:
    """Generate labelled synthetic product reviews in English, German, French and Japanese.

    Labels are balanced (exactly half positive when the size is even). The same ``seed``
    always gives the same reviews. Languages have the real data set's codes (``jp`` for
    Japanese).
    """
    if n_train < 2 or n_test < 2:
        raise ValueError(
            f"need at least 2 rows per split, got n_train={n_train}, n_test={n_test}"
        )
    rng = np.random.default_rng(seed)
    return {
        "en_train": _generate("en", n_train, rng),
        "en_test": _generate("en", n_test, rng),
        "de_test": _generate("de", n_test, rng),
        "fr_test": _generate("fr", n_test, rng),
        "jp_test": _generate("jp", n_test, rng),
    }
