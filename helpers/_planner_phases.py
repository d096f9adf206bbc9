"""Where a training step's memory can peak, for each way of training on one GPU or
several, what is alive then (:class:`MemoryEstimate`, public as
``helpers.MemoryEstimate``), and AdamW's temporaries at the optimizer step: the planner's
estimate (:func:`helpers.estimate_training_memory`, which explains each phase) without
its checks. Plain arithmetic.

**AdamW's temporaries.** AutoGluon builds ``torch.optim.AdamW(groups, lr, weight_decay,
eps, betas)`` with neither ``foreach`` nor ``fused`` (``get_optimizer`` in
``autogluon/multimodal/optim/utils.py``), on the groups of its default
``optim.lr_choice: layerwise_decay`` (``apply_layerwise_lr_decay`` in
``optim/lr/utils.py``): one group per layer and weight decay, so for full finetuning one
per block and one for the embedding. ``Optimizer.step`` updates one group at a time
(``torch/optim/adam.py``: ``Adam.step`` calls ``adam()`` per group). With neither flag
set, ``_default_to_fused_or_foreach`` (``torch/optim/optimizer.py``) picks the *foreach*
path on CUDA and the single-tensor loop on a CPU; fused is never the default. The
foreach path (``_multi_tensor_adam``) updates the moments in place and makes one
full-size temporary, ``torch._foreach_sqrt(device_exp_avg_sqs)`` for the whole group
(per device and dtype), freed before the next group: the largest group's size, not every
trainable parameter's. The single-tensor loop (``_single_tensor_adam``) makes
``exp_avg_sq.sqrt()`` and the step's quotient per parameter: twice the largest tensor.
Read in PyTorch 2.13's and AutoGluon 1.6.3's source, the versions the book pins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ._architecture import Architecture, fsdp_units, largest_optimizer_group
from .gpus import GIB


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
    #: where memory peaks, "backward" (its start, activations at their largest),
    #: "optimizer step", or, with FSDP, "forward" (gathering the first units), "end of
    #: forward" (one unit: its gathered copies beside the activations) or "end of
    #: backward"
    peak_phase: str
    #: what several GPUs add at the peak, DDP's gradient buckets (a copy of the
    #: gradients) or FSDP's gathered units (their full weights, and gradients before
    #: they are sharded)
    parallel_gib: float = 0.0
    #: on CUDA, what ``max_memory_allocated`` counts beyond the tensors, cuBLAS's
    #: workspaces and the caching allocator's rounding (0 on a CPU)
    cuda_gib: float = 0.0
    #: whether the previous micro-batch's gradients are alive through the forward and
    #: backward pass, as in AutoGluon's fit (see :func:`estimate_training_memory`)
    gradients_kept: bool = True

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

    @property
    def counts_activations(self) -> bool:
        """Whether the activations are alive at the peak."""
        return self.peak_phase in ("backward", "end of forward")

    def _phase_gib(self) -> float:
        kept = self.gradients_gib if self.gradients_kept else 0.0
        if self.peak_phase == "forward":
            return self.parallel_gib + kept
        if self.counts_activations:
            return (
                self.activations_gib
                + self.transient_gib
                + self.parallel_gib
                + kept
            )
        return self.gradients_gib + self.transient_gib + self.parallel_gib


class Counts(NamedTuple):
    """A step's sizes: bytes a number, parameters, and bytes of activations."""

    size: int  #: bytes per weight, gradient, AdamW moment and hidden-state number
    total: int  #: parameters
    trainable: int  #: trainable parameters
    activations: float  #: bytes the forward pass keeps for the backward pass
    block: float  #: bytes one block keeps, without checkpointing


class Phase(NamedTuple):
    """A moment where memory can peak, and what is alive then besides the states."""

    name: str
    transient: float  #: bytes of short-lived buffers
    parallel: float  #: bytes several GPUs add: buckets, gathered units
    shards: int = 1  #: the weights, gradients and moments divided in
    alive: float | None = None  #: bytes of activations alive (None: all)

    def estimate(
        self, counts: Counts, cuda: float, gradients_kept: bool
    ) -> MemoryEstimate:
        """The estimate if memory peaks here; ``cuda``: the bytes of
        :func:`helpers._cuda_terms.cuda_terms` (0 on a CPU)."""
        alive = counts.activations if self.alive is None else self.alive
        return MemoryEstimate(
            weights_gib=counts.size * counts.total / self.shards / GIB,
            gradients_gib=counts.size * counts.trainable / self.shards / GIB,
            optimizer_gib=2
            * counts.size
            * counts.trainable
            / self.shards
            / GIB,
            activations_gib=alive / GIB,
            transient_gib=self.transient / GIB,
            peak_phase=self.name,
            parallel_gib=self.parallel / GIB,
            cuda_gib=cuda / GIB,
            gradients_kept=gradients_kept,
        )


def step_transient(
    a: Architecture,
    peft: str,
    lora_rank: int,
    size: int,
    largest: int,
    device: str,
) -> float:
    """Bytes of AdamW's temporaries at the optimizer step, ``size`` bytes a number: on
    CUDA the foreach path's ``sqrt(exp_avg_sq)`` of AutoGluon's largest parameter
    group; on a CPU the single-tensor loop's two temporaries of the ``largest``
    trainable tensor."""
    if device == "cuda":
        return size * largest_optimizer_group(a, peft, lora_rank)
    return 2 * size * largest


def phases(
    a: Architecture,
    peft: str,
    lora_rank: int,
    counts: Counts,
    *,
    gpus: int,
    strategy: str,
    backward_transient: float,
    step_transient: float,
    gradient_checkpointing: bool,
) -> tuple[Phase, ...]:
    """The phases where a step can peak on ``gpus`` GPUs under ``strategy``."""
    size, total, trainable = counts.size, counts.total, counts.trainable
    if gpus > 1 and strategy == "fsdp":
        # one unit: all the weights gathered; in the backward pass the activations are
        # freed as the unsharded gradients form, and at its end each gradient is
        # reduce-scattered into a new shard: it holds the larger of the two
        unsharded_gradients = max(
            0, size * trainable * (1 + 1 / gpus) - counts.activations
        )
        # at the end of the forward pass, with checkpointing, the last block computes
        # keeping nothing, but about half its activations are alive at once (0.40 to 0.55
        # of them, measured with one-unit FSDP on three sizes of T5 on a CPU)
        forward = counts.activations - (
            counts.block / 2 if gradient_checkpointing else 0
        )
        return (
            Phase("end of forward", 0, 2 * size * total, gpus, forward),
            Phase(
                "backward",
                backward_transient,
                size * total + unsharded_gradients,
                gpus,
            ),
            Phase("optimizer step", step_transient / gpus, 0, gpus),
        )
    if gpus > 1 and strategy == "fsdp-per-block":
        block, rest, rest_trainable = fsdp_units(a, peft, lora_rank)
        return (
            Phase("forward", 0, 2 * size * (rest + block), gpus),
            Phase(
                "backward",
                backward_transient,
                size * (rest + 2 * block),
                gpus,
            ),
            Phase(
                "end of backward", 0, size * (rest + rest_trainable), gpus
            ),
            Phase("optimizer step", step_transient / gpus, 0, gpus),
        )
    # DDP: each GPU holds everything, and a bucket copy of the gradients to average
    buckets = size * trainable if gpus > 1 else 0
    return (
        Phase("backward", backward_transient, buckets),
        Phase("optimizer step", step_transient, buckets),
    )
