"""Terms of the planner's estimate: the activations T5, DeBERTa-v3 and BERT blocks save for
the backward pass (what CUDA's caching allocator and cuBLAS add on a GPU:
:mod:`helpers._cuda_terms`).

The activation coefficients are bytes per element, counted from the tensors that the
forward pass of AutoGluon's encoders saves for backward, for each kind of adapter
(``tests/test_planner.py`` and ``tests/test_planner_methods.py`` recount them with
``torch.autograd.graph.saved_tensors_hooks``). Outside the blocks under mixed precision
they are rounded: the tests check the blocks there, and measure fp32 and true 16-bit
steps.
What a method trains decides what is kept: a trained weight needs its layer's input, a
frozen one none; a gradient that must reach a trained parameter below a layer needs that
layer's saved tensors (a layer norm's input and statistics, a GELU's input, a dropout's
mask) whatever trains in it. So the methods fall in a few classes, the keys of the tables:
"full"; "none" (frozen matrices: bit_fit, norm_fit); and the adapters of
:func:`helpers._architecture.adapter`: "ia3" keeps the outputs it scales, "lora" each
adapted layer's input (for ``lora_A``'s gradient) and its rank-r product (for
``lora_B``'s), "ia3_lora" both.
"""

from __future__ import annotations

from ._architecture import (
    Architecture,
    adapted_layers,
    adapter,
    trains_biases,
    trains_norms,
)


def _matrices(a: Architecture, peft: str, lora_rank: int) -> int:
    """Weights of one block's matrix products, LoRA's among them: what mixed precision
    keeps 16-bit copies of."""
    if a.family == "t5":
        matrices = 4 * a.d * a.inner + (3 if a.gated else 2) * a.d * a.d_ff
    else:
        matrices = 4 * a.d * a.d + 2 * a.d * a.d_ff
    if adapter(peft) in {"lora", "ia3_lora"}:
        layers = adapted_layers(a)
        matrices += lora_rank * sum(n_in + n_out for n_in, n_out in layers)
    return matrices


def _block_key(peft: str) -> str:
    """The class of ``peft`` for the activation tables: "full" or its adapter."""
    return "full" if peft == "full" else adapter(peft)


# Bytes saved for the backward pass in one T5 block, per element of
# (B*L*d, B*L*inner, B*L*d_ff, B*h*L*L, B*L, B*L*r), with inner = h*d_kv and r LoRA's rank,
# followed by bytes per weight of the block's matrices (16-bit copies that mixed precision
# makes and keeps). Full finetuning keeps the inputs of every matrix product, to form
# weight gradients; with frozen weights fewer are needed, but IA3 keeps the outputs it
# scales and LoRA the inputs of q, k, v (one tensor) and o, and the four products x A^T.
# The B*h*L*L term is the attention scores, their softmax and its dropout mask. Keys:
# (class, mode), mode "32", "mixed" or "true" (16-bit weights; T5's layer norms still
# square and normalise in fp32, and those fp32 results are among the saved tensors).
T5_BLOCK = {
    ("full", "32"): (32, 16, 32, 12, 8, 0, 0),
    ("none", "32"): (16, 12, 28, 12, 8, 0, 0),
    ("ia3", "32"): (20, 24, 28, 12, 8, 0, 0),
    ("lora", "32"): (20, 16, 28, 12, 8, 16, 0),
    ("ia3_lora", "32"): (24, 28, 28, 12, 8, 16, 0),
    ("full", "mixed"): (30, 8, 16, 8, 8, 0, 2),
    ("none", "mixed"): (12, 6, 14, 8, 8, 0, 2),
    ("ia3", "mixed"): (16, 12, 14, 8, 8, 0, 2),
    ("lora", "mixed"): (18, 8, 14, 8, 8, 8, 2),
    ("ia3_lora", "mixed"): (22, 14, 14, 8, 8, 8, 2),
    ("full", "true"): (24, 8, 16, 8, 8, 0, 0),
    ("none", "true"): (16, 6, 14, 8, 8, 0, 0),
    ("ia3", "true"): (18, 12, 14, 8, 8, 0, 0),
    ("lora", "true"): (18, 8, 14, 8, 8, 8, 0),
    ("ia3_lora", "true"): (20, 14, 14, 8, 8, 8, 0),
}
# Outside the blocks (embedding output and its dropout, final norm, pooled output): bytes
# per B*L*d, B*L, B*L*inner and B*h*L*L, by (class, mode). Under mixed precision the
# first two are rounded: the 16-bit copies of the head and the pooled output add a few
# bytes per token more. Without adapters ("none") the first block's input needs no
# gradient, so its attention keeps less: neither q nor k (its projections are frozen and
# see no gradient), and one L x L tensor fewer (negative terms: the first block differs
# from the others).
T5_OUTSIDE = {
    ("full", "32"): (20, 12, 0, 0),
    ("none", "32"): (12, 0, -8, -4),
    ("ia3", "32"): (12, 0, 0, 0),
    ("lora", "32"): (12, 0, 0, 0),
    ("ia3_lora", "32"): (12, 0, 0, 0),
    ("full", "mixed"): (16, 12, 0, 0),
    ("none", "mixed"): (8, 0, -8, -4),
    ("ia3", "mixed"): (8, 0, 0, 0),
    ("lora", "mixed"): (3, 0, 0, 0),
    ("ia3_lora", "mixed"): (3, 0, 0, 0),
    ("full", "true"): (14, 12, 0, 0),
    ("none", "true"): (6, 0, -4, -2),
    ("ia3", "true"): (6, 0, 0, 0),
    ("lora", "true"): (6, 0, 0, 0),
    ("ia3_lora", "true"): (6, 0, 0, 0),
}


