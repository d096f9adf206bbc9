"""Will it fit? An analytic model of the memory that training AutoGluon's text model takes.

It knows the T5 family (FLAN-T5's encoder, as AutoGluon trains it) and DeBERTa-v3
(mDeBERTa-v3-base, the book's multilingual baseline).

The model counts tensors, the way ``torch.cuda.max_memory_allocated`` does: the weights,
then the gradients and AdamW's two moments of the trainable parameters, then the
activations the forward pass keeps for the backward pass, then the short-lived buffers at
the two moments where memory can peak (the start of the backward pass, the optimizer step).
On CUDA, ``max_memory_allocated`` also counts cuBLAS's workspaces and the caching
allocator's rounding of each block (:func:`_cuda_terms`). What a GPU holds beyond what the
allocator hands out (the CUDA context, the allocator's spare blocks) is not counted;
:func:`will_it_fit` keeps it from the GPU's memory instead (:func:`helpers.usable_gpu_gib`).
Each term is explained in the book's concepts page and checked against real training steps
in chapter 5 (on a CPU: the CUDA terms are not yet checked on a GPU).

The activation coefficients are bytes per element, counted from the tensors that the
forward pass of AutoGluon's T5 and DeBERTa-v3 encoders saves for backward
(``tests/test_planner.py`` recounts them with ``torch.autograd.graph.saved_tensors_hooks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .gpus import GPU_SPECS, usable_gpu_gib
from .memory import GIB

#: Strategies the model knows: ``"full"`` is full finetuning.
PEFT_METHODS: tuple[str, ...] = ("full", "ia3", "ia3_bias")

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

#: How AutoGluon (through Lightning's ``env.strategy``) spreads training over several GPUs:
#: ``"ddp"`` replicates the model on every GPU and averages the gradients; ``"fsdp"`` (ZeRO
#: stage 3) shards weights, gradients and optimizer states across the GPUs and gathers each
#: unit's weights when it computes. The planner's FSDP has one unit per encoder block and
#: one for the rest (the embedding and the head), as ``fully_shard`` per block gives.
MULTI_GPU_STRATEGIES: tuple[str, ...] = ("ddp", "fsdp")

# Bytes saved for the backward pass in one T5 block, per element of
# (B*L*d, B*L*inner, B*L*d_ff, B*h*L*L, B*L), with inner = h*d_kv, followed by bytes per
# weight of the block's matrices (16-bit copies that mixed precision makes and keeps).
# Full finetuning keeps the inputs of every matrix product, to form weight gradients; with
# frozen weights fewer are needed, but IA3 keeps the outputs it scales. The B*h*L*L term is
# the attention scores, their softmax and its dropout mask. Keys: (full finetuning, mode),
# mode "32", "mixed" or "true" (16-bit weights; T5's layer norms still square and
# normalise in fp32, and those fp32 results are among the saved tensors).
_T5_BLOCK = {
    (True, "32"): (32, 16, 32, 12, 8, 0),
    (False, "32"): (20, 24, 28, 12, 8, 0),
    (True, "mixed"): (30, 8, 16, 8, 8, 2),
    (False, "mixed"): (16, 12, 14, 8, 8, 2),
    (True, "true"): (24, 8, 16, 8, 8, 0),
    (False, "true"): (18, 12, 14, 8, 8, 0),
}
# Outside the blocks (embedding output and its dropout, final norm, pooled output): bytes
# per B*L*d and per B*L. Keys as above. Under mixed precision these two are rounded: the
# 16-bit copies of the head and the pooled output add a few bytes per token more.
_T5_OUTSIDE = {
    (True, "32"): (20, 12),
    (False, "32"): (12, 0),
    (True, "mixed"): (16, 12),
    (False, "mixed"): (8, 0),
    (True, "true"): (14, 12),
    (False, "true"): (6, 0),
}


def precision_mode(precision: str) -> str:
    """How ``precision`` stores weights and activations: "32", "mixed" or "true"."""
    return "32" if precision == "32" else precision.split("-")[1]


@dataclass(frozen=True)
class MemoryEstimate:
    """An estimate of training memory, term by term, in GiB; ``total_gib`` is the peak.

    On several GPUs every term is one GPU's: under FSDP, the weights, gradients and
    optimizer states are its shards.
    """

    #: all parameters (fp32, or 16 bits in true 16-bit precision)
    weights_gib: float
    #: one gradient per trainable parameter, in the weights' format
    gradients_gib: float
    #: AdamW's two moments per trainable parameter, in the weights' format
    optimizer_gib: float
    #: what the forward pass keeps for the backward pass
    activations_gib: float
    #: short-lived buffers where memory peaks
    transient_gib: float
    #: where memory peaks: "backward" (its start, activations at their largest), "optimizer
    #: step", or, with FSDP, "forward" (gathering the first units) or "end of backward"
    peak_phase: str
    #: what several GPUs add at the peak: DDP's gradient buckets (a copy of the gradients);
    #: FSDP's gathered units (their full weights, and gradients before they are sharded)
    parallel_gib: float = 0.0
    #: on CUDA, what ``max_memory_allocated`` counts beyond the tensors: cuBLAS's
    #: workspaces and the caching allocator's rounding (0 on a CPU)
    cuda_gib: float = 0.0

    @property
    def total_gib(self) -> float:
        """The estimated peak: weights, optimizer states, the largest phase, and on CUDA
        what the allocator adds."""
        return (
            self.weights_gib
            + self.optimizer_gib
            + self._phase_gib()
            + self.cuda_gib
        )

    def _phase_gib(self) -> float:
        if self.peak_phase == "forward":
            return self.parallel_gib
        if self.peak_phase == "backward":
            return (
                self.activations_gib + self.transient_gib + self.parallel_gib
            )
        return self.gradients_gib + self.transient_gib + self.parallel_gib


@dataclass(frozen=True)
class _Architecture:
    family: str  # "t5" or "deberta-v2"
    d: int
    inner: int  # heads * head size
    d_ff: int
    heads: int
    layers: int
    vocab: int
    buckets: int  # T5: relative-attention buckets; DeBERTa: position buckets (the attention span)
    gated: bool


def _architecture(config: Any) -> _Architecture:
    model_type = getattr(config, "model_type", None)
    if model_type in {"t5", "mt5", "umt5"}:
        return _Architecture(
            family="t5",
            d=config.d_model,
            inner=config.num_heads * config.d_kv,
            d_ff=config.d_ff,
            heads=config.num_heads,
            layers=config.num_layers,
            vocab=config.vocab_size,
            buckets=config.relative_attention_num_buckets,
            gated=config.feed_forward_proj.startswith("gated"),
        )
    if model_type == "deberta-v2":
        supported = (
            config.relative_attention
            and config.position_buckets > 0
            and sorted(config.pos_att_type) == ["c2p", "p2c"]
            and config.share_att_key
            and not config.position_biased_input
            and not config.type_vocab_size
        )
        if not supported:
            raise ValueError(
                "estimate_training_memory knows DeBERTa-v3's attention (relative_attention, position_buckets > 0, "
                "pos_att_type c2p and p2c, share_att_key, no absolute positions, no token types); this config differs"
            )
        return _Architecture(
            family="deberta-v2",
            d=config.hidden_size,
            inner=config.hidden_size,
            d_ff=config.intermediate_size,
            heads=config.num_attention_heads,
            layers=config.num_hidden_layers,
            vocab=config.vocab_size,
            buckets=config.position_buckets,
            gated=False,
        )
    raise ValueError(
        "estimate_training_memory knows the T5 family (t5, mt5, umt5) and DeBERTa-v2/v3 (deberta-v2); got a config "
        f"of model_type {model_type or type(config).__name__!r}. Pass a transformers config, for example "
        "helpers.flan_t5_config('google/flan-t5-xl')."
    )


def _resolve_config(config_or_name: Any):
    if isinstance(config_or_name, str):
        from .models import flan_t5_config, mdeberta_v3_base_config

        if config_or_name == "microsoft/mdeberta-v3-base":
            return mdeberta_v3_base_config()
        return flan_t5_config(config_or_name)
    return config_or_name


def parameter_counts(
    config: Any, peft: str, num_classes: int = 2
) -> tuple[int, int, int]:
    """``(total, trainable, largest trainable tensor)`` of AutoGluon's model for ``config``.

    AutoGluon keeps the encoder and adds a linear head, which always trains. IA3 adds a
    scaling vector to the outputs of the layers ``optim.lora.filter`` names: q, k, v and o
    in T5, the query and value projections in DeBERTa. ``ia3_bias`` also trains whatever
    has ``bias`` in its name: every bias of DeBERTa; in T5, which has no bias vectors, the
    relative position bias table of its first block. In T5, AutoGluon also trains the final
    layer norm.
    """
    a = _architecture(config)
    _check_peft(peft, a)
    head = a.d * num_classes + num_classes
    embedding = a.vocab * a.d
    if a.family == "t5":
        block = _t5_block_params(a)
        position_bias = a.buckets * a.heads
        total = embedding + a.layers * block + position_bias + a.d + head
        if peft == "full":
            return total, total, max(embedding, a.d_ff * a.d)
        ia3 = a.layers * _t5_ia3_params(a)
        bias = position_bias if peft.endswith("_bias") else 0
        return (
            total + ia3,
            ia3 + head + a.d + bias,
            max(bias, a.d * num_classes, a.d),
        )
    # DeBERTa-v3: q, k, v, o and two feed-forward matrices with biases, two layer norms per
    # block; an embedding layer norm; the relative position embeddings and their layer norm
    block = (
        4 * (a.d * a.d + a.d)
        + 2 * a.d
        + 2 * a.d * a.d_ff
        + a.d_ff
        + a.d
        + 2 * a.d
    )
    total = (
        embedding
        + 2 * a.d
        + a.layers * block
        + 2 * a.buckets * a.d
        + 2 * a.d
        + head
    )
    if peft == "full":
        return total, total, embedding
    ia3 = a.layers * 2 * a.d
    biases = a.layers * (4 * a.d + 2 * a.d + a.d_ff + a.d) + 2 * a.d
    return total + ia3, ia3 + biases + head, max(a.d_ff, a.d * num_classes)


def _t5_block_params(a: _Architecture) -> int:
    """Parameters of one T5 block: q, k, v, o, the feed-forward matrices, two layer norms."""
    return (
        4 * a.d * a.inner
        + ((2 if a.gated else 1) + 1) * a.d * a.d_ff
        + 2 * a.d
    )


def _t5_ia3_params(a: _Architecture) -> int:
    """IA3's scaling vectors in one T5 block."""
    return 3 * a.inner + a.d


