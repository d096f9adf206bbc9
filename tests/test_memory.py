from __future__ import annotations

from helpers import memory
from helpers.memory import MemoryMonitor, process_rss_gib

import time

import numpy as np
import psutil
import pytest

BUFFER_BYTES = 300 * 1024**2  # 0.29 GiB


def _allocate() -> np.ndarray:
    # ones, not empty: every page is touched and resident
    return np.ones(BUFFER_BYTES // 8)


@pytest.fixture
def no_proc(monkeypatch, tmp_path):
    monkeypatch.setattr(
        memory, "_PROC_STATUS", tmp_path / "no-proc" / "status"
    )
    monkeypatch.setattr(
        memory, "_PROC_CLEAR_REFS", tmp_path / "no-proc" / "clear_refs"
    )


def _kernel_peak_available() -> bool:
    return memory._PROC_STATUS.exists() and memory._reset_process_peak()


needs_proc = pytest.mark.skipif(
    not _kernel_peak_available(),
    reason="needs /proc/self/clear_refs (Linux)",
)


def test_process_rss_matches_psutil():
    assert process_rss_gib() == pytest.approx(
        psutil.Process().memory_info().rss / 1024**3, abs=0.05
    )


def test_process_rss_sees_an_allocation():
    before = process_rss_gib()
    buffer = _allocate()
    assert process_rss_gib() - before >= 0.25
    del buffer


@needs_proc
def test_cpu_peak_of_a_block():
    with MemoryMonitor("alloc", device="cpu", interval=0.01) as monitor:
        buffer = _allocate()
        time.sleep(0.05)
        del buffer
    assert monitor.device == "cpu"
    assert "VmHWM" in monitor.method
    assert monitor.peak_gib - monitor.baseline_gib >= 0.25
    assert monitor.peak_gib >= max(gib for _, gib in monitor.samples)
    assert "alloc" in repr(monitor)


@needs_proc
def test_kernel_peak_catches_what_sampling_misses(monkeypatch):
    # no sampling thread at all
    monkeypatch.setattr(MemoryMonitor, "_sample", lambda self: None)
    with MemoryMonitor(device="cpu") as monitor:
        buffer = _allocate()
        del buffer
    # the buffer was gone
    assert (
        max(gib for _, gib in monitor.samples) - monitor.baseline_gib < 0.2
    )
    assert monitor.peak_gib - monitor.baseline_gib >= 0.25  # VmHWM saw it


def test_samples_timeline():
    with MemoryMonitor(device="cpu", interval=0.01) as monitor:
        time.sleep(0.2)
    times = [t for t, _ in monitor.samples]
    assert len(times) >= 5
    assert times[0] == 0.0
    assert all(a <= b for a, b in zip(times, times[1:]))
    assert times[-1] == monitor.elapsed_s >= 0.2
    assert all(gib > 0 for _, gib in monitor.samples)
    assert monitor.samples[0][1] == monitor.baseline_gib


def test_monitor_can_be_used_twice():
    monitor = MemoryMonitor(device="cpu", interval=0.01)
    with monitor:
        time.sleep(0.02)
    with monitor:
        time.sleep(0.02)
    assert monitor.samples[0] == (0.0, monitor.baseline_gib)
    assert monitor.elapsed_s < 1


@needs_proc
def test_a_second_monitor_of_the_device_is_refused_and_spoils_nothing():
    # entering the inner one would have reset VmHWM, losing the outer one's peak
    with MemoryMonitor(label="outer", device="cpu") as outer:
        buffer = _allocate()
        del buffer
        inner = MemoryMonitor(label="inner", device="cpu")
        with pytest.raises(
            RuntimeError, match=r"label='outer'\) measures cpu"
        ):
            inner.__enter__()
    assert (
        outer.peak_gib - outer.baseline_gib >= 0.9 * BUFFER_BYTES / 1024**3
    )
    with inner:  # the outer one is done: the device is free again
        pass
    assert inner.elapsed_s < 1


def test_without_proc_falls_back_to_psutil_and_sampling(no_proc):
    assert not memory._PROC_STATUS.exists()
    # would raise FileNotFoundError if it read the missing file
    rss = process_rss_gib()
    assert rss == pytest.approx(
        psutil.Process().memory_info().rss / 1024**3, abs=0.05
    )
    with MemoryMonitor(device="cpu", interval=0.01) as monitor:
        buffer = _allocate()
        time.sleep(0.1)
    del buffer
    assert "sampling" in monitor.method and "VmHWM" not in monitor.method
    assert monitor.peak_gib - monitor.baseline_gib >= 0.25


def test_without_permission_to_reset_falls_back_to_sampling(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(
        memory,
        "_PROC_CLEAR_REFS",
        tmp_path / "missing-folder" / "clear_refs",
    )
    with MemoryMonitor(device="cpu", interval=0.01) as monitor:
        pass
    assert "sampling" in monitor.method and "VmHWM" not in monitor.method


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:0", "CPU"])
def test_invalid_device(device):
    with pytest.raises(ValueError, match="device"):
        MemoryMonitor(device=device)


def test_default_device_on_this_machine():
    import torch

    assert MemoryMonitor().device == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )


def test_proc_status_reader_reports_missing_field(tmp_path, monkeypatch):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmRSS:\t  2048 kB\n")
    monkeypatch.setattr(memory, "_PROC_STATUS", status)
    assert process_rss_gib() == 2048 / 1024**2
    with pytest.raises(RuntimeError, match="VmHWM"):
        memory._proc_status_kib("VmHWM")


def test_tensor_tracker_counts_live_storages_and_their_peak():
    from helpers._tensor_tracker import TensorMemoryTracker

    import torch

    existing = torch.zeros(1000)  # 4000 bytes
    tracker = TensorMemoryTracker()
    # a view shares its storage: counted once
    tracker.add([existing, existing[:10], "not a tensor"])
    assert tracker.current_bytes == 4000
    with tracker:
        a = torch.ones(2000)  # +8000
        b = a * 2  # +8000, peak 20000
        del a, b
        c = torch.ones(500)  # +2000
    assert tracker.peak_bytes == 20000
    assert tracker.current_bytes == 6000
    del c
    assert tracker.current_bytes == 4000


def test_tensor_tracker_follows_resized_storages_and_counts_shards():
    from helpers._tensor_tracker import TensorMemoryTracker

    import torch
    from torch.distributed.tensor import DTensor

    resize = torch.UntypedStorage.resize_
    tracker = TensorMemoryTracker()
    with tracker:
        gathered = torch.ones(1000)  # +4000, as FSDP gathers a unit
        gathered.untyped_storage().resize_(0)  # and frees it in place
        assert tracker.current_bytes == 0
        gathered.untyped_storage().resize_(2000)  # gathers it again
    assert tracker.current_bytes == 2000 and tracker.peak_bytes == 4000
    assert torch.UntypedStorage.resize_ is resize  # put back on exit

    # a DTensor counts as its local shard (here: one process, one shard)
    import torch.distributed as dist

    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor import Shard

        mesh = init_device_mesh("cpu", (1,))
        shard = DTensor.from_local(torch.ones(300), mesh, [Shard(0)])
        counted = TensorMemoryTracker()
        counted.add([shard])
        assert counted.current_bytes == 1200
    finally:
        dist.destroy_process_group()


def test_monitor_tracks_tensors_of_a_training_step():
    import torch

    layer = torch.nn.Linear(256, 256)
    with MemoryMonitor(
        track_tensors=True, existing=layer.parameters(), device="cpu"
    ) as monitor:
        layer(torch.ones(64, 256)).sum().backward()
    weights = (256 * 256 + 256) * 4
    # the peak is in the backward pass: weights, their gradients, and the saved input
    # (the output was freed once summed), and two 4-byte scalars: the loss and its gradient
    assert (
        monitor.tensor_peak_gib * 1024**3
        == 2 * weights + 64 * 256 * 4 + 2 * 4
    )
    untracked = MemoryMonitor(device="cpu")
    with untracked:
        pass
    assert untracked.tensor_peak_gib is None


def test_marked_phases_have_their_own_peaks():
    import torch

    with MemoryMonitor(device="cpu", track_tensors=True) as monitor:
        big = torch.zeros(2**20)  # 4 MiB, freed within the phase
        del big
        kept = torch.zeros(2**18)  # 1 MiB, alive into the next phase
        monitor.mark("forward")
        more = torch.zeros(2**18)
        monitor.mark("backward")
        del kept, more
    mib = {k: v * 1024 for k, v in monitor.phase_peaks_gib.items()}
    assert mib["forward"] == pytest.approx(4, abs=0.01)
    assert mib["backward"] == pytest.approx(
        2, abs=0.01
    )  # from what it started with
    assert monitor.tensor_peak_gib * 1024 == pytest.approx(4, abs=0.01)
    with pytest.raises(RuntimeError, match="track_tensors"):
        with MemoryMonitor(device="cpu") as plain:
            plain.mark("forward")
    with pytest.raises(RuntimeError, match="with block"):
        monitor.mark("after")
