"""Translate the original tutorial's hyperparameter keys to AutoGluon 1.6."""

from __future__ import annotations

import warnings
from typing import Any

from ._checks import require_mapping

# Leaf renames inside a section, after ``optimization.`` became ``optim.``.
RENAMED_KEYS: dict[str, str] = {
    "optim.efficient_finetune": "optim.peft",
    "optim.learning_rate": "optim.lr",
    "optim.loss_function": "optim.loss_func",
    "env.eval_batch_size_ratio": "env.inference_batch_size_ratio",
    "env.num_workers_evaluation": "env.num_workers_inference",
}


class RenamedKeyWarning(UserWarning):
    """An old AutoGluon hyperparameter key was translated to its new name."""


def migrate_hyperparameters(old: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``old`` with pre-1.2 AutoGluon keys renamed to their 1.6 names.

    ``optimization.*`` becomes ``optim.*``; ``efficient_finetune`` becomes ``peft``,
    ``learning_rate`` becomes ``lr``, ``env.eval_batch_size_ratio`` becomes
    ``env.inference_batch_size_ratio`` (and the few other renames in :data:`RENAMED_KEYS`).
    Each renamed key gives one :class:`RenamedKeyWarning`; current keys pass unchanged and
    order is kept.

    Raises
    ------
    ValueError
        If an old key and its new name are both given, or two old keys map to one new key.
    TypeError
        If ``old`` is not a dict, or one of its keys is not a string.
    """
    require_mapping(
        old, "the hyperparameters", "{'optimization.learning_rate': 1e-4}"
    )
    not_names = [key for key in old if not isinstance(key, str)]
    if not_names:
        raise TypeError(
            f"hyperparameter keys are dotted names, such as 'optim.lr'; got {not_names}"
        )
    migrated: dict[str, Any] = {}
    for key, value in old.items():
        new = (
            "optim." + key[len("optimization.") :]
            if key.startswith("optimization.")
            else key
        )
        new = RENAMED_KEYS.get(new, new)
        if new in migrated:
            raise ValueError(
                f"{key!r} and another key both mean {new!r}; keep only one of them"
            )
        if new != key:
            if new in old:
                raise ValueError(
                    f"both {key!r} and its new name {new!r} are given; keep only {new!r}"
                )
            warnings.warn(
                f"renamed {key!r} -> {new!r}",
                RenamedKeyWarning,
                stacklevel=2,
            )
        migrated[new] = value
    return migrated