def _check_peft(peft: str, architecture: _Architecture) -> None:
    known = (
        PEFT_METHODS if architecture.family == "t5" else ("full", "ia3_bias")
    )
    if peft not in known:
        names = ", ".join(repr(p) for p in known)
        raise ValueError(
            f"no memory model for peft={peft!r} on {architecture.family}; known: {names}"
        )


def _t5_activations(
    a: _Architecture, peft: str, mode: str, batch: int, length: int
) -> tuple[int, int]:
    """Bytes saved by one T5 block, and outside the blocks (``mode`` as in _T5_BLOCK)."""
    full = peft == "full"
    tokens = batch * length
    c_d, c_inner, c_ff, c_scores, c_tok, c_weight = _T5_BLOCK[full, mode]
    matrices = 4 * a.d * a.inner + (3 if a.gated else 2) * a.d * a.d_ff
    block = tokens * (c_d * a.d + c_inner * a.inner + c_ff * a.d_ff + c_tok)
    block += c_scores * batch * a.heads * length**2 + c_weight * matrices
    o_d, o_tok = _T5_OUTSIDE[full, mode]
    outside = tokens * (o_d * a.d + o_tok)
    if full or peft.endswith("_bias"):
        # int64 relative-position buckets, kept for the trained bias table
        outside += 8 * length**2
    return block, outside


