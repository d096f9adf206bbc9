"""The GPUs' memory as their drivers report it, and the budget derived from it."""

from __future__ import annotations

import helpers
from helpers.gpus import (
    GPU_SPECS,
    closest_known_gpu,
    usable_gpu_gib_of_total,
)

import pytest


def test_usable_memory_is_what_cuda_reports_less_the_reserve():
    assert GPU_SPECS["T4"].nvidia_smi_mib == 15360
    assert helpers.GPU_MEMORY_GIB["T4"] == 15.0
    assert helpers.usable_gpu_gib("T4") == pytest.approx(14.56 - 1.0)
    # a T4 whose driver hands CUDA 14.75 GiB (Colab, older drivers)
    assert usable_gpu_gib_of_total(15_837_691_904) == pytest.approx(13.75)
    for gpu, spec in GPU_SPECS.items():
        assert (
            helpers.usable_gpu_gib(gpu)
            < spec.cuda_total_gib
            < spec.nvidia_smi_mib / 1024
        ), gpu


def test_unknown_gpu():
    with pytest.raises(ValueError, match="T5000"):
        helpers.usable_gpu_gib("T5000")


@pytest.mark.parametrize(
    ("name", "gib", "capability", "expected", "by_name"),
    [
        ("Tesla T4", 14.56, (7, 5), "T4", True),
        ("NVIDIA A100-SXM4-40GB", 39.39, (8, 0), "A100-40GB", True),
        ("NVIDIA A100-SXM4-80GB", 79.14, (8, 0), "A100-80GB", True),
        ("NVIDIA H100 80GB HBM3", 79.11, (9, 0), "H100-80GB", True),
        ("NVIDIA H200", 139.8, (9, 0), "H200", True),
        ("NVIDIA GH200 480GB", 94.5, (9, 0), "H100-80GB", False),
        ("NVIDIA L40S", 44.4, (8, 9), "L4", False),  # not L4 by its name
        ("NVIDIA B200", 178.0, (10, 0), None, False),
    ],
)
def test_the_planner_is_told_the_closest_known_card(
    name, gib, capability, expected, by_name
):
    gpu, why = closest_known_gpu(name, int(gib * 2**30), capability)
    assert gpu == expected
    assert why.startswith(f"{name} is {gpu} in") == by_name
