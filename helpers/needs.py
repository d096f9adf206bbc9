"""What each chapter's ``full`` run needs in a fresh Colab runtime with a T4.

Colab opens each chapter in its own runtime: 12.7 GB of RAM on the free tier and a T4
(:func:`helpers.usable_gpu_gib` gives what its allocator can hand out). The figures are
computed, not yet measured on a T4; the arithmetic behind each is on the book's setup page
("What each chapter needs in Colab"), and ``tests/test_needs.py`` keeps that page's table
and each chapter's Prerequisites line equal to :data:`CHAPTER_NEEDS`. The GPU figures are
the planner's estimates (:func:`helpers.estimate_training_memory`) of each chapter's
largest step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._checks import require_choice, require_profile

if TYPE_CHECKING:
    from .profiles import Profile

#: RAM of a runtime on Colab's free tier, in GB (10^9 bytes), as its resource panel
#: shows it.
COLAB_RAM_GB = 12.7


@dataclass(frozen=True)
class ChapterNeeds:
    """One chapter's ``full`` run in a fresh Colab runtime with a T4, computed."""

    ram_gb: float  #: peak RAM of the notebook and its child processes, GB
    gpu_gib: (
        float  #: peak of CUDA's allocator, GiB (the planner's largest step)
    )
    download_gb: float  #: models and data fetched, GB
    t4_minutes: int  #: time on a T4, installation and downloads included
    largest_step: str  #: the step that sets ``gpu_gib``

    def line(self) -> str:
        """The line each chapter's Prerequisites table shows."""
        return (
            f"RAM {self.ram_gb:.1f} GB, GPU {self.gpu_gib:.1f} GiB, "
            f"download {self.download_gb:.1f} GB, about {self.t4_minutes} min"
        )


#: Computed needs of each chapter's ``full`` run (the setup page shows the arithmetic).
#: Downloads: mDeBERTa-v3-base 1.1 GB, FLAN-T5-XL 11.4 GB, the review archive under
#: 0.1 GB.
CHAPTER_NEEDS: dict[str, ChapterNeeds] = {
    "01_multilingual_baseline": ChapterNeeds(
        4.7, 8.8, 1.2, 5, "mDeBERTa-v3-base, full finetuning, batch 4 x 512"
    ),
    "02_ia3_bias": ChapterNeeds(
        5.8,
        8.8,
        1.2,
        7,
        "chapter 1's baseline again: mDeBERTa, full, batch 4 x 512",
    ),
    "03_flan_t5_xl_checkpointing": ChapterNeeds(
        7.4,
        11.1,
        11.5,
        13,
        "FLAN-T5-XL, ia3_bias, no checkpointing, batch 8",
    ),
    "04_peft_shootout": ChapterNeeds(
        4.7, 5.1, 1.2, 15, "mDeBERTa-v3-base, full finetuning, batch 4 x 128"
    ),
    "05_will_it_fit": ChapterNeeds(
        4.7, 11.1, 0.0, 6, "FLAN-T5-XL, ia3_bias, no checkpointing, batch 8"
    ),
    "06_flan_t5_xxl_16_bit": ChapterNeeds(
        5.1,
        9.5,
        0.0,
        7,
        "FLAN-T5-XXL's whole encoder, ia3_bias, checkpointing, bf16-true, batch 8",
    ),
}


class GPUTooSmallError(RuntimeError):
    """The GPU has less memory than a chapter's ``full`` run needs."""


def check_gpu(chapter: str, profile: Profile) -> None:
    """Stop before anything is downloaded if this GPU is too small for ``chapter``.

    The needs are the ``full`` profile's: for another ``profile``, or without CUDA
    (``make rehearsal`` on a CPU), it does nothing. Otherwise it prints the GPU, its
    usable memory and what the chapter needs.

    Raises
    ------
    GPUTooSmallError
        When the chapter's largest step needs more than the GPU can hand out: the message
        says what it needs and what to change.
    ValueError
        For a name that is not a chapter (the notebook's name without ``.ipynb``).
    TypeError
        For a ``profile`` that is not a profile (its name, for example).
    """
    require_choice(chapter, "chapter", CHAPTER_NEEDS)
    require_profile(profile, "check_gpu")
    needs = CHAPTER_NEEDS[chapter]
    if profile.name != "full":
        return
    import torch

    if not torch.cuda.is_available():
        return
    from .gpus import usable_gpu_gib_of_total

    properties = torch.cuda.get_device_properties(0)
    usable = usable_gpu_gib_of_total(properties.total_memory)
    if needs.gpu_gib > usable:
        raise GPUTooSmallError(
            f"{chapter} needs about {needs.gpu_gib:.1f} GiB of GPU memory "
            f"({needs.largest_step}); this {properties.name} can hand out "
            f"{usable:.1f} GiB. Choose a larger GPU (in Colab: Runtime > Change "
            "runtime type), or run the tiny profile on any CPU: set "
            "PEFT_BOOK_PROFILE=tiny before `import helpers`."
        )
    print(
        f"GPU: {properties.name}, {usable:.1f} GiB usable; "
        f"this chapter needs about {needs.gpu_gib:.1f} GiB"
    )
