"""Helpers for the book *Billion-scale finetuning on one GPU*.

``import helpers`` first in every chapter: it makes AutoGluon importable next to a CPU
build of torch (:mod:`helpers._torchvision_compat`), points the Hugging Face cache into the
book's cache folder (or at a local mirror, ``$PEFT_BOOK_MIRROR``: :mod:`helpers._mirror`),
and keeps library chatter out of the notebooks (:mod:`helpers._quiet`).

The package comes in layers; a module uses only its own layer and the ones before it
(``tests/test_layers.py`` checks it). Underscored modules are machinery a reader need not
open.

1. Set-up on import: ``_torchvision_compat``, ``_quiet``.
2. Arithmetic, importing nothing that trains or downloads: ``gpus``, ``planner`` (with
   ``_architecture``, ``_planner_terms``, ``_configs``), ``hyperparameters``, ``needs``,
   and ``_checks`` (the checks of the arguments a reader passes).
3. Files and data: ``cache``, ``results``, ``reviews``, ``models``, ``gpu_runs`` (the
   GPU records in ``data/gpu_runs/``), with ``_files``, ``_download``, ``_mirror``,
   ``_reviews_data`` (phrases in ``data/``), ``_local_models``, ``_e5_small``,
   ``_e5_packed``.
4. Training and measuring: ``profiles``, ``parameters``, ``recipes``, ``evaluation``,
   ``memory``, ``steps``, ``adapters``, ``peers``, with ``_measure`` (the measuring
   server and its processes).
5. On top: ``plots``; ``_fill_mirror`` (``make mirror``); ``will_it_fit``, the command
   ``python -m helpers.will_it_fit`` (its logic in ``_will_it_fit_cli``; it cannot be
   imported, since that would hide the function :func:`will_it_fit`).

:data:`CHAPTERS` says which chapter introduces each public name; the book's page "The
helpers package" is generated from it.
"""

from __future__ import annotations

from .cache import point_hf_home_at_cache

point_hf_home_at_cache()

from ._mirror import MirrorError, use_mirror_for_hub

use_mirror_for_hub()  # before huggingface_hub reads its settings

from . import _torchvision_compat  # before transformers, autogluon
from ._quiet import quiet_library_output

quiet_library_output()

from .adapters import predictor_from_adapter, save_adapter
from .cache import NotOwnedError, book_cache_dir, clean_cache, fresh_run_dir
from .evaluation import (
    evaluate_by_language,
    language_names,
    predict_sentiment,
    roc_auc_differences,
    roc_auc_intervals,
    training_curve,
)
from .gpu_runs import GPURun, gpu_runs
from .gpus import GPU_MEMORY_GIB, GPU_RESERVE_GIB, this_gpu, usable_gpu_gib
from .hyperparameters import RenamedKeyWarning, migrate_hyperparameters
from .memory import MemoryMonitor
from .models import (
    architecture_folder,
    flan_t5_config,
    mdeberta_v3_base_config,
    multilingual_e5_small_config,
)
from .needs import GPUTooSmallError, check_gpu
from .parameters import (
    count_parameters,
    trainable_parameter_table,
    unused_parameters,
)
from .planner import (
    MULTI_GPU_STRATEGIES,
    PRECISIONS,
    MemoryEstimate,
    estimate_training_memory,
    will_it_fit,
)
from .plots import (
    pareto_front,
    plot_memory_timeline,
    plot_estimator_errors,
    plot_method_tradeoffs,
    plot_peak_memory,
    plot_predicted_vs_measured,
    plot_scores_by_language,
    plot_trainable_parameters,
    plot_training_curve,
)
from .peers import estimator_errors
from .profiles import Profile, get_profile
from .recipes import profile_swaps, resolved_settings
from .results import load_results, save_results
from .reviews import ChecksumError, OfflineError, load_reviews
from .steps import (
    StepMeasurement,
    build_autogluon_text_model,
    measure_training_steps,
)

#: The public names, by the chapter that introduces them ("setup" is the setup page), the
#: one map of chapters to helpers. The book's API page (book/helpers.md) is generated from it.
CHAPTERS: dict[str, tuple[str, ...]] = {
    "01_multilingual_baseline": (
        "get_profile", "Profile", "check_gpu", "load_reviews", "fresh_run_dir",
        "MemoryMonitor",
        "count_parameters", "resolved_settings", "evaluate_by_language",
        "language_names",
        "plot_scores_by_language", "save_results", "predict_sentiment",
    ),
    "02_ia3_bias": (
        "load_results", "migrate_hyperparameters", "RenamedKeyWarning",
        "trainable_parameter_table", "plot_trainable_parameters", "plot_peak_memory",
        "training_curve", "plot_training_curve", "save_adapter",
        "predictor_from_adapter",
    ),
    "03_flan_t5_xl_checkpointing": (
        "flan_t5_config", "architecture_folder", "measure_training_steps",
        "StepMeasurement", "plot_memory_timeline", "GPU_MEMORY_GIB", "clean_cache",
        "usable_gpu_gib", "profile_swaps",
    ),
    "04_peft_shootout": (
        "build_autogluon_text_model", "roc_auc_intervals", "roc_auc_differences",
        "pareto_front", "unused_parameters",
        "plot_method_tradeoffs",
    ),
    "05_will_it_fit": (
        "estimate_training_memory", "MemoryEstimate", "will_it_fit",
        "GPU_RESERVE_GIB", "mdeberta_v3_base_config", "multilingual_e5_small_config",
        "plot_predicted_vs_measured",
        "this_gpu", "gpu_runs", "GPURun", "estimator_errors",
        "plot_estimator_errors",
    ),
    "06_flan_t5_xxl_16_bit": ("PRECISIONS", "MULTI_GPU_STRATEGIES"),
    "setup": (
        "book_cache_dir", "ChecksumError", "MirrorError", "OfflineError",
        "GPUTooSmallError", "NotOwnedError",
    ),
}  # fmt: skip

__all__ = sorted(name for names in CHAPTERS.values() for name in names)
