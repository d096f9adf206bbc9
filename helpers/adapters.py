"""PEFT's payoff on disk: the tensors ``fit`` trained, saved alone, and put back.

A PEFT predictor's folder holds the whole model, frozen weights included. What training
changed is only its trainable tensors (for ``ia3_bias``: the IA3 vectors, the biases, the
head). :func:`save_adapter` writes those alone to a safetensors file;
:func:`predictor_from_adapter` rebuilds the model from the pretrained checkpoint, as
``fit`` built it, puts the saved tensors in, and hands back a predictor that uses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._files import staged
from .parameters import _module_of
from .steps import build_autogluon_text_model


def save_adapter(predictor: Any, path: str | Path) -> Path:
    """Write the trainable tensors of ``predictor``'s model, and only those, to ``path``.

    The file is a safetensors file (``<name>.safetensors``) named by the tensors' names in
    the model, written whole or not at all (a failure leaves no half file). Returns its
    path.

    Raises
    ------
    TypeError
        If ``predictor`` is neither a fitted ``MultiModalPredictor`` nor a module.
    ValueError
        If ``path`` does not end in ``.safetensors``, or every parameter is trainable:
        full finetuning, or a predictor loaded with ``MultiModalPredictor.load``, which
        does not restore which tensors ``fit`` trained (save right after ``fit``).
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(
            f"{path.name!r}: name the adapter file <name>.safetensors"
        )
    module = _module_of(predictor)
    tensors = {
        name: parameter.detach().cpu().contiguous()
        for name, parameter in module.named_parameters()
        if parameter.requires_grad
    }
    if len(tensors) == sum(1 for _ in module.parameters()):
        raise ValueError(
            "every parameter is trainable: full finetuning (its folder is the "
            "model), or a predictor loaded from its folder, which does not "
            "restore what fit trained; save the adapter right after fit"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with staged(path) as part:
        save_file(tensors, str(part))
    return path


def predictor_from_adapter(
    predictor_path: str | Path,
    adapter: str | Path,
    *,
    show_progress: bool = False,
) -> Any:
    """A predictor whose model is the pretrained checkpoint plus ``adapter`` alone.

    Loads the predictor saved at ``predictor_path`` for its settings, tokenizer and labels,
    then replaces its model with one built afresh from the pretrained checkpoint its
    settings name, with the same PEFT method applied as ``fit`` applies it
    (:func:`helpers.build_autogluon_text_model`), and the tensors of ``adapter`` (from
    :func:`save_adapter`) loaded into it. None of the saved predictor's weights is used.
    ``show_progress`` switches its prediction progress bar on.

    Raises
    ------
    ValueError
        If the adapter holds a tensor the rebuilt model does not have, or leaves out one
        that the model trains: it was saved from another model or method.
    """
    from autogluon.multimodal import MultiModalPredictor
    from safetensors.torch import load_file

    predictor = MultiModalPredictor.load(str(predictor_path), verbosity=0)
    config = predictor._learner._config
    peft = config.optim.peft
    model, _ = build_autogluon_text_model(
        config.model.hf_text.checkpoint_name,
        peft=peft or "full",
        gradient_checkpointing=False,
        overrides={"optim.lora.filter": list(config.optim.lora.filter)},
    )
    tensors = load_file(str(adapter))
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    missing, unexpected = trained - tensors.keys(), tensors.keys() - trained
    if missing or unexpected:
        raise ValueError(
            f"{Path(adapter).name} does not fit this model ({peft}): "
            f"missing {sorted(missing)[:3]}, unexpected "
            f"{sorted(unexpected)[:3]}; save it from this predictor"
        )
    model.load_state_dict(tensors, strict=False)
    model.eval()
    predictor._learner._model = model
    predictor._learner._enable_progress_bar = show_progress
    return predictor
