"""Real training steps of AutoGluon's text model, to measure memory and time of large encoders.

AutoGluon's own pieces are used, in the order ``fit`` uses them: its model class
(``HFAutoModelForTextPrediction``, which keeps only the encoder of a T5), its PEFT injection
(``apply_peft_adaptation``), its rules for what stays trainable, and its parameter groups,
followed by an AdamW step. With ``pretrained=False`` the architecture is built from its
configuration with stand-in weights, so FLAN-T5-XL can be measured offline on a CPU.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from ._measuring_server import NotEnoughMemoryError
from .memory import GIB, MemoryMonitor, process_rss_gib
from .planner import MULTI_GPU_STRATEGIES, PRECISIONS, precision_mode


@dataclass(frozen=True)
class StepMeasurement:
    """Peak memory and duration of training steps for one configuration."""

    model: str
    peft: str
    gradient_checkpointing: bool
    batch_size: int
    seq_len: int
    total_params: int
    trainable_params: int
    weights_gib: float  #: memory of all weights
    peak_gib: float  #: step peak above what the process held before the model was built
    tensor_peak_gib: float  #: step peak of tensors alone: weights, gradients, optimizer states, activations
    step_s: float  #: seconds of one step (the fastest of the measured steps)
    device: str
    #: "32", or "bf16-true" / "16-true": weights in 16 bits
    precision: str = "32"
    #: processes that trained the model together (each measured on its own)
    ranks: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


def build_autogluon_text_model(
    checkpoint: str,
    *,
    peft: str,
    gradient_checkpointing: bool,
    pretrained: bool = True,
    overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    precision: str = "32",
):
    """AutoGluon's text model for binary classification with PEFT applied as ``fit`` does.

    Returns ``(model, optimizer)``, the model on ``device`` with its weights in
    ``precision`` (``"32"``, or ``"bf16-true"`` / ``"16-true"`` as Lightning converts the
    model for them). ``peft="full"`` is full finetuning. ``overrides`` are further
    AutoGluon hyperparameters, such as ``optim.lora.filter``.

    With ``pretrained=False`` the weights are stand-ins (:func:`_stand_in_weights`): memory
    and time do not depend on the values, and drawing random ones for FLAN-T5-XL takes
    30 s. The model is then built without weights (on PyTorch's meta device) and each
    weight is created once, on ``device`` and in ``precision``: FLAN-T5-XXL's encoder in
    bf16 takes 8.9 GiB, never the 17.7 GiB of its fp32 build, and a GPU's model never
    passes through the host's memory.
    """
    import torch
    from autogluon.multimodal.models.hf_text import (
        HFAutoModelForTextPrediction,
    )
    from autogluon.multimodal.models.utils import apply_peft_adaptation
    from autogluon.multimodal.optim.lr.utils import apply_layerwise_lr_decay
    from autogluon.multimodal.optim.utils import (
        get_norm_layer_param_names,
        get_peft_param_names,
    )
    from autogluon.multimodal.utils.config import get_config

    config = get_config(
        problem_type="binary",
        presets="multilingual",
        overrides={
            "optim.peft": None if peft == "full" else peft,
            "model.hf_text.checkpoint_name": checkpoint,
            **(overrides or {}),
        },
    )
    with contextlib.nullcontext() if pretrained else _without_weights():
        model = HFAutoModelForTextPrediction(
            prefix="hf_text",
            checkpoint_name=checkpoint,
            num_classes=2,
            pretrained=pretrained,
            gradient_checkpointing=gradient_checkpointing,
        )
        model = apply_peft_adaptation(model, config)
    model.to(dtype=_dtype(precision))  # stand-ins: still shapes, no memory
    if not pretrained:
        _stand_in_weights(model, device)
    model.to(device)
    trainable_names = (
        get_peft_param_names(get_norm_layer_param_names(model), peft=peft)
        if peft != "full"
        else None
    )
    groups = apply_layerwise_lr_decay(
        model,
        lr=config.optim.lr,
        lr_decay=config.optim.lr_decay,
        weight_decay=config.optim.weight_decay,
        peft=None if peft == "full" else peft,
        trainable_param_names=trainable_names,
    )
    optimizer = torch.optim.AdamW(groups, lr=config.optim.lr)
    return model, optimizer


@contextlib.contextmanager
def _without_weights() -> Iterator[None]:
    """Build models with their parameters on the meta device (shapes, no memory) and their
    buffers as usual, without initialising anything (``torch.nn.init`` and the models'
    own ``_init_weights`` do nothing), with their tied weights tied."""
    from unittest import mock

    import torch
    from transformers import PreTrainedModel
    from transformers.initialization import no_init_weights

    register = torch.nn.Module.register_parameter

    def register_on_meta(module, name, parameter):  # noqa: ANN001
        # a parameter already on the meta device is registered as it is: ties stay ties
        if parameter is not None and not parameter.is_meta:
            empty = type(parameter)(
                parameter.to("meta"), requires_grad=parameter.requires_grad
            )
            empty.__dict__.update(parameter.__dict__)
            parameter = empty
        register(module, name, parameter)

    def tie_only(self: PreTrainedModel) -> None:
        self.tie_weights(recompute_mapping=False)

    with (
        mock.patch.object(
            torch.nn.Module, "register_parameter", register_on_meta
        ),
        no_init_weights(),
        mock.patch.object(PreTrainedModel, "init_weights", tie_only),
    ):
        yield


def _stand_in_weights(model, device: str, std: float = 0.02) -> None:
    """Give every parameter of ``model`` that has no memory yet (on the meta device) memory
    on ``device``, in its dtype, filled with seeded normal numbers of standard deviation
    ``std`` (an initialisation's scale), one block of them repeated: several times faster
    than drawing each value, and every page of every weight is written, so the weights are
    resident in memory as trained ones would be. A parameter shared by several modules
    (tied weights) stays one parameter."""
    import torch

    seeded = torch.randn(
        1 << 20, generator=torch.Generator().manual_seed(0)
    ).mul_(std)
    # by id: a tied parameter is met in each of its modules; the empty one stays
    # referenced here, so its id is not reused
    created: dict[int, tuple[object, torch.nn.Parameter]] = {}
    with torch.no_grad():
        for module in model.modules():
            for name, empty in module._parameters.items():
                if empty is None or not empty.is_meta:
                    continue
                if id(empty) not in created:
                    created[id(empty)] = (
                        empty,
                        _filled(empty, seeded, device),
                    )
                module._parameters[name] = created[id(empty)][1]


def _filled(empty, seeded, device: str):  # noqa: ANN001, ANN202
    """A parameter shaped like ``empty``, on ``device``, holding ``seeded`` repeated."""
    import torch

    real = torch.nn.Parameter(
        torch.empty_like(empty, device=device),
        requires_grad=empty.requires_grad,
    )
    flat, block = real.view(-1), seeded.to(device, real.dtype)
    for start in range(0, flat.numel(), block.numel()):
        part = flat[start : start + block.numel()]
        part.copy_(block[: part.numel()])
    return real


def _optimizer_tensors(optimizer) -> list:
    """The optimizer's state tensors (AdamW's two moments and step counts, once created)."""
    return [
        value
        for state in optimizer.state.values()
        for value in state.values()
    ]


def _training_step(
    model, optimizer, batch_size: int, seq_len: int, vocab: int, device: str
) -> None:
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
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def measure_here(
    checkpoint: str,
    *,
    peft: str,
    gradient_checkpointing: bool,
    batch_sizes: tuple[int, ...] = (1,),
    seq_len: int = 128,
    steps: int = 2,
    pretrained: bool = False,
    label: str | None = None,
    precision: str = "32",
    ranks: int = 1,
    strategy: str = "fsdp",
    needs_gib: float | None = None,
) -> list[StepMeasurement]:
    """Build the model once, then time ``steps`` training steps at each batch size.

    ``precision="bf16-true"`` or ``"16-true"`` converts the model to 16 bits before the
    first step, as Lightning does for AutoGluon's ``env.precision`` of that name: weights,
    gradients, AdamW's moments and activations are then 16-bit.

    Two peaks per batch size, each over its steps (the first step also allocates the
    optimizer states): ``peak_gib``, the process's memory above what it held before the
    model was built (on CUDA, the allocator's), and ``tensor_peak_gib``, the tensors alone
    (weights, gradients, optimizer states, activations), which is what
    :func:`helpers.estimate_training_memory` predicts.

    ``ranks`` > 1 trains one model in that many CPU processes that talk through gloo, as
    that many GPUs would through NCCL, each with a batch of ``batch_size``: with
    ``strategy="fsdp"`` PyTorch's FSDP (``fully_shard``) shards it, one unit per block and
    one for the rest; with ``"ddp"`` each process holds all of it. Returns one measurement
    per rank and batch size.

    With ``needs_gib``, each process first checks that it has that much free memory (host
    memory on a CPU, the GPU's on CUDA) and raises :class:`NotEnoughMemoryError` if not.
    """
    if precision not in _MEASURABLE_PRECISIONS:
        raise ValueError(
            f"unknown precision {precision!r}; known: {', '.join(_MEASURABLE_PRECISIONS)}"
        )
    if ranks < 1 or strategy not in MULTI_GPU_STRATEGIES:
        raise ValueError(
            f"ranks must be at least 1 and strategy one of {', '.join(MULTI_GPU_STRATEGIES)}; "
            f"got {ranks} and {strategy!r}"
        )
    kwargs = dict(
        checkpoint=checkpoint,
        peft=peft,
        gradient_checkpointing=gradient_checkpointing,
        batch_sizes=batch_sizes,
        seq_len=seq_len,
        steps=steps,
        pretrained=pretrained,
        label=label,
        precision=precision,
        needs_gib=needs_gib,
    )
    if ranks == 1:
        return _measure_process(**kwargs)
    return _measure_ranks(ranks, strategy, kwargs)


#: How :func:`measure_training_steps` names a true 16-bit precision in its printed line.
_WEIGHTS_IN = {"bf16-true": "bf16", "16-true": "fp16"}

#: The precisions :func:`measure_here` runs: fp32 and the planner's true 16-bit ones
#: (mixed precision needs a GPU's autocast).
_MEASURABLE_PRECISIONS = tuple(
    p for p in PRECISIONS if precision_mode(p) != "mixed"
)


def _dtype(precision: str):  # noqa: ANN202
    """The torch dtype of the weights in ``precision`` (mixed precision keeps them fp32)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(
            f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}"
        )
    if precision_mode(precision) != "true":
        return torch.float32
    return torch.bfloat16 if precision.startswith("bf16") else torch.float16


def _measure_process(
    *,
    checkpoint: str,
    peft: str,
    gradient_checkpointing: bool,
    batch_sizes: tuple[int, ...],
    seq_len: int,
    steps: int,
    pretrained: bool,
    label: str | None,
    precision: str,
    needs_gib: float | None,
    shard=None,  # noqa: ANN001  (a function that distributes the built model)
    ranks: int = 1,
) -> list[StepMeasurement]:
    import torch

    device = "cuda" if torch.cuda.is_available() and ranks == 1 else "cpu"
    if needs_gib is not None:
        free = _free_gib(device)
        if free < needs_gib:
            raise NotEnoughMemoryError(
                f"needs about {needs_gib:.1f} GiB of free "
                f"{'GPU' if device == 'cuda' else 'host'} memory, and "
                f"{free:.1f} GiB is free"
            )
    gc.collect()
    before_build = (
        process_rss_gib()
        if device == "cpu"
        else torch.cuda.memory_allocated() / GIB
    )
    model, optimizer = build_autogluon_text_model(
        checkpoint,
        peft=peft,
        gradient_checkpointing=gradient_checkpointing,
        pretrained=pretrained,
        device=device,
        precision=precision,
    )
    model.train()
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    weights_gib = (
        sum(p.numel() * p.element_size() for p in model.parameters()) / GIB
    )
    vocab = min(model.config.vocab_size, 1000)
    if shard is not None:
        # FSDP replaces the parameters, so it returns an optimizer built for the new ones
        step_model, optimizer = shard(model, optimizer)
    else:
        step_model = model
    results = []
    for batch_size in batch_sizes:
        durations = []
        existing = [
            *step_model.parameters(),
            *step_model.buffers(),
            *_optimizer_tensors(optimizer),
        ]
        with MemoryMonitor(
            label=f"{checkpoint} b{batch_size}",
            device=device,
            track_tensors=True,
            existing=existing,
        ) as monitor:
            for _ in range(steps):
                start = time.perf_counter()
                _training_step(
                    step_model, optimizer, batch_size, seq_len, vocab, device
                )
                durations.append(time.perf_counter() - start)
        results.append(
            StepMeasurement(
                model=label or checkpoint,
                peft=peft,
                gradient_checkpointing=gradient_checkpointing,
                batch_size=batch_size,
                seq_len=seq_len,
                total_params=total,
                trainable_params=trainable,
                weights_gib=weights_gib,
                peak_gib=monitor.peak_gib - before_build,
                tensor_peak_gib=monitor.tensor_peak_gib,
                step_s=min(durations),
                device=device,
                precision=precision,
                ranks=ranks,
            )
        )
    del model, step_model, optimizer
    gc.collect()
    return results


def _free_gib(device: str) -> float:
    """Memory free for a new model: the GPU's on CUDA, else the host's available memory."""
    if device == "cuda":
        import torch

        return torch.cuda.mem_get_info()[0] / GIB
    import psutil

    return psutil.virtual_memory().available / GIB


def _measure_ranks(
    ranks: int, strategy: str, kwargs: dict
) -> list[StepMeasurement]:
    """Fork ``ranks`` processes that form a gloo group and train one model together."""
    import os
    import tempfile

    from ._measuring_server import child_answer, fork_child

    store_file = tempfile.NamedTemporaryFile(delete=False)
    store_file.close()
    os.unlink(store_file.name)  # the store creates it; it must not exist yet
    children = [
        fork_child(
            lambda rank=rank: _measure_rank(
                rank, ranks, strategy, store_file.name, kwargs
            )
        )
        for rank in range(ranks)
    ]
    answers = [child_answer(child, reader) for child, reader in children]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(store_file.name)
    short = [
        a["skipped"]
        for a in answers
        if isinstance(a, dict) and "skipped" in a
    ]
    if short:
        raise NotEnoughMemoryError(short[0])
    errors = [a["error"] for a in answers if isinstance(a, dict)]
    if errors:
        raise RuntimeError(f"a rank failed:\n{errors[0]}")
    return [StepMeasurement(**r) for answer in answers for r in answer]


def _measure_rank(
    rank: int, ranks: int, strategy: str, store_path: str, kwargs: dict
) -> list[StepMeasurement]:
    import os

    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // ranks))
    store = dist.FileStore(store_path, ranks)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=ranks)
    try:
        return _measure_process(
            **kwargs,
            shard=_fsdp if strategy == "fsdp" else _ddp,
            ranks=ranks,
        )
    finally:
        dist.destroy_process_group()


def _fsdp(model, optimizer):  # noqa: ANN001, ANN202
    """Shard ``model`` with FSDP: one unit per encoder block, and one for the rest."""
    from torch.distributed.fsdp import fully_shard

    for block in model.model.encoder.block:
        fully_shard(block)
    fully_shard(model)
    return model, _rebuilt(optimizer, model)


def _ddp(model, optimizer):  # noqa: ANN001, ANN202
    """Replicate ``model`` with DistributedDataParallel (gradients averaged in buckets)."""
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model), optimizer


