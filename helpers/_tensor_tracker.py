"""Tensor memory on a CPU, counted the way ``torch.cuda.max_memory_allocated`` counts it
on a GPU: machinery of ``helpers.MemoryMonitor(track_tensors=True)``."""

from __future__ import annotations

import weakref
from collections.abc import Iterable


class TensorMemoryTracker:
    """Count the bytes of live tensor storages on any device, and their peak.

    On a GPU, ``torch.cuda.max_memory_allocated`` gives the memory of tensors; a CPU has no
    such counter, and the process's resident memory also holds the runtime and the
    allocator's free lists. This tracker gives the CPU the GPU's measure: while active, it
    sees every tensor an operator returns (through a ``TorchDispatchMode``, in the forward
    pass, the backward pass and the optimizer step alike) and counts each storage once,
    from its creation until it is freed. Tensors that existed before are counted through
    :meth:`add`. A storage resized in place (``UntypedStorage.resize_``, as FSDP frees and
    re-gathers its unsharded parameters) is counted at its new size. Buffers an operator
    uses internally and frees before returning are not tensors and are not counted.
    """

    def __init__(self) -> None:
        import torch
        from torch.utils._python_dispatch import (
            TorchDispatchMode,
            is_traceable_wrapper_subclass,
        )
        from torch.utils._pytree import tree_leaves

        tracker = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
                out = func(*args, **(kwargs or {}))
                tracker.add(tree_leaves(out))
                return out

        self._mode = _Mode()
        self._tensor = torch.Tensor
        self._is_wrapper = is_traceable_wrapper_subclass
        self._live: dict[int, int] = {}
        self.current_bytes = 0
        self.peak_bytes = 0

    def add(self, tensors: Iterable[object]) -> None:
        """Count the storages of ``tensors`` (other objects are ignored; each storage once).

        A tensor that wraps others (a ``DTensor``, whose data is this process's shard) is
        counted by the tensors it wraps.
        """
        for tensor in tensors:
            if not isinstance(tensor, self._tensor):
                continue
            if self._is_wrapper(tensor):
                names, _ = tensor.__tensor_flatten__()
                self.add(getattr(tensor, name) for name in names)
                continue
            if tensor.is_meta:
                continue
            storage = tensor.untyped_storage()
            key = id(storage)
            if key in self._live:
                continue
            nbytes = storage.nbytes()
            self._live[key] = nbytes
            self.current_bytes += nbytes
            if self.current_bytes > self.peak_bytes:
                self.peak_bytes = self.current_bytes
            weakref.finalize(storage, self._free, key)

    def restart_peak(self) -> int:
        """The peak in bytes since the tracker started or last restarted; from now on the
        peak counts up from what is alive now (one phase of a step at a time)."""
        peak, self.peak_bytes = self.peak_bytes, self.current_bytes
        return peak

    def _free(self, key: int) -> None:
        self.current_bytes -= self._live.pop(key, 0)

    def _resized(self, storage: object) -> None:
        key = id(storage)
        if key in self._live:
            nbytes = storage.nbytes()
            self.current_bytes += nbytes - self._live[key]
            self._live[key] = nbytes
            self.peak_bytes = max(self.peak_bytes, self.current_bytes)

    def __enter__(self) -> TensorMemoryTracker:
        import torch

        tracker, resize = self, torch.UntypedStorage.resize_

        def resize_and_count(storage, size):  # noqa: ANN001
            result = resize(storage, size)
            tracker._resized(storage)
            return result

        self._resize = resize
        torch.UntypedStorage.resize_ = resize_and_count
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        import torch

        self._mode.__exit__(*exc)
        torch.UntypedStorage.resize_ = self._resize
