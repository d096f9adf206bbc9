"""Terms of the planner's estimate: the activations T5 and DeBERTa-v3 blocks save for the
backward pass, and what CUDA's caching allocator and cuBLAS add on a GPU.

The activation coefficients are bytes per element, counted from the tensors that the
forward pass of AutoGluon's T5 and DeBERTa-v3 encoders saves for backward
(``tests/test_planner.py`` recounts them with ``torch.autograd.graph.saved_tensors_hooks``).
"""

from __future__ import annotations

from ._architecture import Architecture, parameter_tensors
from .gpus import GPU_SPECS

# Bytes saved for the backward pass in one T5 block, per element of
# (B*L*d, B*L*inner, B*L*d_ff, B*h*L*L, B*L), with inner = h*d_kv, followed by bytes per
# weight of the block's matrices (16-bit copies that mixed precision makes and keeps).
# Full finetuning keeps the inputs of every matrix product, to form weight gradients; with
# frozen weights fewer are needed, but IA3 keeps the outputs it scales. The B*h*L*L term is
# the attention scores, their softmax and its dropout mask. Keys: (full finetuning, mode),
# mode "32", "mixed" or "true" (16-bit weights; T5's layer norms still square and
# normalise in fp32, and those fp32 results are among the saved tensors).
T5_BLOCK = {
    (True, "32"): (32, 16, 32, 12, 8, 0),
    (False, "32"): (20, 24, 28, 12, 8, 0),
    (True, "mixed"): (30, 8, 16, 8, 8, 2),
    (False, "mixed"): (16, 12, 14, 8, 8, 2),
    (True, "true"): (24, 8, 16, 8, 8, 0),
    (False, "true"): (18, 12, 14, 8, 8, 0),
}
# Outside the blocks (embedding output and its dropout, final norm, pooled output): bytes
# per B*L*d and per B*L. Keys as above. Under mixed precision these two are rounded: the
# 16-bit copies of the head and the pooled output add a few bytes per token more.
T5_OUTSIDE = {
    (True, "32"): (20, 12),
    (False, "32"): (12, 0),
    (True, "mixed"): (16, 12),
    (False, "mixed"): (8, 0),
    (True, "true"): (14, 12),
    (False, "true"): (6, 0),
}


def t5_activations(
    a: Architecture, peft: str, mode: str, batch: int, length: int
) -> tuple[int, int]:
    """Bytes saved by one T5 block, and outside the blocks (``mode`` as in T5_BLOCK)."""
    full = peft == "full"
    tokens = batch * length
    c_d, c_inner, c_ff, c_scores, c_tok, c_weight = T5_BLOCK[full, mode]
    matrices = 4 * a.d * a.inner + (3 if a.gated else 2) * a.d * a.d_ff
    block = tokens * (c_d * a.d + c_inner * a.inner + c_ff * a.d_ff + c_tok)
    block += c_scores * batch * a.heads * length**2 + c_weight * matrices
    o_d, o_tok = T5_OUTSIDE[full, mode]
    outside = tokens * (o_d * a.d + o_tok)
    if full or peft.endswith("_bias"):
        # int64 relative-position buckets, kept for the trained bias table
        outside += 8 * length**2
    return block, outside


def deberta_activations(
    a: Architecture, peft: str, batch: int, length: int
) -> tuple[int, int]:
    """Bytes saved by one DeBERTa-v3 block (fp32), and outside the blocks.

    Disentangled attention adds to T5's terms: content-to-position and position-to-content
    scores over 2k relative positions (k = position_buckets), their int64 gather indices,
    and the projected position embeddings (2k x d, per sequence).
    """
    full = peft == "full"
    tokens, span = batch * length, 2 * a.buckets
    block = tokens * (
        (44 if full else 40) * a.d + (8 if full else 4) * a.d_ff + 16
    )
    # scores, softmax and dropout output; the mask; the int64 gather indices (one L x L each,
    # expanded over the batch and heads without a copy)
    block += (
        12 * batch * a.heads * length**2 + batch * length**2 + 16 * length**2
    )
    block += (
        8 * batch * a.heads * length * span
        + 8 * span * a.d
        + 8 * batch * span * a.d
    )
    # embedding, its norm, pooled output; token ids
    outside = tokens * (12 * a.d + 12 + (8 if full else 0))
    # the norm statistics of the relative position embeddings
    outside += 2 * 4 * span
    return block, outside


