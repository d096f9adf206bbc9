"""One process's measurement: build the model once, then time its training steps at each
batch size under :class:`helpers.MemoryMonitor`."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable
from typing import Any

from ..gpus import GIB
from ..memory import MemoryMonitor, process_rss_gib
from ._half import half_matmuls_in_fp32
from ._model import build_autogluon_text_model
from ._types import NotEnoughMemoryError, StepMeasurement, StepSettings

#: Distributes a built model among ranks: ``(model, optimizer)`` in, the model to step and
#: its optimizer out (FSDP replaces the parameters, so it builds a new optimizer).
Shard = Callable[[Any, Any], tuple[Any, Any]]


def measure_process(
    settings: StepSettings, shard: Shard | None = None
) -> list[StepMeasurement]:
    """Measure ``settings`` in this process: the whole model, or with ``shard`` this
    rank's part of it (on the CPU). Raises :class:`NotEnoughMemoryError` before building
    anything where less than ``settings.needs_gib`` is free."""
    import torch

    s = settings
    device = "cuda" if torch.cuda.is_available() and s.ranks == 1 else "cpu"
    _require_free_memory(s.needs_gib, device)
    gc.collect()
    before_build = (
        process_rss_gib()
        if device == "cpu"
        else torch.cuda.memory_allocated() / GIB
    )
    model, optimizer = build_autogluon_text_model(
        s.checkpoint,
        peft=s.peft,
        gradient_checkpointing=s.gradient_checkpointing,
        pretrained=False,
        overrides=s.overrides,
        device=device,
        precision=s.precision,
    )
    model.train()
    parameters = list(model.parameters())
    counts = {
        "total_params": sum(p.numel() for p in parameters),
        "trainable_params": sum(
            p.numel() for p in parameters if p.requires_grad
        ),
        "weights_gib": sum(p.numel() * p.element_size() for p in parameters)
        / GIB,
    }
    del parameters
    vocab = min(model.config.vocab_size, 1000)
    step_model, optimizer = (
        shard(model, optimizer) if shard is not None else (model, optimizer)
    )
    built = StepMeasurement(
        model=s.label or s.checkpoint,
        peft=s.peft,
        gradient_checkpointing=s.gradient_checkpointing,
        batch_size=0,
        seq_len=s.seq_len,
        **counts,
        peak_gib=0.0,
        tensor_peak_gib=0.0,
        step_s=0.0,
        device=device,
        precision=s.precision,
        ranks=s.ranks,
        optimizer=optimizer_implementation(optimizer),
    )
    results = []
    for batch_size in s.batch_sizes:
        monitor, seconds = _measure_batch(
            step_model, optimizer, s, batch_size, vocab, device
        )
        results.append(
            dataclasses.replace(
                built,
                batch_size=batch_size,
                peak_gib=monitor.peak_gib - before_build,
                tensor_peak_gib=monitor.tensor_peak_gib,
                step_s=seconds,
                phase_peaks_gib=dict(monitor.phase_peaks_gib),
            )
        )
    del model, step_model, optimizer
    gc.collect()
    return results


def _require_free_memory(needs_gib: float | None, device: str) -> None:
    """Raise :class:`NotEnoughMemoryError` where less than ``needs_gib`` is free."""
    if needs_gib is None:
        return
    free = _free_gib(device)
    if free < needs_gib:
        raise NotEnoughMemoryError(
            f"needs about {needs_gib:.1f} GiB of free "
            f"{'GPU' if device == 'cuda' else 'host'} memory, and "
            f"{free:.1f} GiB is free"
        )


def _measure_batch(
    model,
    optimizer,
    settings: StepSettings,
    batch_size: int,
    vocab: int,
    device: str,
) -> tuple[MemoryMonitor, float]:
    """``settings.steps`` training steps at ``batch_size``, watched by a
    :class:`MemoryMonitor`; the monitor, and the fastest step's seconds."""
    existing = [
        *model.parameters(),
        *model.buffers(),
        *_optimizer_tensors(optimizer),
    ]
    dtype = next(model.parameters()).dtype
    durations = []
    with (
        half_matmuls_in_fp32(dtype, device),
        MemoryMonitor(
            label=f"{settings.checkpoint} b{batch_size}",
            device=device,
            track_tensors=True,
            existing=existing,
        ) as monitor,
    ):
        for _ in range(settings.steps):
            start = time.perf_counter()
            training_step(
                model,
                optimizer,
                batch_size,
                settings.seq_len,
                vocab,
                device,
                mark=monitor.mark,
            )
            durations.append(time.perf_counter() - start)
    return monitor, min(durations)


def training_step(
    model,
    optimizer,
    batch_size: int,
    seq_len: int,
    vocab: int,
    device: str,
    mark: Callable[[str], None] | None = None,
) -> None:
    """One step of AutoGluon's text model on a seeded random batch: forward, backward,
    optimizer step, as one micro-batch of AutoGluon's fit.

    The gradients are not zeroed: from the second step on, the previous step's are alive
    through the forward and backward pass, as in the fit. There, gradient accumulation
    (AutoGluon's default) keeps them between micro-batches, and Lightning zeroes them
    after the forward pass, not before (``Closure.closure`` in
    ``lightning/pytorch/loops/optimization/automatic.py``). The values are a sum over
    steps; memory does not depend on them.

    ``mark``, such as :meth:`helpers.MemoryMonitor.mark`, is called at the end of each
    phase: "forward", "backward", "optimizer step"."""
    mark = mark or (lambda phase: None)
    import torch

    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(
        0, vocab, (batch_size, seq_len), generator=generator
    ).to(device)
    segments = torch.zeros_like(tokens)
    lengths = torch.full(
        (batch_size,), seq_len, dtype=torch.long, device=device
    )
    labels = torch.randint(0, 2, (batch_size,), generator=generator).to(
        device
    )
    _, logits = model(tokens, segments, lengths)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    mark("forward")
    loss.backward()
    mark("backward")
    optimizer.step()
    mark("optimizer step")


def optimizer_implementation(optimizer) -> str:
    """Which of AdamW's implementations runs: "foreach", "fused" or "single-tensor"
    (several, joined by "+", where groups differ). A group that sets neither flag gets
    PyTorch's default for its tensors (``_default_to_fused_or_foreach`` in
    ``torch/optim/optimizer.py``): foreach on CUDA, the single-tensor loop on a CPU."""
    from torch.optim.optimizer import _default_to_fused_or_foreach

    kinds = set()
    for group in optimizer.param_groups:
        fused, foreach = group.get("fused"), group.get("foreach")
        if fused is None and foreach is None:
            fused, foreach = _default_to_fused_or_foreach(
                group["params"], differentiable=False, use_fused=False
            )
        kinds.add(
            "fused" if fused else "foreach" if foreach else "single-tensor"
        )
    return "+".join(sorted(kinds))


def _optimizer_tensors(optimizer) -> list:
    """The optimizer's state tensors (AdamW's two moments and step counts, once created)."""
    return [
        value
        for state in optimizer.state.values()
        for value in state.values()
    ]


def _free_gib(device: str) -> float:
    """Memory free for a new model: the GPU's on CUDA, else the host's available memory."""
    if device == "cuda":
        import torch

        return torch.cuda.mem_get_info()[0] / GIB
    import psutil

    return psutil.virtual_memory().available / GIB
