"""What ``torch.cuda.max_memory_allocated`` counts on a GPU beyond the tensors
themselves: the CUDA caching allocator's rounding of each block, and cuBLAS's workspaces.
A term of the planner's estimate (:func:`helpers.estimate_training_memory`), read from
PyTorch's source; plain arithmetic, no torch."""

from __future__ import annotations

from ._architecture import Architecture, parameter_tensors
from .gpus import GPU_SPECS

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
    a: Architecture,
    peft: str,
    size: int,
    gpu: str | None,
    shards: int,
    lora_rank: int,
) -> float:
    """Bytes ``torch.cuda.max_memory_allocated`` counts beyond the tensors themselves.

    cuBLAS's workspaces (:func:`cublas_workspace_bytes`, one per calling thread), and the
    caching allocator's rounding (:func:`allocated_block`) of every weight, and of the
    gradient and AdamW's two moments of every trainable one (``size`` bytes an element;
    divided by ``shards`` under FSDP). Activations are multiples of 512 bytes for these
    models; their large-pool rounding is not modelled. Read from PyTorch's source, and
    checked with the planner's estimates against the steps of the H200 record
    (:func:`helpers.gpu_runs`, ``tests/test_gpu_runs.py``).
    """
    rounding = 0
    for elements, trainable, _ in parameter_tensors(
        a, peft, lora_rank=lora_rank
    ):
        nbytes = size * elements
        extra = allocated_block(nbytes) - nbytes
        rounding += extra * (4 if trainable else 1)
    workspaces = CUBLAS_THREADS * cublas_workspace_bytes(gpu)
    return workspaces + rounding / shards
