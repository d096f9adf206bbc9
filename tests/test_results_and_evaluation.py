from __future__ import annotations

from helpers.evaluation import (
    evaluate_by_language,
    language_names,
    roc_auc_differences,
    roc_auc_intervals,
)
from helpers.results import load_results, results_dir, save_results

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

# --- results --------------------------------------------------------------------------


def test_save_and_load_roundtrip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record = {
        "roc_auc": {"English": 0.91, "German": 0.5},
        "trainable": 178946,
        "peak_gib": 1.25,
        "note": "ünïcode",
    }
    path = save_results("01_multilingual_baseline", "tiny", record)
    assert (
        path
        == tmp_path / "results" / "tiny" / "01_multilingual_baseline.json"
    )
    assert load_results("01_multilingual_baseline", "tiny") == record
    assert json.loads(path.read_text()) == record
    assert path.read_text().endswith("}\n")
    # keys sorted: stable diffs
    assert list(json.loads(path.read_text())) == sorted(record)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "01_multilingual_baseline.json"
    ]  # no .part left


def test_a_failed_save_keeps_the_old_record_and_leaves_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    path = save_results("ch", "tiny", {"v": 1})
    with pytest.raises(TypeError):
        save_results("ch", "tiny", {"v": object()})  # not JSON
    assert load_results("ch", "tiny") == {"v": 1}
    assert [p.name for p in path.parent.iterdir()] == ["ch.json"]


def test_save_overwrites_and_profiles_are_separate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_results("ch", "tiny", {"v": 1})
    save_results("ch", "tiny", {"v": 2})
    save_results("ch", "full", {"v": 3})
    assert load_results("ch", "tiny") == {"v": 2}
    assert load_results("ch", "full") == {"v": 3}
    assert results_dir("full") == tmp_path / "results" / "full"


def test_load_missing_results_names_the_chapter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_results("01_multilingual_baseline", "tiny", {"v": 1})
    with pytest.raises(FileNotFoundError) as error:
        load_results("02_peft_ia3", "tiny")
    message = str(error.value)
    assert (
        "'02_peft_ia3'" in message
        and "'tiny'" in message
        and "run that chapter first" in message
    )
    with pytest.raises(FileNotFoundError, match="01_multilingual_baseline"):
        load_results("01_multilingual_baseline", "full")


