"""Helpers for the book *Billion-scale finetuning on one GPU*.

``import helpers`` first in every chapter: it points the Hugging Face cache into the
book's cache folder (or at a local mirror, ``$PEFT_BOOK_MIRROR``: :mod:`helpers._mirror`),
hides the libraries' chatter (:mod:`helpers._quiet`), and leaves hooks that act as each
library is imported (:mod:`helpers._setup`): when torch is, AutoGluon is made importable
next to a CPU build of torch (:mod:`helpers._torchvision_compat`). The import itself loads
no library that trains: each public name imports its module on first use, so the planner's
command (``python -m helpers.will_it_fit``) answers without torch.

The package comes in layers; a module uses only its own layer and the ones before it
(``tests/test_layers.py`` checks it). Underscored modules are machinery a reader need not
open.

1. Set-up: ``_setup``, ``_quiet``, ``_torchvision_compat``.
2. Arithmetic, importing nothing that trains or downloads: ``gpus``, ``planner`` (with
   ``_architecture``, ``_planner_terms``, ``_cuda_terms``, ``_planner_phases``,
   ``_configs``), ``hyperparameters``, ``needs``,
   and ``_checks`` (the checks of the arguments a reader passes).
3. Files and data: ``cache``, ``results``, ``reviews``, ``models``, ``gpu_runs`` (the
   GPU records in ``data/gpu_runs/``), with ``_files``, ``_download``, ``_mirror``,
   ``_reviews_data`` (phrases in ``data/``), ``_local_models``, ``_e5_small``,
   ``_e5_packed``.
4. Training and measuring: ``profiles``, ``parameters``, ``recipes``, ``evaluation``,
   ``memory``, ``steps``, ``adapters``, ``peers``, with ``_measure`` (the measuring
   server and its processes).
5. On top: ``plots`` and ``score_plots`` (with ``_figures``, their style);
   ``will_it_fit``, the command ``python -m helpers.will_it_fit`` (its logic in
   ``_will_it_fit_cli``; it cannot be imported, since that would hide the function
   :func:`will_it_fit`).

Code that only ``make`` runs lives in ``tests/`` (``make mirror``: ``tests/fill_mirror.py``).

:data:`CHAPTERS` says which chapter introduces each public name; the book's page "The
helpers package" is generated from it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .cache import point_hf_home_at_cache

point_hf_home_at_cache()

from ._mirror import use_mirror_for_hub

use_mirror_for_hub()  # before huggingface_hub reads its settings

from ._setup import set_up

set_up()  # quiet libraries; torchvision's missing operators when torch is imported

# A name that is also its module's name is bound now: a later import of the module
# would otherwise leave the module, not the function, on the package.
from .gpu_runs import gpu_runs

#: Each public name's module, imported the first time the name is used
#: (``helpers.load_reviews`` imports ``helpers.reviews``).
_MODULES: dict[str, tuple[str, ...]] = {
    "_mirror": ("MirrorError",),
    "adapters": ("predictor_from_adapter", "save_adapter"),
    "cache": ("NotOwnedError", "book_cache_dir", "clean_cache", "fresh_run_dir"),
    "evaluation": (
        "evaluate_by_language", "language_names", "predict_sentiment",
        "roc_auc_differences", "roc_auc_intervals", "training_curve",
    ),
    "gpu_runs": ("GPURun", "gpu_runs"),
    "gpus": ("GPU_MEMORY_GIB", "GPU_RESERVE_GIB", "this_gpu", "usable_gpu_gib"),
    "hyperparameters": ("RenamedKeyWarning", "migrate_hyperparameters"),
    "memory": ("MemoryMonitor",),
    "models": (
        "architecture_folder", "checkpoint_folder", "flan_t5_config",
        "mdeberta_v3_base_config", "multilingual_e5_small_config",
    ),
    "needs": ("GPUTooSmallError", "check_gpu"),
    "parameters": (
        "count_parameters", "trainable_parameter_table", "unused_parameters",
    ),
    "planner": (
        "MULTI_GPU_STRATEGIES", "PRECISIONS", "MemoryEstimate",
        "estimate_training_memory", "will_it_fit",
    ),
    "plots": (
        "plot_memory_timeline", "plot_estimator_errors", "plot_peak_memory",
        "plot_predicted_vs_measured", "plot_trainable_parameters",
    ),
    "score_plots": (
        "pareto_front", "plot_method_tradeoffs", "plot_scores_by_language",
        "plot_training_curve",
    ),
    "peers": ("estimator_errors",),
    "profiles": ("Profile", "get_profile"),
    "recipes": ("profile_swaps", "resolved_settings"),
    "results": ("load_results", "save_results"),
    "reviews": ("ChecksumError", "OfflineError", "load_reviews"),
    "steps": (
        "StepMeasurement", "build_autogluon_text_model", "measure_training_steps",
    ),
}  # fmt: skip
_MODULE_OF = {
    name: module for module, names in _MODULES.items() for name in names
}


def __getattr__(name: str) -> Any:
    """``helpers.name``: import the name's module, keep the name on the package; or a
    public module itself."""
    if name in _MODULES:  # a public module: helpers.needs.CHAPTER_NEEDS
        return importlib.import_module(f".{name}", __name__)
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    value = getattr(
        importlib.import_module(f".{_MODULE_OF[name]}", __name__), name
    )
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


#: The public names, by the chapter that first uses them ("setup" is the setup page), the
#: one map of chapters to helpers. The book's API page (book/helpers.md) is generated from it.
CHAPTERS: dict[str, tuple[str, ...]] = {
    "01_multilingual_baseline": (
        "get_profile", "Profile", "check_gpu", "load_reviews", "fresh_run_dir",
        "MemoryMonitor", "count_parameters", "resolved_settings",
        "evaluate_by_language", "language_names", "plot_scores_by_language",
        "save_results", "predict_sentiment", "profile_swaps",
    ),
    "02_ia3_bias": (
        "load_results", "migrate_hyperparameters", "RenamedKeyWarning",
        "trainable_parameter_table", "plot_trainable_parameters", "plot_peak_memory",
        "usable_gpu_gib", "roc_auc_differences", "training_curve",
        "plot_training_curve", "save_adapter", "predictor_from_adapter",
    ),
    "03_flan_t5_xl_checkpointing": (
        "flan_t5_config", "architecture_folder", "measure_training_steps",
        "plot_memory_timeline", "clean_cache", "checkpoint_folder", "will_it_fit",
        "book_cache_dir",
    ),
    "04_peft_shootout": (
        "build_autogluon_text_model", "roc_auc_intervals", "pareto_front",
        "unused_parameters", "plot_method_tradeoffs",
    ),
    "05_will_it_fit": (
        "estimate_training_memory", "MemoryEstimate", "StepMeasurement",
        "GPU_MEMORY_GIB", "GPU_RESERVE_GIB", "mdeberta_v3_base_config",
        "multilingual_e5_small_config", "plot_predicted_vs_measured", "this_gpu",
        "gpu_runs", "GPURun", "estimator_errors", "plot_estimator_errors",
    ),
    "06_flan_t5_xxl_16_bit": ("PRECISIONS", "MULTI_GPU_STRATEGIES"),
    "setup": (
        "ChecksumError", "MirrorError", "OfflineError",
        "GPUTooSmallError", "NotOwnedError",
    ),
}  # fmt: skip

__all__ = sorted(name for names in CHAPTERS.values() for name in names)
