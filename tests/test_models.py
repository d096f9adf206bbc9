from __future__ import annotations

from helpers import _local_models
from helpers._local_models import tiny_t5_folder
from helpers.cache import clean_cache
from helpers.models import (
    FLAN_T5_CONFIGS,
    architecture_folder,
    checkpoint_folder,
    flan_t5_config,
)
from helpers.profiles import get_profile

import hashlib
import json

import pytest


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the tiny T5 ------------------------------------------------------------------------


def test_tiny_t5_is_built_into_the_cache(book_cache):
    folder = tiny_t5_folder()
    assert (
        folder
        == book_cache
        / "checkpoints"
        / f"tiny-t5-v{_local_models.TINY_T5_VERSION}"
    )
    names = {p.name for p in folder.iterdir()}
    assert {
        ".complete",
        "RANDOM_WEIGHTS",
        "config.json",
        "model.safetensors",
        "tokenizer_config.json",
    } <= names
    assert not any("corpus" in name for name in names)
    assert [p.name for p in folder.parent.iterdir()] == [
        folder.name
    ]  # no staging folder left
    assert get_profile("tiny").large_checkpoint() == str(folder)


def test_tiny_t5_is_deterministic_across_caches(tmp_path, monkeypatch):
    folders = []
    for name in ("first", "second"):
        monkeypatch.setenv("PEFT_BOOK_CACHE", str(tmp_path / name))
        folders.append(tiny_t5_folder())
    assert folders[0] != folders[1]
    for file in (
        "model.safetensors",
        "config.json",
        "tokenizer_config.json",
    ):
        assert _sha256(folders[0] / file) == _sha256(folders[1] / file), file
    files = sorted(p.name for p in folders[0].iterdir() if p.is_file())
    assert files == sorted(
        p.name for p in folders[1].iterdir() if p.is_file()
    )
    for file in files:  # no file records the temporary build path
        assert b".part" not in (folders[0] / file).read_bytes(), file


def test_tiny_t5_is_reused_when_complete(monkeypatch):
    folder = tiny_t5_folder()
    monkeypatch.setattr(
        _local_models,
        "_build_tiny_t5",
        lambda staging: pytest.fail("must not rebuild"),
    )
    assert tiny_t5_folder() == folder


def test_tiny_t5_is_rebuilt_when_incomplete():
    folder = tiny_t5_folder()
    weights = _sha256(folder / "model.safetensors")
    (folder / ".complete").unlink()
    (folder / "model.safetensors").write_bytes(b"half-written")
    (folder / "stale.txt").write_text("left over")
    assert tiny_t5_folder() == folder
    assert (folder / ".complete").is_file()
    assert not (folder / "stale.txt").exists()
    assert _sha256(folder / "model.safetensors") == weights


