"""Build a stand-in mirror offline: the ``full`` profile's downloads, in their real layout.

``make rehearsal`` runs every chapter in the ``full`` profile against this folder
(``PEFT_BOOK_MIRROR``, see :mod:`helpers.mirror`) to prove that the code path Colab and GPU
readers get runs end to end. What differs from a real mirror is only the content:

* the review archive: generated reviews written in the real archive's layout (the zip's
  name, its top folder, the five headerless UTF-8 TSV files, columns ``label`` and
  ``text``), more rows than the chapters sample, so that they really sample;
* the models: small random-init models of the real architectures, saved under the real ids
  in Hugging Face's cache layout, with the real repositories' file sets:
  ``microsoft/mdeberta-v3-base`` (DeBERTa-v2 with its relative-position attention,
  ``config.json``, ``pytorch_model.bin``, ``spm.model``, ``tokenizer_config.json``) and
  ``google/flan-t5-xl`` (T5 v1.1, gated-GELU, sharded safetensors with their index,
  ``spiece.model``, ``tokenizer.json``);
* the manifest says ``"stand_in": true`` and carries the stand-in archive's own SHA-1.

Usage: ``python -m tests.stand_in_mirror <folder>``.
"""

from __future__ import annotations

import helpers  # noqa: F401  (torchvision compatibility before transformers)
from helpers import _mirror as mirror
from helpers._reviews_data import (
    DATASET_FOLDER,
    DATASET_SHA1,
    SAMPLE_SEED,
    _generate,
    generate_reviews,
    sha1_of,
)
from helpers.cache import folder_size, owned_folder
from helpers.models import MDEBERTA_V3_BASE, flan_t5_config

import argparse
import hashlib
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

#: Rows per file: more than the full profile samples (1000 training, 200 test reviews).
ROWS = {
    "en_train": 1500,
    "en_test": 400,
    "de_train": 300,
    "de_test": 400,
    "jp_test": 400,
}
#: A fixed revision, as the hub's cache records one per download.
REVISION = hashlib.sha1(b"peft-book stand-in").hexdigest()


def write_review_archive(path: Path, seed: int = SAMPLE_SEED) -> str:
    """Write generated reviews as ``<folder>/<split>.tsv`` members of a zip; return its SHA-1."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)

    def member(name: str) -> zipfile.ZipInfo:
        # a fixed time stamp: writestr(name) stamps the current time, in 2-second steps,
        # so two archives written across a step would differ
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        if info.is_dir():  # as writestr marks a folder
            info.external_attr = 0o40775 << 16 | 0x10
        return info

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member(f"{DATASET_FOLDER}/"), "")
        for split, rows in ROWS.items():
            frame = _generate(split.split("_")[0], rows, rng)
            tsv = "".join(
                f"{label}\t{text}\n"
                for label, text in zip(frame["label"], frame["text"])
            )
            archive.writestr(
                member(f"{DATASET_FOLDER}/{split}.tsv"), tsv.encode("utf-8")
            )
    return sha1_of(path)


def _snapshot(hub: Path, model_id: str) -> Path:
    repo = hub / f"models--{model_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    snapshot = repo / "snapshots" / REVISION
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


def _train_sentencepiece(
    prefix: Path, vocab_size: int, **pieces: object
) -> Path:
    import sentencepiece as spm

    frames = generate_reviews(n_train=1500, n_test=300, seed=7)
    corpus = prefix.with_suffix(".txt")
    corpus.write_text(
        "\n".join(
            text for frame in frames.values() for text in frame["text"]
        ),
        encoding="utf-8",
    )
    spm.set_random_generator_seed(0)
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        character_coverage=1.0,
        model_type="unigram",
        num_threads=1,
        minloglevel=2,
        **pieces,
    )
    corpus.unlink()
    return prefix.with_suffix(".model")


def write_mdeberta(hub: Path, scratch: Path) -> None:
    """``microsoft/mdeberta-v3-base``: its configuration with 2 small blocks; the real file set."""
    import torch
    from transformers import DebertaV2Config, DebertaV2ForMaskedLM

    snapshot = _snapshot(hub, "microsoft/mdeberta-v3-base")
    model_file = _train_sentencepiece(
        scratch / "spm",
        512,
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        pad_piece="[PAD]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        unk_piece="[UNK]",
        user_defined_symbols=["[MASK]"],
    )
    shutil.copy(model_file, snapshot / "spm.model")
    (snapshot / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": False, "vocab_type": "spm"})
    )
    sizes = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
    }
    config = DebertaV2Config(
        **{**MDEBERTA_V3_BASE, **sizes},
        architectures=["DebertaV2ForMaskedLM"],
    )
    torch.manual_seed(0)
    model = DebertaV2ForMaskedLM(config)
    config.save_pretrained(snapshot)
    torch.save(model.state_dict(), snapshot / "pytorch_model.bin")


def write_flan_t5_xl(hub: Path, scratch: Path) -> None:
    """``google/flan-t5-xl``: T5 v1.1 (gated-GELU, untied) with 2 small blocks; sharded safetensors."""
    import sentencepiece as spm
    import torch
    from transformers import (
        GenerationConfig,
        T5ForConditionalGeneration,
        T5Tokenizer,
    )

    snapshot = _snapshot(hub, "google/flan-t5-xl")
    model_file = _train_sentencepiece(
        scratch / "spiece", 512, pad_id=0, eos_id=1, unk_id=2, bos_id=-1
    )
    shutil.copy(model_file, snapshot / "spiece.model")
    pieces = spm.SentencePieceProcessor(model_file=str(model_file))
    vocab = [
        (pieces.id_to_piece(i), pieces.get_score(i))
        for i in range(pieces.get_piece_size())
    ]
    T5Tokenizer(vocab=vocab, extra_ids=100).save_pretrained(snapshot)
    config = flan_t5_config("google/flan-t5-xl")
    for key, value in {
        "d_model": 32,
        "d_ff": 64,
        "d_kv": 8,
        "num_heads": 4,
        "num_layers": 2,
        "num_decoder_layers": 2,
    }.items():
        setattr(config, key, value)
    config.architectures = ["T5ForConditionalGeneration"]
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config)
    # two shards and an index, as on the hub
    model.save_pretrained(snapshot, max_shard_size="2MB")
    GenerationConfig(
        decoder_start_token_id=0, eos_token_id=1, pad_token_id=0
    ).save_pretrained(snapshot)


def build_stand_in_mirror(folder: Path) -> Path:
    """Build the stand-in mirror into ``folder`` (emptied first if the book made it); return it.

    A ``folder`` that holds anything the book did not make is refused
    (:func:`helpers.cache.owned_folder`).
    """
    folder = owned_folder(folder, empty=True)
    hub = folder / mirror.HUB_FOLDER
    archive = folder / mirror.DATA_FOLDER / f"{DATASET_FOLDER}.zip"
    sha1 = write_review_archive(archive)
    assert sha1 != DATASET_SHA1
    with tempfile.TemporaryDirectory() as scratch:
        write_mdeberta(hub, Path(scratch))
        write_flan_t5_xl(hub, Path(scratch))
    manifest = {
        "stand_in": True,
        "archive": {"file": str(archive.relative_to(folder)), "sha1": sha1},
        "models": ["microsoft/mdeberta-v3-base", "google/flan-t5-xl"],
    }
    (folder / mirror.MANIFEST).write_text(
        json.dumps(manifest, indent=2) + "\n"
    )
    return folder


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    folder = build_stand_in_mirror(parser.parse_args().folder)
    print(
        f"stand-in mirror: {folder} ({folder_size(folder) / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    _main()
