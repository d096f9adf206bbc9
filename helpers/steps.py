"""Real training steps of AutoGluon's text model, to measure memory and time of large encoders.

AutoGluon's own pieces are used, in the order ``fit`` uses them: its model class
(``HFAutoModelForTextPrediction``, which keeps only the encoder of a T5), its PEFT injection
(``apply_peft_adaptation``), its rules for what stays trainable, and its parameter groups,
followed by an AdamW step. With ``pretrained=False`` the architecture is built from its
configuration with stand-in weights, so FLAN-T5-XL can be measured offline on a CPU.

This module is the public face; the machinery (the measuring server, its forked children,
the ranks, the stand-in weights) is :mod:`helpers._measure`.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

from ._measure import (
    StepMeasurement,
    StepSettings,
    build_autogluon_text_model,
    measure,
)

__all__ = [
    "StepMeasurement",
    "build_autogluon_text_model",
    "measure_training_steps",
]

#: How :func:`measure_training_steps` names a true 16-bit precision in its printed line.
_WEIGHTS_IN = {"bf16-true": "bf16", "16-true": "fp16"}


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
    overrides: dict[str, Any] | None = None,
) -> list[StepMeasurement]:
    """Peak memory and time of real training steps, in a fresh process.

    The model is built once from ``checkpoint`` with stand-in weights (memory and time do
    not depend on the values), as :func:`build_autogluon_text_model` builds it for
    ``peft`` and ``gradient_checkpointing``, with ``overrides`` (further AutoGluon
    hyperparameters, such as ``optim.lora.filter``; JSON values). Then ``steps`` training
    steps run at each of ``batch_sizes``, on ``seq_len`` tokens; ``label`` names the model
    in the results and the printed line (by default ``checkpoint``).

    ``precision="bf16-true"`` or ``"16-true"`` converts the model to 16 bits before the
    first step, as Lightning does for AutoGluon's ``env.precision`` of that name: weights,
    gradients, AdamW's moments and activations are then 16-bit. (Mixed precision is not
    measured: it needs a GPU's autocast.) On a CPU without instructions for that 16-bit
    type (bf16: AVX512-BF16 or AMX), each 16-bit matrix product is computed in fp32 and
    rounded once, as 16-bit hardware does, at fp32's speed: the tensors, and so
    ``tensor_peak_gib``, are those of 16-bit hardware; ``peak_gib`` also holds the fp32
    copies of one product's operands.

    Two peaks per batch size, each over its steps (the first step also allocates the
    optimizer states): ``peak_gib``, the process's memory above what it held before the
    model was built (on CUDA, the allocator's), and ``tensor_peak_gib``, the tensors alone
    (weights, gradients, optimizer states, activations), which is what
    :func:`helpers.estimate_training_memory` predicts.

    ``ranks`` > 1 trains one model in that many CPU processes that talk through gloo, as
    that many GPUs would through NCCL, each with a batch of ``batch_size``: with
    ``strategy="fsdp"`` PyTorch's FSDP (``fully_shard``) shards it as one unit, as
    AutoGluon's ``env.strategy="fsdp"`` does; with ``"fsdp-per-block"``, one unit per
    block and one for the rest; with ``"ddp"`` each process holds all of it. Returns one
    measurement per rank and batch size.

    A fresh process starts from a clean heap, so one measurement cannot inflate the next,
    and its memory is returned to the system when it ends. (Each is forked from a server
    that imported the libraries once, so only the first call pays for the imports.) Prints
    one line when done (two where it is longer than a page's 76 characters): what was
    measured, and how long it took.

    ``needs_gib``: the free memory the measurement needs (host memory on a CPU, the GPU's
    on CUDA), checked by the measuring process before it builds anything. Where less is
    free, nothing is measured: one printed line says what it needs and what is free, and
    the list returned is empty.

    Raises
    ------
    ValueError
        Before anything starts, for a precision it cannot measure (mixed precision needs
        a GPU's autocast), fewer than one rank, an unknown strategy, sizes below 1 or a
        ``timeout_s`` that is not above 0.
    TypeError
        Before anything starts, for ``batch_sizes`` that is not a tuple of whole numbers.
    RuntimeError
        If the measurement fails (an unknown checkpoint or method among the causes) or
        takes longer than ``timeout_s``; its traceback is included.
    """
    if isinstance(batch_sizes, (int, str)):
        raise TypeError(
            f"batch_sizes must be a tuple of batch sizes, such as ({batch_sizes!r},); "
            f"got {type(batch_sizes).__name__}"
        )
    if not timeout_s > 0:
        raise ValueError(
            f"timeout_s must be above 0 seconds; got {timeout_s}"
        )
    settings = StepSettings(
        checkpoint=checkpoint,
        peft=peft,
        gradient_checkpointing=gradient_checkpointing,
        batch_sizes=tuple(batch_sizes),
        seq_len=seq_len,
        steps=steps,
        label=label,
        precision=precision,
        ranks=ranks,
        strategy=strategy,
        needs_gib=needs_gib,
        overrides=overrides,
    )
    settings.check()
    name = label or checkpoint
    start = time.perf_counter()
    reply = measure(settings, timeout_s)
    if reply.skipped is not None:
        print(f"skipped {name}: {reply.skipped}", flush=True)
        return []
    if reply.error is not None:
        raise RuntimeError(
            f"measuring {name} failed:\n{_shortened(reply.error)}"
        )
    # a page's code column holds 76 characters: a longer line goes on in a second one,
    # broken where it would break for any duration up to 999 s, the same on every machine
    # ("(99999)": as wide as "(999 s)", and never broken)
    wrapped = textwrap.fill(
        f"measured {name}: {_described(settings)} (99999)",
        76,
        subsequent_indent="  ",
        break_on_hyphens=False,
    )
    seconds = f"({time.perf_counter() - start:.0f} s)"
    print(wrapped.removesuffix("(99999)") + seconds, flush=True)
    return [StepMeasurement(**record) for record in reply.records]


def _described(settings: StepSettings) -> str:
    """What was measured, in the printed line: "ia3_bias, checkpointing, batch 1, 8"."""
    s = settings
    return ", ".join(
        [
            s.peft,
            "checkpointing"
            if s.gradient_checkpointing
            else "no checkpointing",
            # only fp32 and true 16-bit are measured: "bf16" and "fp16" say which
            *([] if s.precision == "32" else [_WEIGHTS_IN[s.precision]]),
            *([] if s.ranks == 1 else [f"{s.ranks} {s.strategy} ranks"]),
            f"batch {', '.join(map(str, s.batch_sizes))}",
        ]
    )


def _shortened(traceback: str, limit: int = 3000) -> str:
    """A long traceback's first line and its last ``limit`` characters, where the error is."""
    if len(traceback) <= limit:
        return traceback
    first, _, rest = traceback.partition("\n")
    return f"{first}\n...\n{rest[-limit:]}"
