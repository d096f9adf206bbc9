"""What ``fit`` really did: the settings AutoGluon resolved, and what a profile swapped.

A chapter's claims about AutoGluon (what a preset sets, what a key changes) are checked
against :func:`resolved_settings`, read from the fitted predictor's own configuration
after presets, the chapter's keys and AutoGluon's run-time rules (the precision a CPU
forces, the strategy a notebook forces) were applied, not against the dictionary passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ._checks import require_mapping
from ._local_models import RANDOM_WEIGHTS_MARKER


def _config_or_none(predictor: Any) -> Any:
    return getattr(getattr(predictor, "_learner", None), "_config", None)


def _config(predictor: Any) -> Any:
    config = _config_or_none(predictor)
    if config is None:
        raise TypeError(
            "expected a fitted MultiModalPredictor, got "
            f"{type(predictor).__name__} (fit the predictor first?)"
        )
    return config


def _shown(checkpoint: str) -> str:
    """A checkpoint as a page may print it: a local folder by its name only, without
    the version and build tags the book's cache adds (``e5-small-v1-trimmed-...``)."""
    path = Path(checkpoint)
    if not path.is_absolute():
        return checkpoint
    return re.sub(r"-v\d+(-.*)?$", "", path.name) + " (local)"


def random_weights_checkpoint(predictor: Any) -> str | None:
    """The checkpoint ``predictor`` was trained from, if the book marked its weights as
    random-init (the tiny profile's T5: its scores are chance, and their digits move
    with the CPU's math kernels); ``None`` otherwise, or for anything but a predictor."""
    try:
        checkpoint = str(
            _config_or_none(predictor).model.hf_text.checkpoint_name
        )
    except AttributeError:
        return None
    marked = (Path(checkpoint) / RANDOM_WEIGHTS_MARKER).is_file()
    return checkpoint if marked else None


def resolved_settings(predictor: Any) -> pd.Series:
    """The settings a fitted ``MultiModalPredictor`` trained with, as AutoGluon resolved
    them: read from its configuration after ``fit``, with the gradient accumulation
    computed by AutoGluon's own rule (``BaseLearner.get_grad_steps``).

    Local checkpoint folders are shown by name. The index names the AutoGluon key
    each value comes from.

    Raises
    ------
    TypeError
        If ``predictor`` is not a fitted ``MultiModalPredictor``.
    """
    from autogluon.multimodal.learners.base import BaseLearner

    config = _config(predictor)
    env, optim, text = config.env, config.optim, config.model.hf_text
    values = {
        "model.hf_text.checkpoint_name": _shown(str(text.checkpoint_name)),
        "optim.peft": optim.peft,
        "env.precision": env.precision,
        "env.per_gpu_batch_size": env.per_gpu_batch_size,
        "env.batch_size": env.batch_size,
        "accumulation (AutoGluon's rule)": BaseLearner.get_grad_steps(
            num_gpus=env.num_gpus, config=config
        ),
        "optim.lr": optim.lr,
        "optim.lr_decay": optim.lr_decay,
        "optim.end_lr": optim.end_lr,
        "optim.max_epochs": optim.max_epochs,
        "optim.top_k": optim.top_k,
        "env.strategy": env.strategy,
        "env.num_gpus": env.num_gpus,
        "model.hf_text.gradient_checkpointing": text.gradient_checkpointing,
        "model.hf_text.max_text_len": text.max_text_len,
    }
    return pd.Series(values, name="resolved by AutoGluon", dtype=object)


def profile_swaps(
    recipe: Mapping[str, Any], hyperparameters: Mapping[str, Any]
) -> pd.DataFrame:
    """What a profile changed in ``recipe``: each key whose value differs in
    ``hyperparameters`` (the dictionary ``fit`` got), or that only it has.

    Local checkpoint folders are shown by name.

    Raises
    ------
    TypeError
        If either argument is not a dictionary.
    """
    require_mapping(recipe, "recipe", '{"optim.peft": "ia3_bias"}')
    require_mapping(
        hyperparameters,
        "hyperparameters",
        "profile.hyperparameters(recipe)",
    )

    def shown(value: Any) -> Any:
        return _shown(value) if isinstance(value, str) else value

    rows = {
        key: {
            "recipe": shown(recipe[key]) if key in recipe else "(not set)",
            "this run": shown(value),
        }
        for key, value in hyperparameters.items()
        if key not in recipe or recipe[key] != value
    }
    # row by row, as objects: a column of ints and floats would print 32 as 32.0
    table = pd.DataFrame(
        [[row["recipe"], row["this run"]] for row in rows.values()],
        index=list(rows),
        columns=["recipe", "this run"],
        dtype=object,
    )
    table.index.name = "key"
    return table
