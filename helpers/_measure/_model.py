"""AutoGluon's text model, built as ``fit`` builds it, with real or stand-in weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..planner import check_precision, precision_mode


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
    AutoGluon hyperparameters, such as ``optim.lora.filter``. An unknown ``precision``
    raises ``ValueError`` before anything is imported or built.

    With ``pretrained=False`` the weights are stand-ins (:func:`_stand_in_weights`): memory
    and time do not depend on the values, and drawing random ones for FLAN-T5-XL takes
    30 s. The model is then built without weights (on PyTorch's meta device) and each
    weight is created once, on ``device`` and in ``precision``: FLAN-T5-XXL's encoder in
    bf16 takes 8.9 GiB, never the 17.7 GiB of its fp32 build, and a GPU's model never
    passes through the host's memory.
    """
    check_precision(precision)
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


def _dtype(precision: str):  # noqa: ANN202
    """The torch dtype of the weights in ``precision``, a checked one (mixed precision keeps
    them fp32)."""
    import torch

    if precision_mode(precision) != "true":
        return torch.float32
    return torch.bfloat16 if precision.startswith("bf16") else torch.float16
