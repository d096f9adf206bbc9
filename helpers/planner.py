"""Will it fit? An analytic model of the memory that training AutoGluon's text model takes.

The model counts tensors, the way ``torch.cuda.max_memory_allocated`` does: the weights,
then the gradients and AdamW's two moments of the trainable parameters, then the
activations the forward pass keeps for the backward pass, then the short-lived buffers of
the two moments where memory peaks. What a GPU holds beyond its tensors (the CUDA context,
the caching allocator's spare blocks) is not a tensor; :func:`will_it_fit` reserves it from
the GPU's memory instead. Each term is explained in the book's concepts page and checked
against real training steps in chapter 5.

The activation coefficients are bytes per element, counted from the tensors that the
forward pass of AutoGluon's T5 encoder saves for backward (``tests/test_planner.py``
recounts them with ``torch.autograd.graph.saved_tensors_hooks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .gpus import GPU_MEMORY_GIB

GIB = 1024**3

#: Strategies the model knows: ``None`` is full finetuning.
PEFT_METHODS: tuple[str | None, ...] = (None, "ia3", "ia3_bias")

#: Precisions (Lightning's names). Mixed precision keeps fp32 weights, gradients and
#: optimizer states, and runs the matrix products in 16 bits.
PRECISIONS: tuple[str, ...] = ("32", "bf16-mixed", "16-mixed")

#: Memory a GPU keeps from tensors: the CUDA context (about 0.5 GiB) and the caching
#: allocator's blocks that are reserved but free at the peak.
GPU_RESERVE_GIB = 1.0

# Bytes saved for the backward pass in one T5 block, per element of
# (B*L*d, B*L*inner, B*L*d_ff, B*h*L*L, B*L), with inner = h*d_kv, followed by bytes per
# weight of the block's matrices (16-bit copies that mixed precision makes and keeps).
# Full finetuning keeps the inputs of every matrix product, to form weight gradients; with
# frozen weights fewer are needed, but IA3 keeps the outputs it scales. The B*h*L*L term is
# the attention scores, their softmax and its dropout mask. Keys: (full finetuning, mixed).
_T5_BLOCK = {
    (True, False): (32, 16, 32, 12, 8, 0),
    (False, False): (20, 24, 28, 12, 8, 0),
    (True, True): (30, 8, 16, 8, 8, 2),
    (False, True): (16, 12, 14, 8, 8, 2),
}
# Outside the blocks (embedding output and its dropout, final norm, pooled output): bytes
# per B*L*d and per B*L. Keys as above.
_T5_OUTSIDE = {
    (True, False): (20, 12),
    (False, False): (12, 0),
    (True, True): (16, 12),
    (False, True): (8, 0),
}


@dataclass(frozen=True)
class MemoryEstimate:
    """The terms of :func:`estimate_training_memory`, in GiB."""

    weights_gib: float  #: all parameters, fp32
    gradients_gib: float  #: one fp32 gradient per trainable parameter
    optimizer_gib: float  #: AdamW's two fp32 moments per trainable parameter
    activations_gib: float  #: what the forward pass keeps for the backward pass
    transient_gib: float  #: short-lived buffers where memory peaks
    peak_phase: str  #: "backward" (activations at their largest) or "optimizer step"

    @property
    def total_gib(self) -> float:
        """The estimated peak: weights, optimizer states, and the larger of the two phases."""
        return self.weights_gib + self.optimizer_gib + self._phase_gib()

    def _phase_gib(self) -> float:
        return self.transient_gib + (self.activations_gib if self.peak_phase == "backward" else self.gradients_gib)


@dataclass(frozen=True)
class _Architecture:
    d: int
    inner: int  # heads * d_kv
    d_ff: int
    heads: int
    layers: int
    vocab: int
    buckets: int
    gated: bool


def _t5_architecture(config: Any) -> _Architecture:
    if getattr(config, "model_type", None) not in {"t5", "mt5", "umt5"}:
        raise ValueError(
            f"estimate_training_memory knows the T5 family (t5, mt5, umt5); got a config of model_type "
            f"{getattr(config, 'model_type', type(config).__name__)!r}. Pass a transformers T5Config, "
            "for example helpers.flan_t5_config('google/flan-t5-xl')."
        )
    return _Architecture(
        d=config.d_model,
        inner=config.num_heads * config.d_kv,
        d_ff=config.d_ff,
        heads=config.num_heads,
        layers=config.num_layers,
        vocab=config.vocab_size,
        buckets=config.relative_attention_num_buckets,
        gated=config.feed_forward_proj.startswith("gated"),
    )


def _resolve_config(config_or_name: Any):
    if isinstance(config_or_name, str):
        from .checkpoints import flan_t5_config

        return flan_t5_config(config_or_name)
    return config_or_name


def parameter_counts(config: Any, peft: str | None, num_classes: int = 2) -> tuple[int, int, int]:
    """``(total, trainable, largest trainable tensor)`` of AutoGluon's model for ``config``.

    AutoGluon keeps the encoder, adds a linear head, and always trains the head and the
    final layer norm. IA3 adds a scaling vector to the outputs of q, k, v and o in every
    block. ``ia3_bias`` also trains whatever has ``bias`` in its name: T5 has no bias
    vectors, only the relative position bias table of its first block.
    """
    _check_peft(peft)
    a = _t5_architecture(config)
    ffn_in = 2 if a.gated else 1
    block = 4 * a.d * a.inner + (ffn_in + 1) * a.d * a.d_ff + 2 * a.d
    embedding = a.vocab * a.d
    position_bias = a.buckets * a.heads
    head = a.d * num_classes + num_classes
    ia3 = a.layers * (3 * a.inner + a.d)
    total = embedding + a.layers * block + position_bias + a.d + head
    if peft is None:
        return total, total, max(embedding, a.d_ff * a.d)
    bias = position_bias if peft.endswith("_bias") else 0
    trainable = ia3 + head + a.d + bias
    return total + ia3, trainable, max(bias, a.d * num_classes, a.d)


def _check_peft(peft: str | None) -> None:
    if peft not in PEFT_METHODS:
        known = ", ".join("None (full finetuning)" if p is None else repr(p) for p in PEFT_METHODS)
        raise ValueError(f"no memory model for peft={peft!r}; known: {known}")


def training_memory_terms(
    config: Any,
    *,
    peft: str | None,
    gradient_checkpointing: bool,
    batch_size: int,
    seq_len: int = 128,
    precision: str = "32",
    device: str = "cuda",
) -> MemoryEstimate:
    """The terms of :func:`estimate_training_memory` (same arguments), in GiB."""
    _check_peft(peft)
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    if batch_size < 1 or seq_len < 1:
        raise ValueError(f"batch_size and seq_len must be at least 1, got {batch_size} and {seq_len}")
    if device not in {"cuda", "cpu"}:
        raise ValueError(f"device must be 'cuda' or 'cpu', got {device!r}")
    a = _t5_architecture(config)
    total, trainable, largest = parameter_counts(config, peft)
    full, mixed = peft is None, precision != "32"
    tokens = batch_size * seq_len
    scores = batch_size * a.heads * seq_len**2
    c_d, c_inner, c_ff, c_scores, c_tok, c_weight = _T5_BLOCK[full, mixed]
    matrices = 4 * a.d * a.inner + (3 if a.gated else 2) * a.d * a.d_ff
    block = tokens * (c_d * a.d + c_inner * a.inner + c_ff * a.d_ff + c_tok) + c_scores * scores + c_weight * matrices
    o_d, o_tok = _T5_OUTSIDE[full, mixed]
    outside = tokens * (o_d * a.d + o_tok)
    if full or peft.endswith("_bias"):
        outside += 8 * seq_len**2  # int64 relative-position buckets, kept for the trained bias table
    if gradient_checkpointing:
        # each block keeps only its fp32 input; the backward pass recomputes one block at a time
        activations = a.layers * 4 * tokens * a.d + block + outside
    else:
        activations = a.layers * block + outside
    # in a block's backward pass: gradients of the attention scores and of their softmax,
    # and the gradient of the hidden state (twice with checkpointing: in and out of a block)
    backward_transient = 8 * scores + 4 * tokens * a.d * (2 if gradient_checkpointing else 1)
    gradients = 4 * trainable
    # AdamW on CUDA updates all tensors at once (foreach): sqrt(exp_avg_sq) of every
    # trainable parameter; on CPU one tensor at a time: two temporaries of the largest one
    step_transient = 4 * trainable if device == "cuda" else 2 * 4 * largest
    if activations + backward_transient >= gradients + step_transient:
        phase, transient = "backward", backward_transient
    else:
        phase, transient = "optimizer step", step_transient
    return MemoryEstimate(
        weights_gib=4 * total / GIB,
        gradients_gib=gradients / GIB,
        optimizer_gib=8 * trainable / GIB,
        activations_gib=activations / GIB,
        transient_gib=transient / GIB,
        peak_phase=phase,
    )


def estimate_training_memory(
    config: Any,
    *,
    peft: str | None,
    gradient_checkpointing: bool,
    batch_size: int,
    seq_len: int = 128,
    precision: str = "32",
    device: str = "cuda",
) -> float:
    """Estimated peak tensor memory (GiB) of one training step of AutoGluon's text model.

    The peak is the weights and optimizer states, plus the larger of two phases: the start
    of the backward pass (all saved activations, and a block's gradients being formed) or
    the optimizer step (all gradients, and AdamW's temporaries).

    Parameters
    ----------
    config
        A transformers T5-family config (``helpers.flan_t5_config(name)`` gives FLAN-T5's).
    peft
        ``None`` for full finetuning, or one of :data:`PEFT_METHODS`.
    gradient_checkpointing, batch_size, seq_len
        As in AutoGluon's hyperparameters (``seq_len`` is ``model.hf_text.max_text_len``).
    precision
        ``"32"``, ``"bf16-mixed"`` or ``"16-mixed"``.
    device
        ``"cuda"`` (AdamW updates all tensors at once) or ``"cpu"`` (one at a time).

    Raises
    ------
    ValueError
        For a config outside the T5 family, an unknown method or precision, or sizes below 1.
    """
    return training_memory_terms(
        config,
        peft=peft,
        gradient_checkpointing=gradient_checkpointing,
        batch_size=batch_size,
        seq_len=seq_len,
        precision=precision,
        device=device,
    ).total_gib


def will_it_fit(
    config_or_name: Any,
    gpu: str,
    *,
    peft: str | None,
    gradient_checkpointing: bool,
    seq_len: int = 128,
    precision: str = "32",
    max_batch_size: int = 4096,
) -> int:
    """The largest batch size whose estimated training step fits ``gpu``; 0 if none does.

    ``config_or_name`` is a T5-family config or a FLAN-T5 name (``"google/flan-t5-xl"``).
    The GPU's memory, less :data:`GPU_RESERVE_GIB` for the CUDA context and the allocator,
    must hold :func:`estimate_training_memory`.

    Raises
    ------
    ValueError
        For a GPU not in :data:`helpers.GPU_MEMORY_GIB`, or an unknown model name or config.
    """
    if gpu not in GPU_MEMORY_GIB:
        raise ValueError(f"unknown GPU {gpu!r}; known: {', '.join(GPU_MEMORY_GIB)}")
    config = _resolve_config(config_or_name)
    budget = GPU_MEMORY_GIB[gpu] - GPU_RESERVE_GIB

    def fits(batch: int) -> bool:
        estimate = estimate_training_memory(
            config,
            peft=peft,
            gradient_checkpointing=gradient_checkpointing,
            batch_size=batch,
            seq_len=seq_len,
            precision=precision,
        )
        return estimate <= budget

    if not fits(1):
        return 0
    low, high = 1, max_batch_size
    if fits(high):
        return high
    while high - low > 1:  # memory grows with the batch: bisect for the last batch that fits
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low
