"""16-bit matrix products on a CPU without 16-bit instructions: computed in fp32, rounded
once, as 16-bit hardware does; machinery of :func:`helpers.measure_training_steps`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def native_half_matmul(dtype: object) -> bool:
    """Whether this CPU multiplies ``dtype`` (``torch.bfloat16`` or ``torch.float16``)
    matrices in hardware, through oneDNN (AVX512-BF16, AMX or AVX512-FP16). Without, PyTorch
    falls back to a generic kernel: on an AMD EPYC Zen 3 (AVX2), a bf16 product of a
    32 x 4,096 by 4,096 x 10,240 pair runs 3 times slower than in fp32, its weight gradient
    7 times."""
    import torch

    if dtype == torch.bfloat16:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if dtype == torch.float16:
        return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())
    return True


@contextlib.contextmanager
def half_matmuls_in_fp32(dtype: object, device: str) -> Iterator[None]:
    """Within the block, every matrix product of ``dtype`` tensors (``mm``, ``addmm``,
    ``bmm``, ``baddbmm``) is computed in fp32 and rounded to ``dtype`` once, where
    ``device`` is ``"cpu"`` and this CPU has no instructions for ``dtype``
    (:func:`native_half_matmul`); on a GPU, on a CPU that has them, and for fp32, nothing
    changes.

    That is what 16-bit hardware does (it accumulates in fp32 and rounds the result), at
    fp32's speed. Every tensor an operator returns has the dtype and size it has on 16-bit
    hardware, so what :class:`helpers.MemoryMonitor` counts as tensors is unchanged: the
    fp32 copies live inside one operator and are freed before it returns, like a kernel's
    workspace. Enter it before the monitor, so that the monitor sees the products' results
    and not their fp32 copies.
    """
    import torch

    if (
        device != "cpu"
        or dtype not in (torch.bfloat16, torch.float16)
        or native_half_matmul(dtype)
    ):
        yield
        return
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    products = {
        aten.mm.default,
        aten.addmm.default,
        aten.bmm.default,
        aten.baddbmm.default,
    }

    class _InFp32(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            kwargs = kwargs or {}
            if func in products and any(
                isinstance(a, torch.Tensor) and a.dtype == dtype
                for a in args
            ):
                wide = [
                    a.float() if isinstance(a, torch.Tensor) else a
                    for a in args
                ]
                return func(*wide, **kwargs).to(dtype)
            return func(*args, **kwargs)

    with _InFp32():
        yield
