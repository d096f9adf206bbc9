"""The real architectures the book measures, from their published configurations, offline.

* :func:`flan_t5_config` and :func:`mdeberta_v3_base_config`: the configurations of the
  FLAN-T5 family and of mDeBERTa-v3-base, optionally with fewer blocks.
* :func:`architecture_folder`: a folder AutoGluon builds the real FLAN-T5 encoder from, with
  random weights (memory does not depend on weight values).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ._local_models import tiny_t5_folder
from .cache import book_cache_dir

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


def architecture_folder(name: str, num_layers: int | None = None) -> Path:
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
    tokenizer_source = tiny_t5_folder()
    for item in tokenizer_source.iterdir():
        if item.name.startswith(("spiece", "tokenizer", "special_tokens")):
            shutil.copy2(item, folder / item.name)
    (folder / "config.json").write_text(
        json.dumps(config.to_dict(), indent=2, sort_keys=True)
    )
    return folder
