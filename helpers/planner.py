"""Will it fit? An analytic model of the memory that training AutoGluon's text model takes.

It knows the T5 family (FLAN-T5's encoder, as AutoGluon trains it), DeBERTa-v3
(mDeBERTa-v3-base, the ``full`` profile's baseline) and the BERT family (BERT, RoBERTa,
XLM-RoBERTa, ELECTRA; multilingual-e5-small, the ``tiny`` profile's baseline), each with
every finetuning method AutoGluon offers for text (:data:`PEFT_METHODS`).

The model counts tensors, the way ``torch.cuda.max_memory_allocated`` does: the weights,
then the gradients and AdamW's two moments of the trainable parameters, then the
activations the forward pass keeps for the backward pass, then the short-lived buffers at
the two moments where memory can peak (the start of the backward pass, the optimizer step).
On CUDA, ``max_memory_allocated`` also counts cuBLAS's workspaces and the caching
allocator's rounding of each block (:mod:`helpers._cuda_terms`). What a GPU holds beyond what the
allocator hands out (the CUDA context, the allocator's spare blocks) is not counted;
:func:`will_it_fit` keeps it from the GPU's memory instead (:func:`helpers.usable_gpu_gib`).
Each term is explained in the book's concepts page and checked against real training steps
in chapter 5 on a CPU; the CUDA terms against the GPU record of :func:`helpers.gpu_runs`.

Plain arithmetic: the architecture and its parameter counts are in
:mod:`helpers._architecture`, the activation terms in :mod:`helpers._planner_terms`, the
CUDA terms in :mod:`helpers._cuda_terms`, the phases where a step can peak in
:mod:`helpers._planner_phases`, the published configurations it knows by name in
:mod:`helpers._configs`; none of them imports torch or transformers.
"""

from __future__ import annotations

from typing import Any

from ._architecture import (  # PEFT_METHODS, parameter_counts: public here
    LORA_RANK,
    PEFT_METHODS,  # noqa: F401
    Architecture,
    architecture,
    check_lora_rank,
    check_peft,
    parameter_counts,
)
from ._checks import require_choice, require_count
from ._configs import published_config
from ._cuda_terms import cuda_terms
from ._planner_phases import (  # MemoryEstimate: public here
    Counts,
    MemoryEstimate,
    phases,
    step_transient,
)
from ._planner_terms import saved_activations, score_gradients
from .gpus import GPU_SPECS, usable_gpu_gib

#: Precisions (Lightning's names, AutoGluon's ``env.precision``). Mixed precision keeps fp32
#: weights, gradients and optimizer states, and runs the matrix products in 16 bits. True
#: 16-bit precision (``"bf16-true"``, ``"16-true"``) keeps the weights themselves in 16
#: bits, and with them the gradients, AdamW's moments and the activations. Both 16-bit
#: formats take the same memory; T5 overflows in fp16 (transformers #9295), so for T5 the
#: one to train with is bf16.
PRECISIONS: tuple[str, ...] = (
    "32",
    "bf16-mixed",
    "16-mixed",
    "bf16-true",
    "16-true",
)

#: How several GPUs train one model. ``"ddp"`` replicates it on every GPU and averages the
#: gradients; ``"fsdp"`` (ZeRO stage 3) shards weights, gradients and optimizer states across
#: the GPUs and gathers a unit's weights when it computes, the whole model as one unit, as
#: AutoGluon's ``env.strategy="fsdp"`` gives (Lightning's FSDP without a wrap policy); and
#: ``"fsdp-per-block"`` does so with one unit per encoder block and one for the rest, as
#: PyTorch's ``fully_shard`` per block gives in one's own training script.
MULTI_GPU_STRATEGIES: tuple[str, ...] = ("ddp", "fsdp", "fsdp-per-block")


def precision_mode(precision: str) -> str:
    """How ``precision`` stores weights and activations: "32", "mixed" or "true"."""
    return "32" if precision == "32" else precision.split("-")[1]


def check_precision(
    precision: str, known: tuple[str, ...] = PRECISIONS
) -> None:
    """Raise ``ValueError`` unless ``precision`` is one of ``known`` (by default
    :data:`PRECISIONS`)."""
    if precision not in known:
        raise ValueError(
            f"unknown precision {precision!r}; known: {', '.join(known)}"
        )


def check_strategy(count: int, strategy: str, counted: str = "gpus") -> None:
    """Raise ``ValueError`` unless ``count`` (of ``counted``: GPUs, or ranks) is at
    least 1 and ``strategy`` one of :data:`MULTI_GPU_STRATEGIES`."""
    if count < 1 or strategy not in MULTI_GPU_STRATEGIES:
        raise ValueError(
            f"{counted} must be at least 1 and strategy one of "
            f"{', '.join(MULTI_GPU_STRATEGIES)}; got {count} and {strategy!r}"
        )


def _resolve_config(config_or_name: Any) -> Any:
    if isinstance(config_or_name, str):
        return published_config(config_or_name)
    return config_or_name


