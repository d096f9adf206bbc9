"""The GPUs' memory as their drivers report it, and the budget derived from it."""

from __future__ import annotations

import helpers
from helpers.gpus import GPU_SPECS, usable_gpu_gib_of_total

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