def test_failed_tiny_t5_build_leaves_nothing(monkeypatch, book_cache):
    def broken(staging):
        (staging / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(_local_models, "_build_tiny_t5", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        tiny_t5_folder()
    assert list((book_cache / "checkpoints").iterdir()) == []


def test_tiny_t5_loads_with_transformers():
    import torch
    from transformers import AutoTokenizer, T5EncoderModel

    folder = tiny_t5_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer(
        ["I love this kettle.", "Der Mixer funktioniert perfekt."],
        padding=True,
        return_tensors="pt",
    )
    ids = encoded["input_ids"]
    assert ids.shape[0] == 2 and ids.shape[1] >= 4
    assert (
        ids[0, encoded["attention_mask"][0].sum() - 1]
        == tokenizer.eos_token_id
        == 1
    )
    assert tokenizer.pad_token_id == 0
    assert (
        ids != tokenizer.unk_token_id
    ).all()  # the vocabulary covers the generated languages
    model = T5EncoderModel.from_pretrained(folder)
    assert model.config.d_model == 64 and model.config.num_layers == 2
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    assert hidden.shape == (2, ids.shape[1], 64)
    assert torch.isfinite(hidden).all()


# --- real architectures -------------------------------------------------------------------


def test_flan_t5_xl_config():
    config = flan_t5_config("google/flan-t5-xl")
    assert config.d_model == 2048
    assert config.num_layers == 24 and config.num_decoder_layers == 24
    assert (
        config.num_heads == 32 and config.d_ff == 5120 and config.d_kv == 64
    )
    assert config.vocab_size == 32128
    assert config.is_gated_act and config.dense_act_fn == "gelu_new"
    # transformers 5 keeps T5 v1.1 "tie_word_embeddings: false" here
    assert config.scale_decoder_outputs is False


@pytest.mark.parametrize("name", list(FLAN_T5_CONFIGS))
def test_every_flan_t5_size_has_a_config(name):
    assert flan_t5_config(name).d_model == FLAN_T5_CONFIGS[name]["d_model"]


@pytest.mark.parametrize(
    "name", ["google/flan-t5-huge", "flan-t5-xl", "t5-small", ""]
)
def test_unknown_flan_t5_size(name):
    with pytest.raises(ValueError, match="google/flan-t5-xl"):
        flan_t5_config(name)


def test_architecture_folder(book_cache):
    from transformers import AutoConfig

    folder = architecture_folder("google/flan-t5-xl")
    assert folder.parent == book_cache / "checkpoints"
    written = json.loads((folder / "config.json").read_text())
    assert written["d_model"] == 2048 and written["num_layers"] == 24
    assert written["num_decoder_layers"] == 0
    assert not (folder / "model.safetensors").exists()
    assert (folder / "tokenizer_config.json").is_file()
    loaded = AutoConfig.from_pretrained(folder)
    assert loaded.model_type == "t5" and loaded.d_model == 2048
    assert architecture_folder("google/flan-t5-xl") == folder  # idempotent
    with pytest.raises(ValueError):
        architecture_folder("google/flan-t5-mega")


def test_fewer_blocks_keep_every_other_dimension(book_cache):
    from helpers.models import mdeberta_v3_base_config

    two = flan_t5_config("google/flan-t5-large", num_layers=2)
    full = flan_t5_config("google/flan-t5-large")
    assert (two.num_layers, two.num_decoder_layers) == (2, 2)
    assert {k: v for k, v in two.to_dict().items() if "layers" not in k} == {
        k: v for k, v in full.to_dict().items() if "layers" not in k
    }
    deberta = mdeberta_v3_base_config(num_layers=2)
    assert (
        deberta.num_hidden_layers == 2
        and deberta.vocab_size
        == mdeberta_v3_base_config().vocab_size
        == 251000
    )
    folder = architecture_folder("google/flan-t5-large", num_layers=2)
    assert folder != architecture_folder("google/flan-t5-large")
    assert (
        json.loads((folder / "config.json").read_text())["num_layers"] == 2
    )


# --- where a checkpoint's files lie, to free them ---------------------------------------


def _hub_cache(monkeypatch, folder):
    import huggingface_hub.constants

    monkeypatch.setattr(
        huggingface_hub.constants, "HF_HUB_CACHE", str(folder)
    )
    return folder


def _download(hub, name="google/flan-t5-xl", size=1000):
    folder = hub / ("models--" + name.replace("/", "--"))
    (folder / "blobs").mkdir(parents=True)
    (folder / "blobs" / "weights").write_bytes(b"w" * size)
    return folder


def test_a_download_in_the_books_hugging_face_cache_is_found_and_freed(
    book_cache, monkeypatch
):
    hub = _hub_cache(monkeypatch, book_cache / "huggingface" / "hub")
    folder = _download(hub)
    assert checkpoint_folder("google/flan-t5-xl") == folder.resolve()
    assert clean_cache(folder) == 1000 and not folder.exists()
    assert checkpoint_folder("google/flan-t5-xl") is None, "nothing left"


def test_a_folder_the_book_built_is_itself(book_cache):
    built = tiny_t5_folder()
    assert checkpoint_folder(str(built)) == built.resolve()


def test_what_the_book_did_not_put_in_its_cache_is_none(
    book_cache, monkeypatch, tmp_path
):
    mine = tmp_path / "my-checkpoint"
    mine.mkdir()
    assert checkpoint_folder(str(mine)) is None, "a folder of the reader's"
    _download(_hub_cache(monkeypatch, tmp_path / "readers-hf" / "hub"))
    assert checkpoint_folder("google/flan-t5-xl") is None, (
        "the reader's HF_HOME"
    )
    _hub_cache(monkeypatch, book_cache / "huggingface" / "hub")
    assert checkpoint_folder("google/flan-t5-xl") is None, "never downloaded"


def test_a_model_in_a_mirror_is_never_offered_for_freeing(
    book_cache, monkeypatch
):
    mirror = book_cache / "mirror"  # inside the book's cache, and still kept
    mirror.mkdir(parents=True)
    monkeypatch.setenv("PEFT_BOOK_MIRROR", str(mirror))
    _download(_hub_cache(monkeypatch, mirror / "hub"))
    assert checkpoint_folder("google/flan-t5-xl") is None
