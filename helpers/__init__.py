"""Helpers for the book *Billion-scale finetuning on one GPU*.

``import helpers`` first in every chapter: it makes AutoGluon importable next to a CPU
build of torch (see :mod:`helpers._torchvision_compat`), points the Hugging Face cache
into the book's cache folder (or at a local mirror, ``$PEFT_BOOK_MIRROR``, see
:mod:`helpers.mirror`), and keeps library chatter out of the notebooks.
"""

from __future__ import annotations

from .cache import (
    book_cache_dir,
    clean_cache,
    fresh_run_dir,
    point_hf_home_at_cache,
)

point_hf_home_at_cache()

from .mirror import MirrorError, use_mirror_for_hub  # noqa: E402

use_mirror_for_hub()  # before huggingface_hub reads its settings

from . import _torchvision_compat  # noqa: E402,F401  (must precede transformers and autogluon)
from ._quiet import quiet_library_output  # noqa: E402

quiet_library_output()

from .checkpoints import (  # noqa: E402
    architecture_checkpoint,
    flan_t5_config,
    mdeberta_v3_base_config,
    minilm_checkpoint,
    tiny_t5_checkpoint,
)  # noqa: E402
from .evaluation import evaluate_by_language, language_names  # noqa: E402
from .gpus import GPU_MEMORY_GIB  # noqa: E402
from .hyperparameters import RenamedKeyWarning, migrate_hyperparameters  # noqa: E402
from .memory import MemoryMonitor, TensorMemoryTracker  # noqa: E402
from .parameters import count_parameters, trainable_parameter_table  # noqa: E402
from .planner import (  # noqa: E402
    GPU_RESERVE_GIB,
    MemoryEstimate,
    estimate_training_memory,
    training_memory_terms,
    will_it_fit,
)
from .plots import (  # noqa: E402
    plot_memory_timeline,
    plot_method_tradeoffs,
    plot_peak_memory,
    plot_predicted_vs_measured,
    plot_scores_by_language,
    plot_trainable_parameters,
)
from .profiles import Profile, get_profile  # noqa: E402
from .results import load_results, save_results  # noqa: E402
from .reviews import ChecksumError, generate_reviews, load_reviews  # noqa: E402
from .stepbench import (  # noqa: E402
    StepMeasurement,
    build_autogluon_text_model,
    measure_in_subprocess,
)

__all__ = [
    "GPU_MEMORY_GIB",
    "GPU_RESERVE_GIB",
    "ChecksumError",
    "MemoryEstimate",
    "MemoryMonitor",
    "MirrorError",
    "Profile",
    "RenamedKeyWarning",
    "StepMeasurement",
    "TensorMemoryTracker",
    "architecture_checkpoint",
    "build_autogluon_text_model",
    "book_cache_dir",
    "clean_cache",
    "count_parameters",
    "estimate_training_memory",
    "evaluate_by_language",
    "flan_t5_config",
    "fresh_run_dir",
    "generate_reviews",
    "get_profile",
    "load_results",
    "load_reviews",
    "language_names",
    "mdeberta_v3_base_config",
    "measure_in_subprocess",
    "migrate_hyperparameters",
    "minilm_checkpoint",
    "plot_memory_timeline",
    "plot_method_tradeoffs",
    "plot_peak_memory",
    "plot_predicted_vs_measured",
    "plot_scores_by_language",
    "plot_trainable_parameters",
    "save_results",
    "tiny_t5_checkpoint",
    "trainable_parameter_table",
    "training_memory_terms",
    "will_it_fit",
]
