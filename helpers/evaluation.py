"""Score a predictor on every test language at once."""

from __future__ import annotations

from typing import Any

import pandas as pd

LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "jp": "Japanese"}


def evaluate_by_language(
    predictor: Any, data: dict[str, pd.DataFrame], metrics: tuple[str, ...] = ("roc_auc", "accuracy")
) -> pd.DataFrame:
    """Evaluate ``predictor`` on each ``<lang>_test`` frame of ``data``.

    Returns a DataFrame with one row per language (English first) and one column per metric,
    rounded to 4 decimals.
    """
    rows = {}
    for key, frame in data.items():
        if not key.endswith("_test"):
            continue
        code = key[: -len("_test")]
        scores = predictor.evaluate(frame, metrics=list(metrics))
        rows[LANGUAGE_NAMES.get(code, code)] = {metric: float(scores[metric]) for metric in metrics}
    table = pd.DataFrame.from_dict(rows, orient="index").round(4)
    table.index.name = "language"
    return table
