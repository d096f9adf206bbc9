"""Count parameters of a predictor or a module."""

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
    import torch

    if isinstance(predictor_or_module, torch.nn.Module):
        module = predictor_or_module
    else:
        learner = getattr(predictor_or_module, "_learner", None)
        module = getattr(learner, "_model", None)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                "count_parameters takes a torch.nn.Module or a fitted MultiModalPredictor, "
                f"got {type(predictor_or_module).__name__} (fit the predictor first?)"
            )
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return trainable, total
