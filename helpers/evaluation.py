"""Score a predictor on every test language at once."""

from __future__ import annotations

from typing import Any

import pandas as pd

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "jp": "Japanese",
}


def language_names(data: dict[str, pd.DataFrame]) -> list[str]:
    """Names of the test languages in ``data`` (its ``<lang>_test`` keys), in its order.

    The real data set has English, German and Japanese; the generated one adds French. Code
    that names a language takes it from here, not from a fixed list.
    """
    return [
        LANGUAGE_NAMES.get(
            key.removesuffix("_test"), key.removesuffix("_test")
        )
        for key in data
        if key.endswith("_test")
    ]


def evaluate_by_language(
    predictor: Any,
    data: dict[str, pd.DataFrame],
    metrics: tuple[str, ...] = ("roc_auc", "accuracy"),
) -> pd.DataFrame:
    """Evaluate ``predictor`` on each ``<lang>_test`` frame of ``data``.

    Returns a DataFrame with one row per language (English first) and one column per metric,
    rounded to 4 decimals.
    """
    tests = [frame for key, frame in data.items() if key.endswith("_test")]
    rows = {}
    for name, frame in zip(language_names(data), tests):
        scores = predictor.evaluate(frame, metrics=list(metrics))
        rows[name] = {metric: float(scores[metric]) for metric in metrics}
    table = pd.DataFrame.from_dict(rows, orient="index").round(4)
    table.index.name = "language"
    return table