def _deberta_activations(
    a: _Architecture, peft: str, batch: int, length: int
) -> tuple[int, int]:
    """Bytes saved by one DeBERTa-v3 block (fp32), and outside the blocks.

    Disentangled attention adds to T5's terms: content-to-position and position-to-content
    scores over 2k relative positions (k = position_buckets), their int64 gather indices,
    and the projected position embeddings (2k x d, per sequence).
    """
    full = peft == "full"
    tokens, span = batch * length, 2 * a.buckets
    block = tokens * (
        (44 if full else 40) * a.d + (8 if full else 4) * a.d_ff + 16
    )
    # scores, softmax and dropout output; the mask; the int64 gather indices (one L x L each,
    # expanded over the batch and heads without a copy)
    block += (
        12 * batch * a.heads * length**2 + batch * length**2 + 16 * length**2
    )
    block += (
        8 * batch * a.heads * length * span
        + 8 * span * a.d
        + 8 * batch * span * a.d
    )
    # embedding, its norm, pooled output; token ids
    outside = tokens * (12 * a.d + 12 + (8 if full else 0))
    # the norm statistics of the relative position embeddings
    outside += 2 * 4 * span
    return block, outside


def estimate_training_memory(
    config: Any,
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
) -> MemoryEstimate:
    """Estimated tensor memory of one training step of AutoGluon's text model, term by term.

    ``.total_gib`` of the result is the estimated peak, in GiB (per GPU, with ``gpus``).

    The peak is the weights and optimizer states, plus the larger of two phases: the start
    of the backward pass (all saved activations, and a block's gradients being formed) or
    the optimizer step (all gradients, and AdamW's temporaries).

    On several GPUs (``gpus`` > 1, ``batch_size`` per GPU), ``strategy="ddp"`` adds DDP's
    gradient buckets to every GPU. ``"fsdp"`` divides weights, gradients and optimizer
    states by ``gpus`` and adds the units it gathers: when the forward pass starts, the
    rest (embedding and head) and the first block, each held twice (the gathered buffer
    and the parameters copied out of it); in the backward pass, the rest and one block
    (twice); at its end, the rest's weights and its gradient, not yet sharded.

    On CUDA the estimate also holds ``cuda_gib``: cuBLAS's workspaces and the caching
    allocator's rounding of the weights, gradients and optimizer states
    (``_cuda_terms``), which ``torch.cuda.max_memory_allocated`` counts. These CUDA
    terms are read from PyTorch's source and not yet checked on a GPU.

    Parameters
    ----------
    config
        A transformers config of the T5 family (``helpers.flan_t5_config(name)`` gives
        FLAN-T5's) or of DeBERTa-v3 (``helpers.mdeberta_v3_base_config()``).
    peft
        ``"full"`` for full finetuning, or one of :data:`PEFT_METHODS` (DeBERTa:
        ``"full"`` or ``"ia3_bias"``).
    gradient_checkpointing, batch_size, seq_len
        As in AutoGluon's hyperparameters (``seq_len`` is ``model.hf_text.max_text_len``).
    precision
        One of :data:`PRECISIONS`: ``"32"``, ``"bf16-mixed"``, ``"16-mixed"``,
        ``"bf16-true"`` or ``"16-true"``.
    device
        ``"cuda"`` (AdamW updates all tensors at once) or ``"cpu"`` (one at a time).
    gpus, strategy
        How many GPUs train together, and how: one of :data:`MULTI_GPU_STRATEGIES`.
    gpu
        On CUDA, the card (a name in :data:`helpers.gpus.GPU_SPECS`), whose architecture
        sets the size of cuBLAS's workspace. By default, any card but a Hopper (a T4).

    Raises
    ------
    ValueError
        For a config of another architecture, an unknown method, precision or strategy
        (16-bit precision and FSDP for DeBERTa), or sizes below 1.
    """
    a = _architecture(config)
    _check_peft(peft, a)
    if precision not in PRECISIONS:
        raise ValueError(
            f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}"
        )
    if precision != "32" and a.family != "t5":
        raise ValueError(
            f"16-bit precision is modelled for the T5 family only; use precision='32' for {a.family}"
        )
    if batch_size < 1 or seq_len < 1:
        raise ValueError(
            f"batch_size and seq_len must be at least 1, got {batch_size} and {seq_len}"
        )
    if device not in {"cuda", "cpu"}:
        raise ValueError(f"device must be 'cuda' or 'cpu', got {device!r}")
    if gpu is not None and gpu not in GPU_SPECS:
        raise ValueError(
            f"unknown GPU {gpu!r}; known: {', '.join(GPU_SPECS)}"
        )
    if gpus < 1 or strategy not in MULTI_GPU_STRATEGIES:
        raise ValueError(
            f"gpus must be at least 1 and strategy one of {', '.join(MULTI_GPU_STRATEGIES)}; "
            f"got {gpus} and {strategy!r}"
        )
    if gpus > 1 and strategy == "fsdp" and a.family != "t5":
        raise ValueError(
            f"FSDP is modelled for the T5 family only; use strategy='ddp' for {a.family}"
        )
    total, trainable, largest = parameter_counts(config, peft)
    tokens = batch_size * seq_len
    scores = batch_size * a.heads * seq_len**2
    mode = precision_mode(precision)
    # bytes per number of weights, gradients, AdamW moments and hidden states
    size = 2 if mode == "true" else 4
    if a.family == "t5":
        block, outside = _t5_activations(a, peft, mode, batch_size, seq_len)
        score_gradients = 8 * scores
    else:
        block, outside = _deberta_activations(a, peft, batch_size, seq_len)
        score_gradients = (
            8 * scores + 8 * batch_size * a.heads * seq_len * 2 * a.buckets
        )
    if gradient_checkpointing:
        # each block keeps only its input; the backward pass recomputes one block at a time
        activations = a.layers * size * tokens * a.d + block + outside
    else:
        activations = a.layers * block + outside
    # in a block's backward pass: gradients of the attention scores and of their softmax
    # (and, in DeBERTa, of the position scores),
    # and the gradient of the hidden state (twice with checkpointing: in and out of a block).
    # The score gradients stay fp32-sized in 16 bits too: T5 takes its softmax in fp32.
    backward_transient = score_gradients + size * tokens * a.d * (
        2 if gradient_checkpointing else 1
    )
    # AdamW on CUDA updates all tensors at once (foreach): sqrt(exp_avg_sq) of every
    # trainable parameter; on CPU one tensor at a time: two temporaries of the largest one
    step_transient = (
        size * trainable if device == "cuda" else 2 * size * largest
    )

    def at(phase: str, transient: float, parallel: float, shards: int = 1):
        """The estimate if memory peaks at ``phase``, the states divided in ``shards``."""
        cuda = (
            _cuda_terms(a, peft, size, gpu, shards)
            if device == "cuda"
            else 0
        )
        return MemoryEstimate(
            weights_gib=size * total / shards / GIB,
            gradients_gib=size * trainable / shards / GIB,
            optimizer_gib=2 * size * trainable / shards / GIB,
            activations_gib=activations / GIB,
            transient_gib=transient / GIB,
            peak_phase=phase,
            parallel_gib=parallel / GIB,
            cuda_gib=cuda / GIB,
        )

    if gpus > 1 and strategy == "fsdp":
        block, rest, rest_trainable = _fsdp_units(a, peft)
        phases = (
            at("forward", 0, 2 * size * (rest + block), gpus),
            at(
                "backward",
                backward_transient,
                size * (rest + 2 * block),
                gpus,
            ),
            at("end of backward", 0, size * (rest + rest_trainable), gpus),
            at("optimizer step", step_transient / gpus, 0, gpus),
        )
    else:
        # DDP: each GPU holds everything, and a bucket copy of the gradients to average
        buckets = size * trainable if gpus > 1 else 0
        phases = (
            at("backward", backward_transient, buckets),
            at("optimizer step", step_transient, buckets),
        )
    return max(phases, key=lambda estimate: estimate.total_gib)


