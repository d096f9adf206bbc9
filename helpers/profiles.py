"""Profiles: the same chapters at two scales.

``full`` runs the original tutorial on a GPU with internet (mDeBERTa-v3, FLAN-T5-XL, the
real review data). ``tiny`` runs every cell offline on any CPU in minutes (a real pretrained
MiniLM shipped on PyPI, a small local T5, generated reviews).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

PROFILE_ENV = "PEFT_BOOK_PROFILE"
PROFILE_NAMES = ("tiny", "full")


@dataclass(frozen=True)
class Profile:
    """Everything that differs between the two scales of the book.

    Checkpoints are given as Hugging Face names (full) or as local folders that
    :mod:`helpers.checkpoints` builds or locates on first use (tiny).
    """

    name: str
    description: str
    n_train: int  #: English training reviews (chapters 1 and 2)
    n_test: int  #: test reviews per language
    n_train_large: int  #: training reviews for the large model (chapter 3)
    epochs: int  #: epochs in chapters 1 and 2 (the tutorial's 2; tiny needs 3, see chapter 2)
    per_gpu_batch_size: int  #: micro-batch that fits the device; AutoGluon accumulates up to env.batch_size
    baseline_checkpoint_name: str
    large_checkpoint_name: str

    @property
    def baseline_checkpoint(self) -> str:
        """The baseline text encoder: mDeBERTa-v3-base (full) or the bundled MiniLM (tiny)."""
        if self.name == "tiny":
            from .checkpoints import minilm_checkpoint

            return str(minilm_checkpoint())
        return self.baseline_checkpoint_name

    @property
    def large_checkpoint(self) -> str:
        """The large encoder: FLAN-T5-XL (full) or a small random-init T5 built locally (tiny)."""
        if self.name == "tiny":
            from .checkpoints import tiny_t5_checkpoint

            return str(tiny_t5_checkpoint())
        return self.large_checkpoint_name

    def hyperparameters(self, settings: dict[str, Any] | None = None, *, checkpoint: str | None = None) -> dict[str, Any]:
        """AutoGluon 1.6 hyperparameters for this profile, with the chapter's ``settings`` on top.

        The profile contributes the checkpoint (``baseline_checkpoint`` unless given), the
        micro-batch size, and turns off the default text augmentation, which downloads NLTK
        data at run time. Keys in the old ``optimization.*`` form are refused: pass them
        through :func:`helpers.migrate_hyperparameters` first.
        """
        settings = dict(settings or {})
        old = [key for key in settings if key.startswith("optimization.")]
        if old:
            raise ValueError(
                f"old AutoGluon keys {old}; convert them with helpers.migrate_hyperparameters(...) first"
            )
        return {
            "model.hf_text.checkpoint_name": checkpoint or self.baseline_checkpoint,
            "model.hf_text.text_trivial_aug_maxscale": 0.0,
            "env.per_gpu_batch_size": self.per_gpu_batch_size,
            **settings,
        }


_PROFILES = {
    "tiny": Profile(
        name="tiny",
        description="offline on any CPU: bundled MiniLM, a small local T5, generated reviews",
        n_train=1000,
        n_test=200,
        n_train_large=200,
        epochs=3,
        per_gpu_batch_size=32,
        baseline_checkpoint_name="sentence-transformers/all-MiniLM-L6-v2",
        large_checkpoint_name="tiny-t5 (built locally)",
    ),
    "full": Profile(
        name="full",
        description="GPU with internet: mDeBERTa-v3-base, FLAN-T5-XL, the cross-lingual Amazon reviews",
        n_train=1000,
        n_test=200,
        n_train_large=200,
        epochs=2,
        per_gpu_batch_size=4,
        baseline_checkpoint_name="microsoft/mdeberta-v3-base",
        large_checkpoint_name="google/flan-t5-xl",
    ),
}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def get_profile(name: str | None = None) -> Profile:
    """Return the ``tiny`` or ``full`` profile.

    Without ``name``: ``$PEFT_BOOK_PROFILE`` if set, else ``full`` when CUDA is available,
    else ``tiny``.

    Raises
    ------
    ValueError
        For any other name.
    """
    chosen = name or os.environ.get(PROFILE_ENV) or ("full" if _cuda_available() else "tiny")
    key = chosen.strip().lower()
    if key not in _PROFILES:
        source = "argument" if name else f"${PROFILE_ENV}"
        raise ValueError(f"unknown profile {chosen!r} (from the {source}); valid names: {', '.join(PROFILE_NAMES)}")
    return _PROFILES[key]
