"""The GPUs the book plans for: their memory as the driver reports it, and the
budget a training step's tensors may use (:func:`usable_gpu_gib`).

A card's memory shrinks three times before tensors see it. ``nvidia-smi`` reports
a total in MiB (a T4: 15,360 MiB, not the 16 GB of its datasheet). CUDA sees less:
the driver keeps some, and ``torch.cuda.get_device_properties(0).total_memory``
(the "total capacity" of PyTorch's out-of-memory message) is what is left (a T4:
14.56 GiB under recent drivers). Then the CUDA context takes its share, and the
caching allocator holds blocks that no tensor uses at the peak: what is left of
those is the budget :func:`helpers.will_it_fit` checks
``torch.cuda.max_memory_allocated`` against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._checks import require_choice

#: Bytes in a GiB (every memory figure of the book is in GiB).
GIB = 1024**3


@dataclass(frozen=True)
class GPUMemory:
    """What the driver reports of one card, and its CUDA compute capability."""

    #: "Total" of ``nvidia-smi`` (FB memory), in MiB as printed
    nvidia_smi_mib: int
    #: ``torch.cuda.get_device_properties(0).total_memory`` in GiB, as PyTorch
    #: prints it in "GPU 0 has a total capacity of ... GiB" (the lowest seen:
    #: newer drivers keep more)
    cuda_total_gib: float
    #: (major, minor), which sets cuBLAS's workspace (see helpers.planner)
    compute_capability: tuple[int, int]


#: The cards, as their drivers report them. Sources, per figure:
#:
#: - nvidia-smi totals, all six: modal-labs/modal-client pull request 2797
#:   ("docs fix: nvidia quotes GB on their GPUs not GiB", 2025-01-23), which
#:   lists H100 81559, A100 80GB 81920, A100 40GB 40960, A10 23028, L4 23034
#:   and T4 15360 MiB. Seen again: T4 15360 MiB in robbyant-research/MagicQuill
#:   issue 57 (driver 535.183.01); A10G 23028 MiB in NVIDIA/DCGM issue 232
#:   (driver 535.247.01); "NVIDIA H100 80GB HBM3" 81559 MiB in NVIDIA/nccl
#:   issue 1264 and wilicc/gpu-burn issue 114; A800-SXM4-80GB (the A100's
#:   export variant) 81920 MiB in dexmal/dexbotic issue 41.
#: - CUDA totals, from PyTorch's out-of-memory messages: T4 14.56 GiB
#:   (Zheng-Chong/CatVTON issue 133 on GCP, AlphaGPU/leetgpu-challenges issue
#:   52; Colab's older driver showed 14.75, hpcaitech/Open-Sora issue 697);
#:   L4 22.03 GiB (ArcInstitute/evo2 issue 190); A10 21.99 GiB
#:   (zai-org/CogVLM issue 236; no report of an A10G found: it is an A10 with
#:   the same 23028 MiB in nvidia-smi, so the A10's figure stands in);
#:   A100-SXM4-40GB 42298834944 bytes = 39.39 GiB (deviceQuery in
#:   bottlerocket-os/bottlerocket pull request 3873; 39.50 in
#:   TianheWu/CoSeR issue 10); A100 80GB 79.14 GiB (lianqi1008/Control-GIC
#:   issue 6); H100 80GB 79.11 GiB (vllm-project/vllm issue 27508).
#: - H200: the book's own ``make gpu-check`` run of 2026-12-04
#:   (``helpers/data/gpu_runs/2026-12-04-h200``): ``nvidia-smi`` 143771 MiB (driver
#:   580.159.04), ``total_memory`` 150,109,880,320 bytes = 139.80 GiB.
#: - Compute capabilities: NVIDIA's CUDA GPUs list (T4 7.5, A10G 8.6, L4 8.9,
#:   A100 8.0, H100 and H200 9.0).
GPU_SPECS: dict[str, GPUMemory] = {
    "T4": GPUMemory(15360, 14.56, (7, 5)),
    "L4": GPUMemory(23034, 22.03, (8, 9)),
    "A10G": GPUMemory(23028, 21.99, (8, 6)),
    "A100-40GB": GPUMemory(40960, 39.39, (8, 0)),
    "A100-80GB": GPUMemory(81920, 79.14, (8, 0)),
    "H100-80GB": GPUMemory(81559, 79.11, (9, 0)),
    "H200": GPUMemory(143771, 139.80, (9, 0)),
}

#: Memory of each GPU in GiB, as ``nvidia-smi`` reports it in MiB, divided by 1024
#: (a T4 has 15.0 GiB). What CUDA can use is less, see :func:`usable_gpu_gib`.
GPU_MEMORY_GIB: dict[str, float] = {
    gpu: spec.nvidia_smi_mib / 1024 for gpu, spec in GPU_SPECS.items()
}

#: The CUDA context, loaded lazily (PyTorch sets ``CUDA_MODULE_LOADING=LAZY``):
#: pytorch/pytorch pull request 86509 measured 287,047,680 bytes (274 MiB) for
#: it, against 666,632,192 loaded eagerly; cuBLAS's and cuDNN's kernels add to it
#: as they load. Rounded up to 0.5 GiB.
CUDA_CONTEXT_GIB = 0.5

#: Blocks the caching allocator holds at the peak but cannot hand out (freed
#: pieces too small for the next request). It depends on the order of
#: allocations; 0.5 GiB is a judgement, not a measurement.
ALLOCATOR_SLACK_GIB = 0.5

#: What :func:`usable_gpu_gib` keeps from CUDA's total, in GiB, for the CUDA context
#: and the allocator's slack.
GPU_RESERVE_GIB = CUDA_CONTEXT_GIB + ALLOCATOR_SLACK_GIB


def usable_gpu_gib_of_total(total_bytes: int) -> float:
    """The memory, in GiB, that one training step's tensors may take on a card of
    which CUDA reports ``total_bytes`` (``torch.cuda.get_device_properties(0)
    .total_memory``): the total less :data:`GPU_RESERVE_GIB`, for the CUDA context
    and the caching allocator's slack. The one place the budget is derived."""
    return total_bytes / GIB - GPU_RESERVE_GIB


