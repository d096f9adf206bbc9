"""Score a predictor on every test language at once, and say how sure a score is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ._checks import require_mapping
from .recipes import random_weights_checkpoint

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

    Raises
    ------
    TypeError
        If ``data`` is not a dict of frames (:func:`helpers.load_reviews` gives one).
    """
    require_mapping(data, "data", "helpers.load_reviews(profile)")
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

    Raises
    ------
    TypeError
        If ``predictor`` cannot evaluate (a fitted ``MultiModalPredictor`` can), ``data``
        is not a dict of frames, or ``metrics`` is one name instead of a tuple of names.
    ValueError
        If ``data`` holds no ``<lang>_test`` frame, or ``predictor`` was trained from
        random-init weights (the tiny profile's T5): its scores are chance, and their
        digits change from one processor to the next, so the book never prints them.
    """
    if not callable(getattr(predictor, "evaluate", None)):
        raise TypeError(
            "predictor must be a fitted MultiModalPredictor (it has .evaluate); "
            f"got {type(predictor).__name__}"
        )
    random_init = random_weights_checkpoint(predictor)
    if random_init:
        raise ValueError(
            f"this predictor was trained from {Path(random_init).name}, a checkpoint "
            "with random-init weights: its scores are chance, and their last digits "
            "change with the processor's math kernels, so they are no result. Score "
            "a predictor trained from pretrained weights (profile.large_is_pretrained)"
        )
    names = language_names(data)
    if not names:
        raise ValueError(
            f"data has no <lang>_test frame to evaluate on; its keys: {list(data)}"
        )
    if isinstance(metrics, str):
        raise TypeError(
            f"metrics must be a tuple of metric names, such as ({metrics!r},); got a string"
        )
    tests = [frame for key, frame in data.items() if key.endswith("_test")]
    rows = {}
    for name, frame in zip(names, tests):
        scores = predictor.evaluate(frame, metrics=list(metrics))
        rows[name] = {metric: float(scores[metric]) for metric in metrics}
    table = pd.DataFrame.from_dict(rows, orient="index").round(4)
    table.index.name = "language"
    return table


def roc_auc_intervals(
    labels: Sequence[int],
    probabilities: Mapping[str, Sequence[float]],
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """ROC-AUC of each model on the same test reviews, with a bootstrap interval.

    ``labels`` are the test reviews' 0/1 labels; ``probabilities`` maps a name (a method)
    to its predicted probability of label 1 for each of those reviews. The interval is the
    percentile bootstrap at ``level``: ``resamples`` times, draw as many positive and as
    many negative reviews as the test set has, with replacement (stratified, as pROC does
    for ROC curves), and score every model on that same draw. Seeded: the same inputs give
    the same intervals. To tell two models apart, use :func:`roc_auc_differences`: their
    scores move together from draw to draw, so two intervals can overlap while the
    difference is clear.

    Returns one row per name (in the given order) with the columns ``roc_auc`` (on the
    whole test set, as ``sklearn.metrics.roc_auc_score`` computes it), ``low`` and
    ``high``.

    Raises
    ------
    ValueError
        If the labels are not 0/1 of both classes, a model's probabilities do not match
        the labels in number or are not finite, or ``level`` or ``resamples`` is out of
        range.
    TypeError
        If ``probabilities`` is not a dict of names to probabilities.
    """
    whole, resampled = _bootstrap(
        labels, probabilities, level, resamples, seed
    )
    tail = (1 - level) / 2
    rows = {}
    for name, score in whole.items():
        low, high = np.quantile(resampled[name], [tail, 1 - tail])
        rows[name] = {"roc_auc": score, "low": low, "high": high}
    return pd.DataFrame.from_dict(rows, orient="index")


def roc_auc_differences(
    labels: Sequence[int],
    probabilities: Mapping[str, Sequence[float]],
    reference: str,
    *,
    comparisons: int = 1,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Each model's ROC-AUC minus the ``reference`` model's, with a paired bootstrap
    interval, and whether the difference is beyond noise.

    Every model is scored on the same bootstrap draws as in :func:`roc_auc_intervals`,
    and the interval is that of the difference, draw by draw: the paired bootstrap, which
    sees that two models' scores rise and fall together with the draw. The verdict is
    ``"above"`` or ``"below"`` the reference where the interval excludes 0, else
    ``"tied"``.

    A chapter that makes ``comparisons`` such verdicts at once (methods times languages)
    passes their number: each interval is then taken at ``1 - (1 - level) /
    comparisons`` (Bonferroni), so that all of them hold together with probability at
    least ``level``, and one in twenty is not "beyond noise" by chance alone.

    Returns one row per name other than ``reference`` (in the given order) with the
    columns ``difference`` (on the whole test set), ``low``, ``high`` and ``verdict``.

    Raises
    ------
    ValueError
        As :func:`roc_auc_intervals`; also for a ``reference`` not among the names, or
        ``comparisons`` below 1.
    TypeError
        As :func:`roc_auc_intervals`.
    """
    if not isinstance(comparisons, int) or comparisons < 1:
        raise ValueError(
            f"comparisons is how many verdicts are made at once, at least 1; got {comparisons!r}"
        )
    whole, resampled = _bootstrap(
        labels, probabilities, level, resamples, seed
    )
    if reference not in whole:
        raise ValueError(
            f"reference {reference!r} is not among the models: {', '.join(whole)}"
        )
    tail = (1 - level) / comparisons / 2
    rows = {}
    for name in whole:
        if name == reference:
            continue
        draws = resampled[name] - resampled[reference]
        low, high = np.quantile(draws, [tail, 1 - tail])
        verdict = "above" if low > 0 else "below" if high < 0 else "tied"
        rows[name] = {
            "difference": whole[name] - whole[reference],
            "low": low,
            "high": high,
            "verdict": verdict,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _bootstrap(
    labels: Sequence[int],
    probabilities: Mapping[str, Sequence[float]],
    level: float,
    resamples: int,
    seed: int,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each model's ROC-AUC on the whole test set, and on each of ``resamples``
    stratified draws (the same draws for every model), after checking the inputs."""
    y = np.asarray(labels)
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be a flat sequence of 0 and 1")
    if y.min() == y.max():
        raise ValueError(
            f"labels are all {y[0]}: ROC-AUC needs reviews of both classes"
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1; got {level}")
    if resamples < 100:
        raise ValueError(
            f"resamples must be at least 100 for a percentile interval; got {resamples}"
        )
    require_mapping(
        probabilities,
        "probabilities",
        "{'ia3_bias': predicted_probabilities}",
    )
    if not probabilities:
        raise ValueError("no probabilities given")
    scores = {}
    for name, values in probabilities.items():
        p = np.asarray(values, dtype=float)
        if p.shape != y.shape:
            raise ValueError(
                f"{name!r} has {p.size} probabilities for {y.size} labels"
            )
        if not np.isfinite(p).all():
            raise ValueError(
                f"{name!r} has probabilities that are not finite"
            )
        scores[name] = p
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(seed)
    draws = np.concatenate(
        [
            rng.choice(positives, (resamples, positives.size)),
            rng.choice(negatives, (resamples, negatives.size)),
        ],
        axis=1,
    )
    whole, resampled = {}, {}
    for name, p in scores.items():
        resampled[name] = _roc_auc(p[draws], positives.size)
        whole[name] = _roc_auc(
            np.concatenate([p[positives], p[negatives]])[None, :],
            positives.size,
        )[0]
    return whole, resampled


def _roc_auc(scores: np.ndarray, n_positive: int) -> np.ndarray:
    """ROC-AUC of each row of ``scores``: its first ``n_positive`` columns are positives.

    The Mann-Whitney form: the chance that a positive scores above a negative, ties
    counting one half (average ranks), which equals the area under the ROC curve.
    """
    ranks = rankdata(scores, axis=1)
    n_negative = scores.shape[1] - n_positive
    positive_ranks = ranks[:, :n_positive].sum(axis=1)
    return (positive_ranks - n_positive * (n_positive + 1) / 2) / (
        n_positive * n_negative
    )


def training_curve(predictor: Any) -> pd.DataFrame:
    """What ``fit`` logged, by optimizer step: the training loss and the validation
    scores.

    Read from the TensorBoard log that AutoGluon writes into the predictor's folder
    (Lightning's ``TensorBoardLogger``): ``train_loss`` every ``optim.log_every_n_steps``
    steps, ``val_loss`` and the validation metric (``val_roc_auc`` for binary labels) at
    every validation, ``optim.val_check_interval`` of an epoch. Returns one row per logged
    step (index ``step``) and one column per logged value; a value not logged at a step
    is NaN.

    Raises
    ------
    TypeError
        If ``predictor`` has no folder (a fitted ``MultiModalPredictor`` has one).
    FileNotFoundError
        If its folder holds no log: ``fit`` has not run there.
    """
    from pathlib import Path

    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    folder = getattr(predictor, "path", None)
    if not isinstance(folder, str):
        raise TypeError(
            "expected a fitted MultiModalPredictor, got "
            f"{type(predictor).__name__}"
        )
    if not any(Path(folder).glob("events.out.tfevents.*")):
        raise FileNotFoundError(
            f"no training log in {Path(folder).name}: fit the predictor first"
        )
    log = EventAccumulator(folder, size_guidance={"scalars": 0})
    log.Reload()
    columns = {
        tag: pd.Series(
            {event.step: event.value for event in log.Scalars(tag)}
        )
        for tag in log.Tags()["scalars"]
        if tag == "train_loss" or tag.startswith("val_")
    }
    curve = pd.DataFrame(columns).sort_index()
    curve.index.name = "step"
    return curve


def predict_sentiment(predictor: Any, texts: Sequence[str]) -> pd.DataFrame:
    """The predictor's verdict on each review in ``texts``, in any language.

    Returns one row per review: the review, the predicted sentiment (``"positive"`` where
    the probability of label 1 is above one half, as ``predict`` decides) and that
    probability, rounded to 3 decimals.

    Raises
    ------
    TypeError
        If ``texts`` is one string instead of a list of them.
    ValueError
        If ``texts`` is empty.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(
            "texts must be a list of reviews, e.g. ['Great value.'], not "
            f"{type(texts).__name__}"
        )
    if not texts:
        raise ValueError("no reviews to predict: give at least one text")
    reviews = pd.DataFrame({"text": list(texts)})
    positive = predictor.predict_proba(reviews)[1].to_numpy()
    reviews["sentiment"] = np.where(positive > 0.5, "positive", "negative")
    reviews["P(positive)"] = positive.round(3)
    return reviews