def _check_step(
    a: Architecture,
    peft: str,
    lora_rank: int,
    precision: str,
    batch_size: int,
    seq_len: int,
) -> None:
    """Refuse a method, rank, precision or size the planner does not model."""
    check_peft(peft, a)
    check_lora_rank(lora_rank)
    check_precision(precision)
    if precision != "32" and a.family == "deberta-v2":
        raise ValueError(
            "16-bit precision is modelled for the T5 and BERT families only; use "
            f"precision='32' for {a.family}"
        )
    require_count(batch_size, "batch_size")
    require_count(seq_len, "seq_len")


def _check_where(
    a: Architecture, device: str, gpu: str | None, gpus: int, strategy: str
) -> None:
    """Refuse a device, card, number of GPUs or strategy the planner does not model."""
    if device not in {"cuda", "cpu"}:
        raise ValueError(f"device must be 'cuda' or 'cpu', got {device!r}")
    if gpu is not None:
        require_choice(gpu, "GPU", GPU_SPECS)
    check_strategy(gpus, strategy)
    if gpus > 1 and strategy == "fsdp-per-block" and a.family != "t5":
        raise ValueError(
            "FSDP per block is modelled for the T5 family only; use strategy='ddp' "
            f"or 'fsdp' (one unit) for {a.family}"
        )


def estimate_training_memory(
    config_or_name: Any,
    *,
    peft: str,
    gradient_checkpointing: bool,
    batch_size: int,
    seq_len: int = 128,
    precision: str = "32",
    device: str = "cuda",
    gpus: int = 1,
    strategy: str = "ddp",
    gpu: str | None = None,
    gradients_kept: bool = True,
    lora_rank: int = LORA_RANK,
) -> MemoryEstimate:
    """Estimated tensor memory of one training step of AutoGluon's text model, term by term.

    ``.total_gib`` of the result is the estimated peak, in GiB (per GPU, with ``gpus``).

    The peak is the weights and optimizer states, plus the larger of two phases: the start
    of the backward pass (all saved activations, and a block's gradients being formed) or
    the optimizer step (all gradients, and AdamW's temporaries).

    In AutoGluon's fit the gradients are alive in the forward and backward pass too
    (``gradients_kept``). Lightning's closure runs the forward pass, then ``zero_grad``,
    then the backward pass (``Closure.closure`` in
    ``lightning/pytorch/loops/optimization/automatic.py``), so the previous step's
    gradients live through the forward pass; with gradient accumulation, AutoGluon's
    default (``env.batch_size`` over ``env.per_gpu_batch_size`` micro-batches), they
    are not zeroed at all between the micro-batches of one optimizer step. With
    ``gradients_kept=False`` the estimate is of a loop that zeroes them after the
    optimizer step instead.

    On several GPUs (``gpus`` > 1, ``batch_size`` per GPU), ``strategy="ddp"`` adds DDP's
    gradient buckets to every GPU. Both FSDPs divide weights, gradients and optimizer
    states by ``gpus`` and add the units they gather. ``"fsdp"`` (one unit): to the end of the
    forward pass, all the weights twice (the gathered buffer and the parameters copied out
    of it: FSDP frees the buffer when the next unit gathers, and one unit has no next)
    beside the activations; in the backward pass, all the weights, and the activations or every
    trained gradient, not yet sharded, with its new shard, whichever is larger (one is
    freed as the other forms). ``"fsdp-per-block"``: when the forward pass starts, the rest
    (embedding and head) and the first block, each held twice; in the backward pass, the
    rest and one block (twice); at its end, the rest's weights and its gradient.

    On CUDA the estimate also holds ``cuda_gib``: cuBLAS's workspaces and the caching
    allocator's rounding of the weights, gradients and optimizer states
    (``helpers._cuda_terms.cuda_terms``), which ``torch.cuda.max_memory_allocated``
    counts. The CUDA terms were checked on an NVIDIA H200 (the record in
    ``helpers/data/gpu_runs/``, :func:`helpers.gpu_runs`).

    AdamW's temporaries at the optimizer step, and where each way of training on several
    GPUs can peak, are explained in :mod:`helpers._planner_phases`.

    Parameters
    ----------
    config_or_name
        A transformers config of the T5 family (``helpers.flan_t5_config(name)`` gives
        FLAN-T5's), of DeBERTa-v3 (``helpers.mdeberta_v3_base_config()``) or of the BERT
        family (``bert``, ``roberta``, ``xlm-roberta``, ``electra``); or the name of a
        published model the planner knows (``helpers._configs.PUBLISHED_NAMES``), as
        for :func:`will_it_fit`.
    peft
        ``"full"`` for full finetuning, or another of :data:`PEFT_METHODS`.
    gradient_checkpointing, batch_size, seq_len
        As in AutoGluon's hyperparameters (``seq_len`` is ``model.hf_text.max_text_len``).
    precision
        One of :data:`PRECISIONS`: ``"32"``, ``"bf16-mixed"``, ``"16-mixed"``,
        ``"bf16-true"`` or ``"16-true"``.
    device
        ``"cuda"`` (AdamW updates a parameter group at once) or ``"cpu"`` (one tensor
        at a time).
    gpus, strategy
        How many GPUs train together, and how: one of :data:`MULTI_GPU_STRATEGIES`.
    gpu
        On CUDA, the card (a name in :data:`helpers.gpus.GPU_SPECS`), whose architecture
        sets the size of cuBLAS's workspace. By default, any card but a Hopper (a T4).
    gradients_kept
        Whether the gradients of the previous micro-batch are alive through the forward
        and backward pass, as in AutoGluon's fit (the default), or zeroed after the
        optimizer step.
    lora_rank
        LoRA's rank (AutoGluon's ``optim.lora.r``, 8 by default), for the methods that
        add LoRA.

    Raises
    ------
    ValueError
        For a config of another architecture, a name the planner does not know, an
        unknown method, precision or strategy (16-bit precision for DeBERTa, FSDP per
        block for DeBERTa and BERT), or sizes below 1.
    TypeError
        For sizes that are not whole numbers, or a GPU that is not a name.
    """
    config = _resolve_config(config_or_name)
    a = architecture(config)
    _check_step(a, peft, lora_rank, precision, batch_size, seq_len)
    _check_where(a, device, gpu, gpus, strategy)
    total, trainable, largest = parameter_counts(
        config, peft, lora_rank=lora_rank
    )
    tokens = batch_size * seq_len
    mode = precision_mode(precision)
    # bytes per number of weights, gradients, AdamW moments and hidden states
    size = 2 if mode == "true" else 4
    block, outside = saved_activations(
        a,
        peft,
        mode,
        batch_size,
        seq_len,
        device,
        lora_rank,
        gradient_checkpointing,
    )
    if gradient_checkpointing:
        # each block keeps only its input; the backward pass recomputes one block at a time
        activations = a.layers * size * tokens * a.d + block + outside
    else:
        activations = a.layers * block + outside
    # in a block's backward pass: gradients of the attention scores and of their softmax
    # (score_gradients), and the gradient of the hidden state (twice with checkpointing:
    # in and out of a block)
    backward_transient = score_gradients(
        a, batch_size, seq_len, device
    ) + size * tokens * a.d * (2 if gradient_checkpointing else 1)
    counts = Counts(size, total, trainable, activations, block)
    step = step_transient(a, peft, lora_rank, size, largest, device)

    def cuda_bytes(shards: int) -> float:
        if device != "cuda":
            return 0
        return cuda_terms(a, peft, size, gpu, shards, lora_rank)

    estimates = [
        phase.estimate(counts, cuda_bytes(phase.shards), gradients_kept)
        for phase in phases(
            a,
            peft,
            lora_rank,
            counts,
            gpus=gpus,
            strategy=strategy,
            backward_transient=backward_transient,
            step_transient=step,
            gradient_checkpointing=gradient_checkpointing,
        )
    ]
    return max(estimates, key=lambda estimate: estimate.total_gib)