def test_missing_results_are_measured_again_once(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    calls = []

    def rerun() -> dict:
        calls.append(1)
        return {"v": len(calls)}

    assert load_results("01_multilingual_baseline", "full", rerun=rerun) == {
        "v": 1
    }
    assert "01_multilingual_baseline" in capsys.readouterr().out
    # recorded as that chapter's: the second call reads it
    assert load_results("01_multilingual_baseline", "full", rerun=rerun) == {
        "v": 1
    }
    assert calls == [1]


def test_unserialisable_record_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_results("ch", "tiny", {"v": 1})
    with pytest.raises(TypeError):
        save_results("ch", "tiny", {"v": object()})
    assert load_results("ch", "tiny") == {"v": 1}  # the old record survives


# --- evaluation -----------------------------------------------------------------------


class FakePredictor:
    def __init__(self):
        self.calls = []

    def evaluate(self, frame, metrics):
        self.calls.append((frame, metrics))
        language = frame["text"].iloc[0]
        score = {"en": 0.987654321, "de": 0.5, "fr": 0.6, "jp": 0.51}[
            language
        ]
        return {metric: score for metric in metrics} | {"extra": 7.0}


def _data():
    def frame(lang, n):
        return pd.DataFrame({"label": [0, 1] * n, "text": [lang] * (2 * n)})

    return {
        "en_train": frame("en", 5),
        "en_test": frame("en", 2),
        "de_test": frame("de", 2),
        "fr_test": frame("fr", 2),
        "jp_test": frame("jp", 2),
        "de_train": frame("de", 3),
    }


def test_evaluate_by_language():
    predictor, data = FakePredictor(), _data()
    table = evaluate_by_language(predictor, data)
    assert list(table.index) == ["English", "German", "French", "Japanese"]
    assert table.index.name == "language"
    assert list(table.columns) == ["roc_auc", "accuracy"]
    assert table.loc["English", "roc_auc"] == 0.9877  # rounded to 4 decimals
    assert table.loc["German", "accuracy"] == 0.5
    assert table.loc["Japanese", "roc_auc"] == 0.51
    evaluated = [frame for frame, _ in predictor.calls]
    assert len(evaluated) == 4
    assert all(
        any(frame is data[key] for frame in evaluated)
        for key in ("en_test", "de_test", "fr_test", "jp_test")
    )
    assert not any(
        frame is data["en_train"] or frame is data["de_train"]
        for frame in evaluated
    )
    assert all(
        metrics == ["roc_auc", "accuracy"] for _, metrics in predictor.calls
    )


def test_evaluate_by_language_custom_metrics_and_unknown_codes():
    predictor = FakePredictor()
    data = {"xx_test": pd.DataFrame({"label": [0, 1], "text": ["en", "en"]})}
    table = evaluate_by_language(predictor, data, metrics=("accuracy",))
    assert list(table.index) == ["xx"]
    assert list(table.columns) == ["accuracy"]
    assert predictor.calls[0][1] == ["accuracy"]


def test_language_names_follow_the_data():
    assert language_names(_data()) == [
        "English",
        "German",
        "French",
        "Japanese",
    ]
    real = {
        "en_train": None,
        "en_test": None,
        "de_test": None,
        "jp_test": None,
    }  # the full profile's data
    assert language_names(real) == ["English", "German", "Japanese"]
    assert language_names({"xx_test": None}) == ["xx"]


# --- bootstrap intervals --------------------------------------------------------------


def _reviews(
    n: int, shift: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Labels half 0, half 1; scores normal, positives shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    return labels, rng.normal(size=n) + shift * labels


def test_roc_auc_intervals_score_equals_sklearn_with_ties():
    labels, scores = _reviews(200, 1.0, seed=1)
    rounded = np.round(1 / (1 + np.exp(-scores)), 1)  # many ties
    table = roc_auc_intervals(labels, {"a": scores, "b": rounded})
    assert list(table.index) == ["a", "b"]
    assert list(table.columns) == ["roc_auc", "low", "high"]
    for name, values in [("a", scores), ("b", rounded)]:
        assert table.loc[name, "roc_auc"] == pytest.approx(
            roc_auc_score(labels, values)
        )
        assert (
            table.loc[name, "low"]
            < table.loc[name, "roc_auc"]
            < table.loc[name, "high"]
        )


def test_roc_auc_intervals_are_seeded_paired_and_shrink_with_more_reviews():
    labels, scores = _reviews(200, 1.0, seed=2)
    first = roc_auc_intervals(labels, {"a": scores, "twin": scores.copy()})
    again = roc_auc_intervals(labels, {"a": scores, "twin": scores.copy()})
    pd.testing.assert_frame_equal(first, again)
    # every model is scored on the same draws: identical models, identical intervals
    assert first.loc["a"].equals(first.loc["twin"].rename("a"))
    other_seed = roc_auc_intervals(labels, {"a": scores}, seed=1)
    assert other_seed.loc["a", "low"] != first.loc["a", "low"]
    assert other_seed.loc["a", "low"] == pytest.approx(
        first.loc["a", "low"], abs=0.02
    )
    many_labels, many_scores = _reviews(2000, 1.0, seed=3)
    many = roc_auc_intervals(many_labels, {"a": many_scores})
    width = first["high"] - first["low"]
    many_width = many["high"] - many["low"]
    # the width of an interval falls as one over the square root of the reviews
    assert many_width["a"] == pytest.approx(width["a"] / 10**0.5, rel=0.25)


def test_roc_auc_intervals_cover_the_true_score_95_times_in_100():
    # positives shifted by d: the true ROC-AUC is Phi(d / sqrt 2)
    d = 1.0
    true = 0.5 * (1 + math.erf(d / 2))
    covered = []
    for seed in range(200):
        labels, scores = _reviews(200, d, seed=100 + seed)
        row = roc_auc_intervals(labels, {"a": scores}, resamples=500).loc[
            "a"
        ]
        covered.append(row["low"] <= true <= row["high"])
    assert 0.90 <= np.mean(covered) <= 0.99


def test_roc_auc_intervals_of_a_perfect_model_and_of_level():
    labels = np.repeat([0, 1], 50)
    perfect = roc_auc_intervals(labels, {"p": labels * 0.9 + 0.05}).loc["p"]
    assert perfect.tolist() == [1.0, 1.0, 1.0]
    _, scores = _reviews(100, 1.0, seed=4)
    wide = roc_auc_intervals(labels, {"a": scores}, level=0.99).loc["a"]
    narrow = roc_auc_intervals(labels, {"a": scores}, level=0.5).loc["a"]
    assert wide["low"] < narrow["low"] < narrow["high"] < wide["high"]


@pytest.mark.parametrize(
    "labels, probabilities, options, message",
    [
        ([0, 1, 2], {"a": [0.1, 0.2, 0.3]}, {}, "0 and 1"),
        ([1, 1, 1], {"a": [0.1, 0.2, 0.3]}, {}, "both classes"),
        ([0, 1, 1], {"a": [0.1, 0.2]}, {}, "'a' has 2 probabilities for 3"),
        ([0, 1], {"a": [0.1, float("nan")]}, {}, "not finite"),
        ([0, 1], {}, {}, "no probabilities"),
        ([0, 1], {"a": [0.1, 0.2]}, {"level": 95}, "between 0 and 1"),
        ([0, 1], {"a": [0.1, 0.2]}, {"resamples": 10}, "at least 100"),
    ],
)
def test_roc_auc_intervals_refuse_bad_input(
    labels, probabilities, options, message
):
    with pytest.raises(ValueError, match=message):
        roc_auc_intervals(labels, probabilities, **options)


def test_paired_differences_see_what_overlapping_intervals_miss():
    labels, scores = _reviews(200, 1.0, seed=4)
    rng = np.random.default_rng(5)
    # the same model with a little noise on each review, and a slightly better one
    noisy = scores + rng.normal(scale=0.3, size=scores.size)
    better = scores + 0.35 * labels
    models = {"model": scores, "noisy": noisy, "better": better}
    intervals = roc_auc_intervals(labels, models)
    paired = roc_auc_differences(labels, models, "model")
    assert list(paired.index) == ["noisy", "better"]
    assert list(paired.columns) == ["difference", "low", "high", "verdict"]
    for name in paired.index:
        assert paired.loc[name, "difference"] == pytest.approx(
            intervals.loc[name, "roc_auc"]
            - intervals.loc["model", "roc_auc"]
        )
    # the better model's interval overlaps the model's, yet the paired one excludes 0
    assert intervals.loc["better", "low"] < intervals.loc["model", "high"]
    assert paired.loc["better", "verdict"] == "above"
    assert paired.loc["noisy", "verdict"] == "tied"
    # Bonferroni: more comparisons, wider intervals, around the same difference
    many = roc_auc_differences(labels, models, "model", comparisons=40)
    assert (many["low"] <= paired["low"]).all()
    assert (many["high"] >= paired["high"]).all()
    assert many["difference"].equals(paired["difference"])
