"""Helpers for the book *Billion-scale finetuning on one GPU*.

``import helpers`` first in every chapter: it makes AutoGluon importable next to a CPU
build of torch (see :mod:`helpers._torchvision_compat`) and points the Hugging Face cache
into the book's cache folder, before either library is imported.
"""

from __future__ import annotations

from .cache import book_cache_dir, clean_cache, fresh_run_dir, point_hf_home_at_cache

point_hf_home_at_cache()

from . import _torchvision_compat  # noqa: E402,F401  (must precede transformers and autogluon)
from ._quiet import quiet_library_output  # noqa: E402

quiet_library_output()

from .checkpoints import architecture_checkpoint, flan_t5_config, minilm_checkpoint, tiny_t5_checkpoint  # noqa: E402
from .profiles import Profile, get_profile  # noqa: E402
from .reviews import ChecksumError, generate_reviews, load_reviews  # noqa: E402

__all__ = [
    "ChecksumError",
    "Profile",
    "architecture_checkpoint",
    "book_cache_dir",
    "clean_cache",
    "flan_t5_config",
    "fresh_run_dir",
    "generate_reviews",
    "get_profile",
    "load_reviews",
    "minilm_checkpoint",
    "tiny_t5_checkpoint",
]