def _fsdp_units(a: _Architecture, peft: str) -> tuple[int, int, int]:
    """Parameters of FSDP's largest block unit, of the unit of the rest, and of what trains
    in the rest (units: one per T5 block, one for everything else)."""
    # the largest block is the first, which holds the relative position bias table
    block = _t5_block_params(a) + a.buckets * a.heads
    if peft != "full":
        block += _t5_ia3_params(a)
    head = 2 * a.d + 2
    # the rest: embedding, final layer norm and head; with PEFT the last two train
    rest = a.vocab * a.d + a.d + head
    return block, rest, rest if peft == "full" else a.d + head


# The CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp in PyTorch's source):
# every request is rounded up to a multiple of 512 bytes (kMinBlockSize); requests of at
# most 1 MiB (kSmallSize) come from the small pool's 2 MiB segments, larger ones from the
# large pool: below 10 MiB (kMinLargeAlloc) from 20 MiB segments, above it from a segment
# of their size rounded up to 2 MiB (kRoundLarge). A large-pool block is split only when
# more than 1 MiB would remain (should_split); otherwise the request takes all of it, and
# ``allocated_bytes`` (what max_memory_allocated reports) counts the block's size.
_MIN_BLOCK = 512
_SMALL_SIZE = 1 << 20
_MIN_LARGE_ALLOC = 10 << 20
_ROUND_LARGE = 2 << 20


