"""Memory of the GPUs the book plans for (nominal capacity in GiB)."""

from __future__ import annotations

#: Nominal memory of each GPU in GiB. Usable memory is lower: ECC and the CUDA context take
#: a few hundred MiB (a T4 shows about 15 GiB in ``nvidia-smi``).
GPU_MEMORY_GIB: dict[str, float] = {
    "T4": 16.0,
    "L4": 24.0,
    "A10G": 24.0,
    "A100-40GB": 40.0,
    "A100-80GB": 80.0,
    "H100-80GB": 80.0,
}

#: The lines drawn on memory charts.
CHART_GPUS: tuple[str, ...] = ("T4", "A10G", "A100-40GB", "A100-80GB")