# The CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp in PyTorch's source):
# every request is rounded up to a multiple of 512 bytes (kMinBlockSize); requests of at
# most 1 MiB (kSmallSize) come from the small pool's 2 MiB segments, larger ones from the
# large pool: below 10 MiB (kMinLargeAlloc) from 20 MiB segments, above it from a segment
# of their size rounded up to 2 MiB (kRoundLarge). A large-pool block is split only when
# more than 1 MiB would remain (should_split); otherwise the request takes all of it, and
# ``allocated_bytes`` (what max_memory_allocated reports) counts the block's size.
_MIN_BLOCK = 512
_SMALL_SIZE = 1 << 20
_MIN_LARGE_ALLOC = 10 << 20
_ROUND_LARGE = 2 << 20


def allocated_block(nbytes: int) -> int:
    """Bytes the CUDA caching allocator counts for a fresh request of ``nbytes``."""
    size = -(-max(nbytes, 1) // _MIN_BLOCK) * _MIN_BLOCK
    if size < _MIN_LARGE_ALLOC:
        # small pool, or a 20 MiB segment: the rest (over 1 MiB) is split off
        return size
    segment = -(-size // _ROUND_LARGE) * _ROUND_LARGE
    return segment if segment - size <= _SMALL_SIZE else size


def cublas_workspace_bytes(gpu: str | None) -> int:
    """cuBLAS's workspace for one (handle, stream), and cuBLASLt's beside it.

    PyTorch takes both from the caching allocator (aten/src/ATen/cuda/CublasHandlePool.cpp:
    ``getNewWorkspace``, ``getNewCUDABlasLtWorkspace``). Without ``CUBLAS_WORKSPACE_CONFIG``
    the cuBLAS one is ``:4096:2:16:8`` (2 x 4096 KiB + 8 x 16 KiB = 8,320 KiB), 32 MiB on a
    Hopper (compute capability 9.0); cuBLASLt's is ``CUBLASLT_WORKSPACE_SIZE``, 1024 KiB by
    default. The docs describe the variable: "Reproducibility" in PyTorch's notes, and
    cuBLAS's ``cublasSetWorkspace``.
    """
    hopper = gpu is not None and GPU_SPECS[gpu].compute_capability == (9, 0)
    cublas = 4096 * 8 * 1024 if hopper else 4096 * 1024 * 2 + 16 * 1024 * 8
    return cublas + 1024 * 1024


#: Threads that call cuBLAS in a training step: the forward pass runs on the main thread,
#: the backward pass on autograd's thread for the device, and PyTorch keeps one handle,
#: hence one workspace, per thread and stream.
CUBLAS_THREADS = 2


def cuda_terms(
    a: Architecture, peft: str, size: int, gpu: str | None, shards: int
) -> float:
    """Bytes ``torch.cuda.max_memory_allocated`` counts beyond the tensors themselves.

    cuBLAS's workspaces (:func:`cublas_workspace_bytes`, one per calling thread), and the
    caching allocator's rounding (:func:`allocated_block`) of every weight, and of the
    gradient and AdamW's two moments of every trainable one (``size`` bytes an element;
    divided by ``shards`` under FSDP). Activations are multiples of 512 bytes for these
    models; their large-pool rounding is not modelled. Read from PyTorch's source, and not
    yet checked on a GPU.
    """
    rounding = 0
    for elements, trainable, _ in parameter_tensors(a, peft):
        nbytes = size * elements
        extra = allocated_block(nbytes) - nbytes
        rounding += extra * (4 if trainable else 1)
    workspaces = CUBLAS_THREADS * cublas_workspace_bytes(gpu)
    return workspaces + rounding / shards