def _allocated_block(nbytes: int) -> int:
    """Bytes the CUDA caching allocator counts for a fresh request of ``nbytes``."""
    size = -(-max(nbytes, 1) // _MIN_BLOCK) * _MIN_BLOCK
    if size < _MIN_LARGE_ALLOC:
        # small pool, or a 20 MiB segment: the rest (over 1 MiB) is split off
        return size
    segment = -(-size // _ROUND_LARGE) * _ROUND_LARGE
    return segment if segment - size <= _SMALL_SIZE else size


def _cublas_workspace_bytes(gpu: str | None) -> int:
    """cuBLAS's workspace for one (handle, stream), and cuBLASLt's beside it.

    PyTorch takes both from the caching allocator (aten/src/ATen/cuda/CublasHandlePool.cpp:
    ``getNewWorkspace``, ``getNewCUDABlasLtWorkspace``). Without ``CUBLAS_WORKSPACE_CONFIG``
    the cuBLAS one is ``:4096:2:16:8`` (2 x 4096 KiB + 8 x 16 KiB = 8,320 KiB), 32 MiB on a
    Hopper (compute capability 9.0); cuBLASLt's is ``CUBLASLT_WORKSPACE_SIZE``, 1024 KiB by
    default. The docs describe the variable: "Reproducibility" in PyTorch's notes, and
    cuBLAS's ``cublasSetWorkspace``.
    """
    hopper = gpu is not None and GPU_SPECS[gpu].compute_capability == (9, 0)
    cublas = 4096 * 8 * 1024 if hopper else 4096 * 1024 * 2 + 16 * 1024 * 8
    return cublas + 1024 * 1024


#: Threads that call cuBLAS in a training step: the forward pass runs on the main thread,
#: the backward pass on autograd's thread for the device, and PyTorch keeps one handle,
#: hence one workspace, per thread and stream.
_CUBLAS_THREADS = 2


def _parameter_tensors(
    a: _Architecture, peft: str
) -> list[tuple[int, bool]]:
    """``(elements, trainable)`` of every parameter tensor of AutoGluon's model for ``a``
    (two classes); they add up to :func:`parameter_counts`."""
    full = peft == "full"
    head = [(a.d * 2, True), (2, True)]
    if a.family == "t5":
        matrices = 4 + (2 if a.gated else 1) + 1
        sizes = [a.d * a.inner] * 4 + [a.d * a.d_ff] * (matrices - 4)
        block = [(n, full) for n in sizes] + [(a.d, full)] * 2
        ia3 = [] if full else [(a.inner, True)] * 3 + [(a.d, True)]
        bias = full or peft.endswith("_bias")
        tensors = [(a.vocab * a.d, full), (a.buckets * a.heads, bias)]
        tensors += (block + ia3) * a.layers
        return tensors + [(a.d, True)] + head
    # DeBERTa-v3: biases train with ia3_bias, and so do the two IA3 vectors per block
    weights = [(a.d * a.d, full)] * 4 + [(a.d * a.d_ff, full)] * 2
    biases = [(a.d, True)] * 4 + [(a.d_ff, True), (a.d, True)]
    norms = [(a.d, full), (a.d, True)] * 2
    ia3 = [] if full else [(a.d, True)] * 2
    block = weights + biases + norms + ia3
    tensors = [(a.vocab * a.d, full), (a.d, full), (a.d, True)]
    tensors += block * a.layers
    tensors += [(2 * a.buckets * a.d, full), (a.d, full), (a.d, True)]
    return tensors + head


def _cuda_terms(
    a: _Architecture, peft: str, size: int, gpu: str | None, shards: int
) -> float:
    """Bytes ``torch.cuda.max_memory_allocated`` counts beyond the tensors themselves.

    cuBLAS's workspaces (:func:`_cublas_workspace_bytes`, one per calling thread), and the
    caching allocator's rounding (:func:`_allocated_block`) of every weight, and of the
    gradient and AdamW's two moments of every trainable one (``size`` bytes an element;
    divided by ``shards`` under FSDP). Activations are multiples of 512 bytes for these
    models; their large-pool rounding is not modelled. Read from PyTorch's source, and not
    yet checked on a GPU.
    """
    rounding = 0
    for elements, trainable in _parameter_tensors(a, peft):
        nbytes = size * elements
        extra = _allocated_block(nbytes) - nbytes
        rounding += extra * (4 if trainable else 1)
    workspaces = _CUBLAS_THREADS * _cublas_workspace_bytes(gpu)
    return workspaces + rounding / shards


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
) -> int:
    """The largest batch size whose estimated training step fits ``gpu``; 0 if none does.

    With ``gpus`` > 1 (``strategy`` as for :func:`estimate_training_memory`) it is the
    batch per GPU.

    ``config_or_name`` is a config as for :func:`estimate_training_memory`, a FLAN-T5 name
    (``"google/flan-t5-xl"``) or ``"microsoft/mdeberta-v3-base"``.
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
