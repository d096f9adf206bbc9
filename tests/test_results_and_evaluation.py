from __future__ import annotations

from helpers.evaluation import evaluate_by_language, language_names
from helpers.results import load_results, results_dir, save_results

import json

import pandas as pd
import pytest

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
