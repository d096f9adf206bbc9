"""Measure peak memory of a block of code: GPU allocator statistics or process peak on CPU."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

from .gpus import GIB

if TYPE_CHECKING:
    from ._tensor_tracker import TensorMemoryTracker

_PROC_STATUS = Path("/proc/self/status")
_PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


def _proc_status_kib(field: str) -> int:
    for line in _PROC_STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{_PROC_STATUS} has no {field} line")


def _reset_process_peak() -> bool:
    """Reset the kernel's high-water mark (VmHWM) to the current RSS. False if not allowed."""
    try:
        _PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def process_rss_gib() -> float:
    """Resident memory of this process in GiB (``/proc`` where present, else psutil)."""
    if _PROC_STATUS.exists():
        return _proc_status_kib("VmRSS") * 1024 / GIB
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / GIB


class MemoryMonitor:
    """Context manager that records baseline, peak and a timeline of memory in GiB.

    On CUDA it reads the caching allocator (``torch.cuda.max_memory_allocated``): memory of
    tensors on the GPU. On CPU it reads the process: the kernel's peak resident size
    (``VmHWM``, reset at entry through ``/proc/self/clear_refs``) together with a sampling
    thread. Where ``/proc`` is missing or the reset is not allowed, only the sampling thread
    measures, which can miss short peaks; ``method`` says which one was used.

    One monitor per device at a time in a process: entering one resets the device's peak
    counter (CUDA's peak statistics, or the kernel's ``VmHWM``), which would spoil the peak
    of a monitor already running. So entering a second monitor of the same device while
    one is active raises ``RuntimeError``, on the CPU as on CUDA; measure the blocks one
    after the other instead. A CPU monitor inside a CUDA one (or the other way round)
    is allowed: they read different counters.

    Attributes
    ----------
    label, device, method
        What was measured, on which device, and how.
    baseline_gib
        Memory in use at entry.
    peak_gib
        Highest memory in use during the block (includes ``baseline_gib``).
    samples
        ``(seconds since entry, GiB)`` pairs, every ``interval`` seconds.
    elapsed_s
        Wall-clock duration of the block.
    tensor_peak_gib
        With ``track_tensors=True``: the peak memory of tensors alone, the tensors alive at
        entry included (``torch.cuda.max_memory_allocated`` on CUDA, a
        :class:`TensorMemoryTracker` on CPU); ``None`` otherwise. Pass the tensors that
        already exist, such as a model's parameters, as ``existing``.
    phase_peaks_gib
        With ``track_tensors=True``: the tensors' peak in each phase named by
        :meth:`mark`, the largest where a name recurs (such as "forward" in every
        step).

    Raises
    ------
    ValueError
        For a device other than ``"cpu"`` and ``"cuda"``, or an ``interval`` that is not
        a positive number of seconds.
    RuntimeError
        On entering, while another monitor of the same device is active in this process.
    """

    #: The active monitor of each (process, device), whose peak counters are one each.
    _active: ClassVar[dict[tuple[int, str], MemoryMonitor]] = {}

    def __init__(
        self,
        label: str = "",
        device: str | None = None,
        interval: float = 0.05,
        *,
        track_tensors: bool = False,
        existing: Iterable[object] = (),
    ) -> None:
        import torch

        self.label = label
        self.device = device or (
            "cuda" if torch.cuda.is_available() else "cpu"
        )
        if self.device not in {"cpu", "cuda"}:
            raise ValueError(
                f"device must be 'cpu' or 'cuda', got {self.device!r}"
            )
        if not (isinstance(interval, (int, float)) and interval > 0):
            raise ValueError(
                f"interval is the seconds between samples, above 0 (such as 0.05); got {interval!r}"
            )
        self.interval = interval
        self.method = ""
        self.baseline_gib = 0.0
        self.peak_gib = 0.0
        self.elapsed_s = 0.0
        self.samples: list[tuple[float, float]] = []
        self.track_tensors = track_tensors
        self.tensor_peak_gib: float | None = None
        self.phase_peaks_gib: dict[str, float] = {}
        self._marked_peak = 0
        self._existing = list(existing)
        self._tracker: TensorMemoryTracker | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0
        self._kernel_peak = False

    def _current_gib(self) -> float:
        if self.device == "cuda":
            import torch

            return torch.cuda.memory_allocated() / GIB
        return process_rss_gib()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append(
                (time.perf_counter() - self._start, self._current_gib())
            )
            self._stop.wait(self.interval)

    def __enter__(self) -> MemoryMonitor:
        key = (os.getpid(), self.device)
        running = MemoryMonitor._active.get(key)
        if running is not None:
            counter = (
                "CUDA's peak statistics"
                if self.device == "cuda"
                else "the kernel's peak resident size (VmHWM)"
            )
            raise RuntimeError(
                f"MemoryMonitor(label={self.label!r}) cannot start while "
                f"MemoryMonitor(label={running.label!r}) measures {self.device}: starting "
                f"resets {counter}, which that monitor's peak is read from. Measure one "
                "block after the other, or read the inner block from the outer monitor's "
                "samples."
            )
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.method = "CUDA caching allocator peak (torch.cuda.max_memory_allocated)"
        else:
            self._kernel_peak = (
                _PROC_STATUS.exists() and _reset_process_peak()
            )
            self.method = (
                "process peak resident memory (VmHWM) and sampling"
                if self._kernel_peak
                else f"sampling every {self.interval} s (no /proc peak here; short peaks can be missed)"
            )
        self.baseline_gib = self._current_gib()
        if self.track_tensors and self.device == "cpu":
            # imported here: it needs torch, which a monitor of RAM alone does not
            from ._tensor_tracker import TensorMemoryTracker

            self._tracker = TensorMemoryTracker()
            self._tracker.add(self._existing)
            self._tracker.__enter__()
        self._start = time.perf_counter()
        self.samples = [(0.0, self.baseline_gib)]
        self.phase_peaks_gib = {}
        self._marked_peak = 0
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._sample,
            name=f"MemoryMonitor({self.label})",
            daemon=True,
        )
        self._thread.start()
        MemoryMonitor._active[key] = self
        return self

    def mark(self, phase: str) -> None:
        """End a phase (such as "forward") of the block: record the tensors' peak since
        the last mark, or since entry, as ``phase_peaks_gib[phase]``.

        Raises
        ------
        RuntimeError
            Outside the block, or without ``track_tensors=True``.
        """
        if MemoryMonitor._active.get((os.getpid(), self.device)) is not self:
            raise RuntimeError(
                "mark() is for inside the monitor's with block"
            )
        if not self.track_tensors:
            raise RuntimeError(
                "mark() needs MemoryMonitor(track_tensors=True): phases are "
                "peaks of tensor memory"
            )
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
            torch.cuda.reset_peak_memory_stats()  # from the next phase on
        else:
            assert self._tracker is not None
            peak = self._tracker.restart_peak()
        self._marked_peak = max(self._marked_peak, peak)
        self.phase_peaks_gib[phase] = max(
            self.phase_peaks_gib.get(phase, 0.0), peak / GIB
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        key = (os.getpid(), self.device)
        if MemoryMonitor._active.get(key) is self:
            del MemoryMonitor._active[key]
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
        if self._tracker is not None:
            self._tracker.__exit__(exc_type, exc, traceback)
            self.tensor_peak_gib = (
                max(self._tracker.peak_bytes, self._marked_peak) / GIB
            )
            self._tracker = None
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.elapsed_s = time.perf_counter() - self._start
        end = self._current_gib()
        self.samples.append((self.elapsed_s, end))
        peak = max(value for _, value in self.samples)
        if self.device == "cuda":
            import torch

            # the peak since the last mark, and the marked phases' before it
            allocated = max(
                torch.cuda.max_memory_allocated(), self._marked_peak
            )
            peak = max(peak, allocated / GIB)
            if self.track_tensors:
                self.tensor_peak_gib = allocated / GIB
        elif self._kernel_peak:
            peak = max(peak, _proc_status_kib("VmHWM") * 1024 / GIB)
        self.peak_gib = peak

    def __repr__(self) -> str:
        return (
            f"MemoryMonitor(label={self.label!r}, device={self.device!r}, baseline_gib={self.baseline_gib:.2f}, "
            f"peak_gib={self.peak_gib:.2f}, elapsed_s={self.elapsed_s:.1f})"
        )
