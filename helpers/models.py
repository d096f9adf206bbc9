"""The real architectures the book measures, from their published configurations, offline.

* :func:`flan_t5_config` and :func:`mdeberta_v3_base_config`: the configurations of the
  FLAN-T5 family and of mDeBERTa-v3-base, optionally with fewer blocks.
* :func:`architecture_folder`: a folder AutoGluon builds the real FLAN-T5 encoder from, with
  random weights (memory does not depend on weight values).
* :func:`checkpoint_folder`: where a checkpoint's files lie in the book's cache, to free
  them with :func:`helpers.clean_cache`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ._checks import require_count
from ._configs import (
    FLAN_T5_CONFIGS,
    MDEBERTA_V3_BASE,
    MULTILINGUAL_E5_SMALL,  # the workshop guide reads it here too
    MULTILINGUAL_E5_SMALL_REST,
    T5_COMMON,
    check_flan_t5_name,
)
from ._local_models import tiny_t5_folder
from ._mirror import in_mirror
from .cache import book_cache_dir, owned_location


def _check_num_layers(num_layers: int | None) -> None:
    if num_layers is not None:
        require_count(num_layers, "num_layers (the blocks to keep)")


def flan_t5_config(name: str, num_layers: int | None = None):
    """A ``transformers.T5Config`` equal to the published one of ``name`` (offline).

    ``num_layers`` keeps only that many blocks (encoder and decoder), every other dimension
    as published: a CPU-sized piece of a GPU-sized architecture.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`FLAN_T5_CONFIGS`, or ``num_layers`` is below 1.
    TypeError
        If ``name`` is not a string or ``num_layers`` not a whole number.
    """
    from transformers import T5Config

    check_flan_t5_name(name)
    _check_num_layers(num_layers)
    sizes = {
        **FLAN_T5_CONFIGS[name],
        **({"num_layers": num_layers} if num_layers else {}),
    }
    return T5Config(
        **T5_COMMON,
        **sizes,
        num_decoder_layers=sizes["num_layers"],
        name_or_path=name,
    )


def mdeberta_v3_base_config(num_layers: int | None = None):
    """A ``transformers.DebertaV2Config`` equal to the published one of mDeBERTa-v3-base (offline).

    ``num_layers`` keeps only that many blocks, every other dimension as published.

    Raises
    ------
    ValueError
        If ``num_layers`` is below 1.
    TypeError
        If ``num_layers`` is not a whole number.
    """
    from transformers import DebertaV2Config

    _check_num_layers(num_layers)

    return DebertaV2Config(
        **{
            **MDEBERTA_V3_BASE,
            **({"num_hidden_layers": num_layers} if num_layers else {}),
        }
    )


def multilingual_e5_small_config(num_layers: int | None = None):
    """A ``transformers.BertConfig`` equal to the published one of multilingual-e5-small
    (offline): the baseline of chapters 1 and 2 in the ``tiny`` profile, with its whole
    vocabulary (the ``tiny`` profile's copy keeps a trimmed one).

    ``num_layers`` keeps only that many blocks, every other dimension as published.

    Raises
    ------
    ValueError
        If ``num_layers`` is below 1.
    TypeError
        If ``num_layers`` is not a whole number.
    """
    from transformers import BertConfig

    _check_num_layers(num_layers)
    sizes = {**MULTILINGUAL_E5_SMALL, **MULTILINGUAL_E5_SMALL_REST}
    if num_layers:
        sizes["num_hidden_layers"] = num_layers
    return BertConfig(**sizes)


def architecture_folder(name: str, num_layers: int | None = None) -> Path:
    """A folder with the real configuration of ``name`` and a (small) tokenizer, no weights.

    AutoGluon builds the model from it with ``pretrained=False``: the true encoder with
    random weights, offline (the decoder, which AutoGluon deletes anyway, gets zero layers).
    Only memory and speed are meaningful on such a model. ``num_layers`` keeps only that
    many encoder blocks (see :func:`flan_t5_config`, which raises for a wrong ``name`` or
    ``num_layers`` before anything is built).
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


def checkpoint_folder(checkpoint: str) -> Path | None:
    """The folder in the book's cache that holds ``checkpoint``'s files, to free with
    :func:`helpers.clean_cache`; ``None`` when they are not in the book's cache.

    A local folder is itself: the ``tiny`` profile's checkpoints, which the book builds
    in its cache. A Hugging Face Hub name is its folder in the Hugging Face cache,
    ``models--<org>--<name>``, where ``fit`` downloaded it (``google/flan-t5-xl``: about
    11 GB). ``None`` for files the book did not put in its cache: a folder of your own,
    a Hugging Face cache you chose with ``HF_HOME``, a name never downloaded, and a model
    in a mirror (``$PEFT_BOOK_MIRROR``), which is filled to be used again and never freed.

    Raises
    ------
    TypeError
        If ``checkpoint`` is not a string.
    """
    if not isinstance(checkpoint, str) or not checkpoint.strip():
        raise TypeError(
            "checkpoint_folder takes a checkpoint: a Hugging Face name such as "
            f"'google/flan-t5-xl', or a folder; got {checkpoint!r}"
        )
    folder = Path(checkpoint).expanduser()
    if not folder.is_dir():
        from huggingface_hub import constants

        hub_name = "models--" + checkpoint.replace("/", "--")
        folder = Path(constants.HF_HUB_CACHE) / hub_name
    if not folder.is_dir() or in_mirror(folder):
        return None
    return owned_location(folder)
