"""The cross-lingual product reviews every chapter trains and tests on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._checks import require_profile
from ._download import OfflineError
from ._reviews_data import (
    SAMPLE_SEED,
    ChecksumError,
    dataset_folder,
    generate_reviews,
    read_sample,
)

if TYPE_CHECKING:
    from .profiles import Profile

__all__ = ["ChecksumError", "OfflineError", "load_reviews"]


def load_reviews(profile: Profile) -> dict[str, pd.DataFrame]:
    """The English training set and the test sets, one per language (``<lang>_test``).

    ``full``: the Cross-Lingual Amazon Review Sentiment data (Webis-CLS-10): English,
    German and Japanese, downloaded once into the book cache (or taken from a mirror,
    ``$PEFT_BOOK_MIRROR``), checked against its SHA-1, sampled as the original tutorial did
    (``random_state=123``). ``tiny``: generated reviews in English, German, French and
    Japanese, offline and seeded.

    Raises
    ------
    ChecksumError
        If the downloaded or mirrored archive is not the expected file; nothing is kept.
    OfflineError
        If the archive must be downloaded and this machine has no internet: the message
        names the two ways to run offline, a mirror (``$PEFT_BOOK_MIRROR``) or the ``tiny``
        profile (``PEFT_BOOK_PROFILE=tiny``).
    TypeError
        For a ``profile`` that is not a profile (its name, for example).
    """
    require_profile(profile, "load_reviews")
    if profile.name == "tiny":
        return generate_reviews(
            n_train=profile.n_train, n_test=profile.n_test, seed=SAMPLE_SEED
        )
    folder = dataset_folder()
    return {
        "en_train": read_sample(folder / "en_train.tsv", profile.n_train),
        "en_test": read_sample(folder / "en_test.tsv", profile.n_test),
        "de_test": read_sample(folder / "de_test.tsv", profile.n_test),
        "jp_test": read_sample(folder / "jp_test.tsv", profile.n_test),
    }