def usable_gpu_gib(gpu: str) -> float:
    """The memory, in GiB, that one training step's tensors may take on ``gpu``.

    :func:`usable_gpu_gib_of_total` of what CUDA reports for the card
    (:data:`GPU_SPECS`): a T4, 14.56 - 1.0 = 13.56 GiB. This is the budget for
    ``torch.cuda.max_memory_allocated``, and so for
    :func:`helpers.estimate_training_memory` on CUDA.

    Raises
    ------
    ValueError
        For a GPU not in :data:`GPU_SPECS`.
    TypeError
        For a ``gpu`` that is not a name (a list of names, its memory).
    """
    require_choice(gpu, "GPU", GPU_SPECS)
    return usable_gpu_gib_of_total(GPU_SPECS[gpu].cuda_total_gib * GIB)


def closest_known_gpu(
    name: str, total_bytes: int, capability: tuple[int, int]
) -> tuple[str | None, str]:
    """The card of :data:`GPU_SPECS` to tell the planner about a card CUDA names
    ``name`` (``torch.cuda.get_device_name()``), and why.

    The card itself where its name is known (of two, the one whose CUDA total is
    nearest ``total_bytes``: A100-40GB or -80GB); else a known card of the same
    compute ``capability``, which is all the planner reads of a card (cuBLAS's
    workspace); else ``None``.
    """
    words = re.split(r"[\s-]+", name.upper())  # NVIDIA A100-SXM4-40GB
    named = [gpu for gpu in GPU_SPECS if gpu.split("-")[0] in words]
    if named:
        gpu = min(
            named,
            key=lambda g: abs(
                GPU_SPECS[g].cuda_total_gib - total_bytes / GIB
            ),
        )
        return gpu, f"{name} is {gpu} in helpers.gpus.GPU_SPECS"
    same = [
        gpu
        for gpu, spec in GPU_SPECS.items()
        if spec.compute_capability == tuple(capability)
    ]
    if same:
        return same[0], (
            f"{name} is not in helpers.gpus.GPU_SPECS; {same[0]} has its "
            f"compute capability {capability[0]}.{capability[1]}, which is "
            "all the planner reads of a card"
        )
    return None, f"{name} is not in helpers.gpus.GPU_SPECS: gpu=None"


def this_gpu() -> str | None:
    """The card of :data:`GPU_SPECS` that stands for this machine's first CUDA device
    (:func:`closest_known_gpu`), to pass as ``gpu=`` to
    :func:`helpers.estimate_training_memory`; ``None`` without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return None
    properties = torch.cuda.get_device_properties(0)
    gpu, _ = closest_known_gpu(
        properties.name,
        properties.total_memory,
        (properties.major, properties.minor),
    )
    return gpu


#: The lines drawn on memory charts.
CHART_GPUS: tuple[str, ...] = ("T4", "A10G", "A100-40GB", "A100-80GB")