def saved_activations(
    a: Architecture,
    peft: str,
    mode: str,
    batch: int,
    length: int,
    device: str,
    lora_rank: int,
    checkpointing: bool = False,
) -> tuple[int, int]:
    """Bytes saved for the backward pass by one block of ``a``, and outside the blocks.

    With gradient ``checkpointing``, transformers' ``gradient_checkpointing_enable`` calls
    ``enable_input_require_grads`` (``modeling_utils.py``): the word embeddings' output
    requires a gradient, so DeBERTa's and BERT's embeddings keep for the backward pass
    what they keep when their layer norm trains, whatever the method (AutoGluon feeds
    T5's encoder its embeddings itself, through a layer of its own)."""
    if a.family == "t5":
        return t5_activations(a, peft, mode, batch, length, lora_rank)
    if a.family == "deberta-v2":
        return deberta_activations(
            a, peft, batch, length, lora_rank, checkpointing
        )
    return bert_activations(
        a, peft, mode, batch, length, device, lora_rank, checkpointing
    )


def score_gradients(
    a: Architecture, batch: int, length: int, device: str
) -> int:
    """Bytes of the attention's gradients in one block's backward pass: of the scores and
    of their softmax (and, in DeBERTa, of the position scores). The softmax is taken in
    fp32, so these stay fp32-sized in 16 bits too. BERT's attention is PyTorch's
    ``scaled_dot_product_attention``: on a CPU in training its math path, on CUDA a fused
    kernel that forms no L x L tensor (:func:`bert_activations`)."""
    scores = batch * a.heads * length**2
    if a.family == "deberta-v2":
        return 8 * scores + 8 * batch * a.heads * length * 2 * a.buckets
    if a.family == "bert" and device == "cuda":
        return 0
    return 8 * scores


def t5_activations(
    a: Architecture,
    peft: str,
    mode: str,
    batch: int,
    length: int,
    lora_rank: int,
) -> tuple[int, int]:
    """Bytes saved by one T5 block, and outside the blocks (``mode`` as in T5_BLOCK)."""
    full = peft == "full"
    tokens = batch * length
    c_d, c_inner, c_ff, c_scores, c_tok, c_rank, c_weight = T5_BLOCK[
        _block_key(peft), mode
    ]
    block = tokens * (
        c_d * a.d
        + c_inner * a.inner
        + c_ff * a.d_ff
        + c_tok
        + c_rank * lora_rank
    )
    block += c_scores * batch * a.heads * length**2
    block += c_weight * _matrices(a, peft, lora_rank)
    o_d, o_tok, o_inner, o_scores = T5_OUTSIDE[_block_key(peft), mode]
    outside = tokens * (o_d * a.d + o_tok + o_inner * a.inner)
    outside += o_scores * batch * a.heads * length**2
    if full or trains_biases(peft):
        # int64 relative-position buckets, kept for the trained bias table
        outside += 8 * length**2
    return block, outside