def will_it_fit(
    config_or_name: Any,
    gpu: str,
    *,
    peft: str,
    gradient_checkpointing: bool,
    seq_len: int = 128,
    precision: str = "32",
    gpus: int = 1,
    strategy: str = "ddp",
    max_batch_size: int = 4096,
    lora_rank: int = LORA_RANK,
) -> int:
    """The largest batch size whose estimated training step fits ``gpu``; 0 if none does.

    With ``gpus`` > 1 (``strategy`` as for :func:`estimate_training_memory`) it is the
    batch per GPU.

    ``config_or_name`` is a config as for :func:`estimate_training_memory`, or the name of
    a published configuration the planner knows: a FLAN-T5 name (``"google/flan-t5-xl"``),
    ``"microsoft/mdeberta-v3-base"`` or ``"intfloat/multilingual-e5-small"``.
    :func:`estimate_training_memory` on CUDA, for ``gpu``, must fit
    :func:`helpers.usable_gpu_gib` of ``gpu``: what CUDA reports of its memory, less the
    CUDA context and the allocator's slack.

    Raises
    ------
    ValueError
        For a GPU not in :data:`helpers.gpus.GPU_SPECS`, or an unknown model name or config.
    """
    budget = usable_gpu_gib(gpu)
    config = _resolve_config(config_or_name)

    def fits(batch: int) -> bool:
        estimate = estimate_training_memory(
            config,
            peft=peft,
            gradient_checkpointing=gradient_checkpointing,
            batch_size=batch,
            seq_len=seq_len,
            precision=precision,
            gpus=gpus,
            strategy=strategy,
            gpu=gpu,
            lora_rank=lora_rank,
        )
        return estimate.total_gib <= budget

    if not fits(1):
        return 0
    low, high = 1, max_batch_size
    if fits(high):
        return high
    # memory grows with the batch: bisect for the last batch that fits
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low
