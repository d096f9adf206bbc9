"""What crosses between the processes of a measurement: its settings, its results, and a
child's reply; each travels as one line of JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .._checks import require_count
from ..planner import (
    PRECISIONS,
    check_precision,
    check_strategy,
    precision_mode,
)

#: The precisions a measurement runs, fp32 and the planner's true 16-bit ones (mixed
#: precision needs a GPU's autocast).
MEASURABLE_PRECISIONS: tuple[str, ...] = tuple(
    p for p in PRECISIONS if precision_mode(p) != "mixed"
)


class NotEnoughMemoryError(RuntimeError):
    """A measurement needs more free memory than this machine has: it was not started."""


@dataclass(frozen=True)
class StepSettings:
    """What to measure: one model, built once with stand-in weights, then ``steps``
    training steps at each batch size (the arguments of
    :func:`helpers.measure_training_steps`, which documents each)."""

    checkpoint: str
    peft: str
    gradient_checkpointing: bool
    batch_sizes: tuple[int, ...] = (1,)
    seq_len: int = 128
    steps: int = 1
    label: str | None = None
    precision: str = "32"
    ranks: int = 1
    strategy: str = "fsdp"
    needs_gib: float | None = None
    #: further AutoGluon hyperparameters (JSON values), as in
    #: :func:`build_autogluon_text_model`
    overrides: dict[str, Any] | None = None

    def check(self) -> None:
        """Raise ``ValueError`` for a precision or a sharing of ranks that cannot run, or
        sizes below 1 (``TypeError`` for sizes that are not whole numbers)."""
        check_precision(self.precision, MEASURABLE_PRECISIONS)
        check_strategy(self.ranks, self.strategy, "ranks")
        if not self.batch_sizes:
            raise ValueError(
                "batch_sizes is empty; give at least one, such as (1,)"
            )
        for batch_size in self.batch_sizes:
            require_count(batch_size, "each of batch_sizes")
        require_count(self.seq_len, "seq_len")
        require_count(self.steps, "steps")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> StepSettings:
        fields = json.loads(text)
        return cls(**{**fields, "batch_sizes": tuple(fields["batch_sizes"])})


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
    #: step peak of tensors alone (weights, gradients, optimizer states, activations)
    tensor_peak_gib: float
    step_s: float  #: seconds of one step (the fastest of the measured steps)
    device: str
    #: "32", or "bf16-true" and "16-true" for weights in 16 bits
    precision: str = "32"
    #: processes that trained the model together (each measured on its own)
    ranks: int = 1
    #: the previous step's gradients were alive through the forward and backward pass,
    #: as in AutoGluon's fit (this book's measuring loop since 2026-12-06; the GPU record
    #: of 2026-12-04 zeroed them after each step)
    gradients_kept: bool = True
    #: the tensors' peak in each phase of a step ("forward", "backward", "optimizer
    #: step"), the largest over the steps
    phase_peaks_gib: dict[str, float] | None = None
    #: AdamW's implementation that ran ("foreach" on CUDA, "single-tensor" on a CPU)
    optimizer: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    """What a forked child sends back, and the server with it: the child's records
    (``as_dict()`` of each result), why it skipped (the message of a
    :class:`NotEnoughMemoryError`), or what failed (a traceback)."""

    records: tuple[dict[str, Any], ...] = ()
    skipped: str | None = None
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Reply:
        fields = json.loads(text)
        return cls(**{**fields, "records": tuple(fields["records"])})