# DeBERTa-v3, fp32: bytes per element of (B*L*d, B*L*d_ff, B*L, B*L*r), by class; then
# bytes per element of the position projections (2k x d, per sequence), by class and
# whether the biases train (key_proj's bias makes the projected position keys need a
# gradient; IA3 and LoRA on query_proj keep what they need of the position queries).
DEBERTA_BLOCK = {
    "full": (44, 8, 16, 0),
    "none": (32, 4, 16, 0),
    "ia3": (40, 4, 16, 0),
    "lora": (36, 4, 16, 8),
    "ia3_lora": (44, 4, 16, 8),
}
DEBERTA_POSITIONS = {
    ("full", True): 8,
    ("none", True): 4,
    ("ia3", False): 4,
    ("ia3", True): 8,
    ("lora", False): 4,
    ("lora", True): 8,
    ("ia3_lora", False): 8,
    ("ia3_lora", True): 12,
}


def deberta_activations(
    a: Architecture,
    peft: str,
    batch: int,
    length: int,
    lora_rank: int,
    checkpointing: bool = False,
) -> tuple[int, int]:
    """Bytes saved by one DeBERTa-v3 block (fp32), and outside the blocks.

    Disentangled attention adds to T5's terms: content-to-position and position-to-content
    scores over 2k relative positions (k = position_buckets), their int64 gather indices,
    and the projected position embeddings (2k x d, per sequence and per batch). LoRA on
    ``query_proj`` also keeps its rank-r product of the position embeddings.
    """
    key = _block_key(peft)
    biases = peft == "full" or trains_biases(peft)
    tokens, span = batch * length, 2 * a.buckets
    c_d, c_ff, c_tok, c_rank = DEBERTA_BLOCK[key]
    block = tokens * (c_d * a.d + c_ff * a.d_ff + c_tok + c_rank * lora_rank)
    # scores, softmax and dropout output; the mask; the int64 gather indices (one L x L each,
    # expanded over the batch and heads without a copy)
    block += (
        12 * batch * a.heads * length**2 + batch * length**2 + 16 * length**2
    )
    block += (
        8 * batch * a.heads * length * span
        + DEBERTA_POSITIONS[key, biases] * span * a.d
        + 8 * batch * span * a.d
    )
    if key in {"lora", "ia3_lora"}:
        block += 4 * span * lora_rank
    if not (biases or checkpointing):
        # nothing below the first block trains: the embeddings keep nothing, and the
        # first block one projection of the position embeddings fewer
        return block, -4 * batch * span * a.d
    # embedding, its norm, pooled output; token ids
    outside = tokens * (12 * a.d + 12 + (8 if peft == "full" else 0))
    # the norm statistics of the relative position embeddings
    outside += 2 * 4 * span
    return block, outside


