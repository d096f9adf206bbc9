"""Count and list the parameters of a predictor or a module."""

from __future__ import annotations

from typing import Any


def count_parameters(predictor_or_module: Any) -> tuple[int, int]:
    """Return ``(trainable, total)`` parameter counts.

    Accepts a fitted ``MultiModalPredictor`` (its model, with the trainable flags that
    ``fit`` set for the chosen PEFT method) or any ``torch.nn.Module``.

    Raises
    ------
    TypeError
        For anything else, or a predictor that has not been fitted.
    """
    module = _module_of(predictor_or_module)
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(
        p.numel() for p in module.parameters() if p.requires_grad
    )
    return trainable, total


def unused_parameters(predictor_or_module: Any) -> int:
    """How many of the trainable parameters get no gradient: a pooler in AutoGluon's text
    model (BERT's, 384 x 384 and a bias in e5-small).

    AutoGluon leaves every parameter named ``pooler`` trainable, but its text model
    (``HFAutoModelForTextPrediction.forward``) classifies from the encoder's last hidden
    states, the first token's or their mean, and never calls the pooler: those parameters
    get no gradient and no optimizer state, and they never change. Subtract this from
    :func:`count_parameters`'s trainable count to count what trains. Accepts what
    :func:`count_parameters` accepts; 0 for a model without such a pooler (T5).

    Raises
    ------
    TypeError
        For anything else, or a predictor that has not been fitted.
    """
    from autogluon.multimodal.models.hf_text import (
        HFAutoModelForTextPrediction,
    )

    return sum(
        p.numel()
        for text_model in _module_of(predictor_or_module).modules()
        if isinstance(text_model, HFAutoModelForTextPrediction)
        and hasattr(text_model.model, "pooler")
        and text_model.model.pooler is not None
        for p in text_model.model.pooler.parameters()
        if p.requires_grad
    )


def _module_of(predictor_or_module: Any):
    import torch

    if isinstance(predictor_or_module, torch.nn.Module):
        return predictor_or_module
    module = getattr(
        getattr(predictor_or_module, "_learner", None), "_model", None
    )
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            "expected a torch.nn.Module or a fitted MultiModalPredictor, "
            f"got {type(predictor_or_module).__name__} (fit the predictor first?)"
        )
    return module


def trainable_parameter_table(predictor_or_module: Any):
    """What is trainable, grouped over layers: one row per parameter name pattern.

    Layer numbers in names become ``*`` (``encoder.layer.*.attention.self.query.lora_b``),
    so a 24-layer model gives the same short table as a 6-layer one. Columns: ``tensors``
    (how many layers have it) and ``parameters`` (their total size), largest first.
    """
    import re

    import pandas as pd

    rows: dict[str, list[int]] = {}
    for name, parameter in _module_of(
        predictor_or_module
    ).named_parameters():
        if parameter.requires_grad:
            pattern = re.sub(r"\.\d+\.", ".*.", name)
            tensors, size = rows.get(pattern, [0, 0])
            rows[pattern] = [tensors + 1, size + parameter.numel()]
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["tensors", "parameters"]
    )
    table.index.name = "trainable parameter"
    return table.sort_values("parameters", ascending=False, kind="stable")