def _rebuilt(optimizer, model):  # noqa: ANN001, ANN202
    """AdamW with ``optimizer``'s settings, over ``model``'s (now sharded) parameters."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    group = optimizer.param_groups[0]
    return torch.optim.AdamW(
        trainable, lr=group["lr"], weight_decay=group["weight_decay"]
    )


_server = None  # the measuring server, started on first use


def _shortened(traceback: str, limit: int = 3000) -> str:
    """A long traceback's first line and its last ``limit`` characters, where the error is."""
    if len(traceback) <= limit:
        return traceback
    first, _, rest = traceback.partition("\n")
    return f"{first}\n...\n{rest[-limit:]}"


def measure_training_steps(
    checkpoint: str,
    *,
    peft: str,
    gradient_checkpointing: bool,
    batch_sizes: tuple[int, ...] = (1,),
    seq_len: int = 128,
    steps: int = 1,
    label: str | None = None,
    precision: str = "32",
    ranks: int = 1,
    strategy: str = "fsdp",
    timeout_s: float = 600,
    needs_gib: float | None = None,
) -> list[StepMeasurement]:
    """Peak memory and time of real training steps, in a fresh process.

    The model is built from ``checkpoint`` with stand-in weights (memory and time do not
    depend on the values); :func:`measure_here` says what is measured, in which
    ``precision``, and how ``ranks`` processes share one model under ``strategy``.

    A fresh process starts from a clean heap, so one measurement cannot inflate the next,
    and its memory is returned to the system when it ends. (Each is forked from a server
    that imported the libraries once, so only the first call pays for the imports.) Prints
    one line when done: what was measured, and how long it took.

    ``needs_gib``: the free memory the measurement needs (host memory on a CPU, the GPU's
    on CUDA), checked by the measuring process before it builds anything. Where less is
    free, nothing is measured: one printed line says what it needs and what is free, and
    the list returned is empty.

    Raises
    ------
    RuntimeError
        If the measurement fails or takes longer than ``timeout_s``; its traceback is
        included.
    """
    global _server
    from ._measuring_server import _MeasuringServer

    kwargs = dict(
        checkpoint=checkpoint,
        peft=peft,
        gradient_checkpointing=gradient_checkpointing,
        batch_sizes=list(batch_sizes),
        seq_len=seq_len,
        steps=steps,
        label=label,
        precision=precision,
        ranks=ranks,
        strategy=strategy,
        needs_gib=needs_gib,
    )
    start = time.perf_counter()
    if _server is None or _server.process.poll() is not None:
        _server = _MeasuringServer()
    answer = _server.request("helpers.steps:measure_here", kwargs, timeout_s)
    if isinstance(answer, dict) and "skipped" in answer:
        print(
            f"skipped {label or checkpoint}: {answer['skipped']}", flush=True
        )
        return []
    if isinstance(answer, dict):
        raise RuntimeError(
            f"measuring {label or checkpoint} failed:\n{_shortened(answer['error'])}"
        )
    what = [
        peft,
        "checkpointing" if gradient_checkpointing else "no checkpointing",
        # only fp32 and true 16-bit are measured: "bf16" and "fp16" say which
        *([] if precision == "32" else [_WEIGHTS_IN[precision]]),
        *([] if ranks == 1 else [f"{ranks} {strategy} ranks"]),
        f"batch {', '.join(map(str, batch_sizes))}",
    ]
    print(
        f"measured {label or checkpoint}: {', '.join(what)} "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    return [StepMeasurement(**record) for record in answer]