# BERT family, one block: bytes per element of (B*L*d, B*L*d_ff, B*h*L*L, B*L, B*L*r),
# then per weight of the block's matrices (mixed precision's 16-bit copies), by
# (class, mode), with PyTorch's scaled_dot_product_attention on its math path (a CPU,
# dropout in training): it keeps q and k scaled, the softmax, its dropout mask and output
# (B*h*L*L), and v. Every class keeps the two layer norms' inputs and statistics (B*L),
# the GELU's input (B*L*d_ff) and the dropout masks; full finetuning adds the inputs of
# every matrix product; IA3 the outputs of query and value it scales; LoRA their shared
# input and its two products x A^T.
BERT_BLOCK = {
    ("full", "32"): (40, 8, 12, 16, 0, 0),
    ("none", "32"): (28, 4, 12, 16, 0, 0),
    ("ia3", "32"): (36, 4, 12, 16, 0, 0),
    ("lora", "32"): (32, 4, 12, 16, 8, 0),
    ("ia3_lora", "32"): (40, 4, 12, 16, 8, 0),
    ("full", "mixed"): (34, 4, 12, 16, 0, 2),
    ("none", "mixed"): (24, 2, 12, 16, 0, 2),
    ("ia3", "mixed"): (28, 2, 12, 16, 0, 2),
    ("lora", "mixed"): (28, 2, 12, 16, 4, 2),
    ("ia3_lora", "mixed"): (32, 2, 12, 16, 4, 2),
    ("full", "true"): (26, 4, 12, 8, 0, 0),
    ("none", "true"): (20, 2, 12, 8, 0, 0),
    ("ia3", "true"): (24, 2, 12, 8, 0, 0),
    ("lora", "true"): (22, 2, 12, 8, 4, 0),
    ("ia3_lora", "true"): (26, 2, 12, 8, 4, 0),
}
# The fused attention (see bert_activations): bytes per B*L*d (fp32) that it keeps beyond
# the math path, in a block and outside (the first block), by class. Counted on a CPU
# with the attention's dropout off, where PyTorch runs its fused flash kernel.
BERT_FUSED_ATTENTION = {
    "full": (0, 0),
    "none": (4, 0),
    "ia3": (4, 4),
    "lora": (4, 4),
    "ia3_lora": (4, 4),
}
# Outside the blocks: bytes per B*L*e (e the embeddings' width), per B*L*d and per B*L,
# by (what trains below the first block, mode): "full" (the embeddings: token and token
# type ids kept for their gradients), "norm" (the embeddings' layer norm: its input and
# statistics, the dropout mask after it, and the first block's input) or "frozen"
# (nothing). Full finetuning also keeps ELECTRA's projection's input (4 bytes per B*L*e)
# and RoBERTa's position ids, made from the token ids (8 per B*L). A pooler keeps the
# first token's hidden state (4 bytes per B*d).
BERT_OUTSIDE = {
    ("full", "32"): (8, 4, 24),
    ("norm", "32"): (8, 4, 8),
    ("frozen", "32"): (0, 0, 0),
    ("full", "mixed"): (8, 2, 24),
    ("norm", "mixed"): (8, 2, 8),
    ("frozen", "mixed"): (0, -8, 0),
    ("full", "true"): (4, 2, 20),
    ("norm", "true"): (4, 2, 4),
    ("frozen", "true"): (0, -2, 0),
}


def bert_activations(
    a: Architecture,
    peft: str,
    mode: str,
    batch: int,
    length: int,
    device: str,
    lora_rank: int,
    checkpointing: bool = False,
) -> tuple[int, int]:
    """Bytes saved by one block of the BERT family, and outside the blocks (with
    ``checkpointing``, see :func:`saved_activations`).

    On CUDA, ``scaled_dot_product_attention`` runs a fused kernel (memory-efficient
    attention: it supports the padding mask and dropout) that keeps q, k, v, its output
    and one log-sum-exp per row (fp32) instead of the B*h*L*L tensors; read from
    PyTorch's source, not yet checked on a GPU.
    """
    tokens = batch * length
    key = _block_key(peft)
    c_d, c_ff, c_scores, c_tok, c_rank, c_weight = BERT_BLOCK[key, mode]
    below = (
        "full"
        if peft == "full"
        else "norm"
        if trains_biases(peft) or trains_norms(peft) or checkpointing
        else "frozen"
    )
    o_e, o_d, o_tok = BERT_OUTSIDE[below, mode]
    if below == "full":
        o_e += (4 if mode == "32" else 2) if a.embedding != a.d else 0
        o_tok += 8 if a.positions_from_ids else 0
    if device == "cuda":
        # no L x L tensors; one fp32 log-sum-exp per row and head
        fused_block, fused_first = BERT_FUSED_ATTENTION[key]
        size = 4 if mode == "32" else 2
        c_d += fused_block * size // 4
        c_scores = 0
        c_tok += 4 * a.heads
        outside_fused = fused_first * size // 4 * tokens * a.d
    else:
        outside_fused = 0
    block = tokens * (c_d * a.d + c_ff * a.d_ff + c_tok + c_rank * lora_rank)
    block += c_scores * batch * a.heads * length**2
    block += c_weight * _matrices(a, peft, lora_rank)
    outside = tokens * (o_e * a.embedding + o_d * a.d + o_tok)
    outside += (4 if mode == "32" else 2) * batch * a.d if a.pooler else 0
    outside += outside_fused
    return block, outside
