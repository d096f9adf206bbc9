"""The training-memory estimators readers use today, computed as their sources compute
them, beside the book's planner (chapter 5).

- **accelerate** (``accelerate estimate-memory``, which the Hugging Face "model memory"
  calculator runs): ``estimate_training_usage`` in ``accelerate/commands/estimate.py``,
  called here itself. For fp32 it counts the weights, their gradients and AdamW's two
  moments, and reports the largest of its terms, "step", 4 times the weights; in 16-bit
  mixed precision, the optimizer's 2 times the fp32 weights.
- **The Transformers docs** ("Model training anatomy"): 4 bytes a parameter for the fp32
  weights (6 mixed), 8 for AdamW's states and 4 for the gradients, "plus activation
  memory", which they do not size: 16 bytes a parameter, 18 in mixed precision.
- **DeepSpeed**: ``estimate_zero2_model_states_mem_needs`` in
  ``deepspeed/runtime/zero/stage_1_and_2.py`` (DeepSpeed is not installed; its formula is
  quoted): without CPU offload, ``gpu_mem = 4 * total_params + int(16 * total_params /
  total_gpus)``, model states only, "activations and temporary buffers" left to the user
  (its docs, "Memory Requirements").

All three count every parameter, frozen or trained (accelerate sizes the whole module;
DeepSpeed's ``model_to_params`` sums ``p.numel()`` over ``model.parameters()``), and no
activations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .gpus import GIB

#: The estimators :func:`estimator_errors` compares, in its columns' order.
ESTIMATORS: tuple[str, ...] = (
    "planner",
    "accelerate",
    "Transformers docs",
    "DeepSpeed ZeRO-2",
)

#: What :func:`estimator_errors` reads of each measured step.
STEP_KEYS = frozenset(
    {
        "measured_gib",
        "planner_gib",
        "total_params",
        "weights_gib",
        "precision",
    }
)

#: Bytes per parameter of the Transformers docs' rule (weights, AdamW, gradients).
TRANSFORMERS_DOCS_BYTES = {"32": 4 + 8 + 4, "mixed": 6 + 8 + 4}


def accelerate_training_gib(
    weights_bytes: int, precision: str = "32"
) -> float:
    """accelerate's training estimate for a model whose weights take ``weights_bytes``
    in fp32: the largest term of ``estimate_training_usage`` (its own function)."""
    from accelerate.commands.estimate import estimate_training_usage

    dtype = "float32" if precision == "32" else "bfloat16"
    return max(estimate_training_usage(weights_bytes, dtype).values()) / GIB


def transformers_docs_gib(total_params: int, precision: str = "32") -> float:
    """The Transformers docs' rule: 16 bytes a parameter in fp32, 18 in mixed
    precision."""
    mode = "32" if precision == "32" else "mixed"
    return TRANSFORMERS_DOCS_BYTES[mode] * total_params / GIB


def deepspeed_zero2_gib(total_params: int, gpus: int = 1) -> float:
    """DeepSpeed's ZeRO-2 model states per GPU without CPU offload, as its
    ``estimate_zero2_model_states_mem_needs`` computes them."""
    return (4 * total_params + int(16 * total_params / gpus)) / GIB


def estimator_errors(steps: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Each estimator's error against each measured step: estimate / measured - 1.

    ``steps`` are measured training steps on one device each, as mappings with
    ``measured_gib`` (the tensor peak), ``planner_gib`` (the book's planner for the same
    configuration), ``total_params``, ``weights_gib`` (the fp32 weights) and
    ``precision``. Returns one row per step and one column per estimator of
    :data:`ESTIMATORS`.

    Raises
    ------
    KeyError
        If a step lacks one of those keys (the message names it).
    """
    rows = []
    for step in steps:
        missing = STEP_KEYS - set(step)
        if missing:
            raise KeyError(f"a step without {sorted(missing)}")
        estimates = (
            step["planner_gib"],
            accelerate_training_gib(
                round(step["weights_gib"] * GIB), step["precision"]
            ),
            transformers_docs_gib(step["total_params"], step["precision"]),
            deepspeed_zero2_gib(step["total_params"]),
        )
        rows.append(
            {
                name: estimate / step["measured_gib"] - 1
                for name, estimate in zip(ESTIMATORS, estimates)
            }
        )
    return pd.DataFrame(rows, columns=list(ESTIMATORS))
